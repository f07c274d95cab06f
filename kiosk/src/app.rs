//! `kiosk run`: one process. The screen runs on the main thread (Slint's event loop); the data
//! plane runs on a tokio runtime beside it. They share nothing but the mirror file, each with
//! its own connections, so a sync or a content apply never holds up the screen; the data plane
//! tells the screen of a new content release, and draws the screen for a screenshot command.

use std::sync::Arc;
use std::time::Duration;

use slint::ComponentHandle;

use crate::config::Config;
use crate::daemon::DataPlane;
use crate::heartbeat::ScreenSource;
use crate::ui::snapshot::WindowScreen;
use crate::ui::{AppAdapter, Kiosk, UiError, clock::Clock, rotation};

/// What ended the kiosk.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "the display: {0}\n(no screen to show the kiosk on: `kiosk run --headless` runs the \
         data plane alone, `kiosk --screenshots DIR` draws the screens to PNG files)"
    )]
    Display(slint::PlatformError),
    #[error(transparent)]
    Ui(UiError),
    #[error("the data plane: {0}")]
    DataPlane(#[from] crate::Error),
    #[error("the data plane's runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<UiError> for RunError {
    fn from(e: UiError) -> Self {
        match e {
            UiError::Platform(e) => Self::Display(e),
            other => Self::Ui(other),
        }
    }
}

/// Completes on SIGTERM (systemd's stop) or SIGINT (Ctrl-C). The handlers are installed
/// here, at once: a stop that comes while the mirror is still being opened is kept for
/// `run`, not left to the default action that would end the process on the spot. Call
/// within a tokio runtime.
pub fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = interrupt.recv() => tracing::info!("SIGINT: stopping"),
        }
    })
}

/// Runs the screen and the data plane until SIGTERM or Ctrl-C. Call on the main thread, with
/// `SLINT_KMS_ROTATION` already set for the configured rotation (see `main.rs`).
pub fn run(config: Config) -> Result<(), RunError> {
    rotation::select_backend(config.screen.rotation).map_err(UiError::from)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // Two workers: the data plane's loops are I/O-bound, and the screen has its thread.
        .worker_threads(2)
        .thread_name("kiosk-data-plane")
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    // The data plane prepares the data folder first (the sample content on a new kiosk), so
    // the screen opens a ready mirror. Its screenshots come from the screen, set once it exists.
    let screen = Arc::new(LateScreen::default());
    let plane = DataPlane::prepare(config.clone(), screen.clone())?;
    let kiosk = Kiosk::new(&config, Clock::system())?;
    screen.set(WindowScreen::new(kiosk.window().as_weak()));

    let mut changes = plane.content_changes();
    let weak = kiosk.window().as_weak();
    runtime.spawn(async move {
        while changes.changed().await.is_ok() {
            let _ =
                weak.upgrade_in_event_loop(|ui| ui.global::<AppAdapter>().invoke_content_changed());
        }
    });
    // The data plane's own view of its health: a mirror it cannot write (a full or failing
    // disk) means the data on screen no longer updates, which the header then says; a site
    // overlay it could not use (the kiosk runs on its image's defaults), which the footer says.
    let mut health = plane.health();
    let weak = kiosk.window().as_weak();
    runtime.spawn(async move {
        loop {
            let (halted, site_fault) = {
                let health = health.borrow_and_update();
                (!health.mirror_writable, health.has_site_fault())
            };
            let _ = weak.upgrade_in_event_loop(move |ui| {
                let adapter = ui.global::<AppAdapter>();
                adapter.set_halted(halted);
                adapter.set_site_fault(site_fault);
            });
            if health.changed().await.is_err() {
                break;
            }
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let weak = kiosk.window().as_weak();
    let handle = runtime.handle().clone();
    // Driven by `block_on` on a thread of its own (its loops are tasks on the runtime's
    // workers), so that it ends, and the kiosk with it, only when the screen has closed.
    let plane_thread = std::thread::Builder::new()
        .name("kiosk-data-plane".into())
        .spawn(move || {
            let outcome = handle.block_on(plane.run(async {
                let _ = stopped.await;
            }));
            if let Err(e) = &outcome {
                // The screen keeps serving what the mirror holds, and says updates stopped;
                // systemd's watchdog (no more pings) restarts the kiosk.
                tracing::error!(error = %e, "the data plane stopped; the screen stays up");
                let _ = weak.upgrade_in_event_loop(|ui| ui.global::<AppAdapter>().set_halted(true));
            }
            outcome
        })
        .map_err(RunError::Runtime)?;
    let shutdown = {
        let _inside = runtime.enter();
        shutdown_signal().map_err(RunError::Runtime)?
    };
    runtime.spawn(async {
        shutdown.await;
        let _ = slint::quit_event_loop();
    });

    kiosk.window().show().map_err(UiError::from)?;
    slint::run_event_loop_until_quit().map_err(UiError::from)?;
    drop(kiosk);
    let _ = stop.send(());
    let outcome = plane_thread
        .join()
        .unwrap_or_else(|_| Err(crate::Error::Invalid("the data plane panicked".into())));
    runtime.shutdown_timeout(Duration::from_secs(5));
    outcome.map_err(RunError::from)
}

/// The screen, for the data plane's screenshot command, once the screen exists.
#[derive(Default)]
struct LateScreen(std::sync::OnceLock<WindowScreen>);

impl LateScreen {
    fn set(&self, screen: WindowScreen) {
        let _ = self.0.set(screen);
    }
}

impl ScreenSource for LateScreen {
    fn capture_png(&self) -> Result<Vec<u8>, String> {
        self.0
            .get()
            .ok_or_else(|| "the screen is starting".to_owned())?
            .capture_png()
    }
}
