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
    #[error(transparent)]
    Ui(#[from] UiError),
    #[error("the data plane: {0}")]
    DataPlane(#[from] crate::Error),
    #[error("the data plane's runtime: {0}")]
    Runtime(std::io::Error),
}

/// SIGTERM (systemd's stop) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
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
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let weak = kiosk.window().as_weak();
    let handle = runtime.handle().clone();
    // On a thread of its own: the data plane's loops share their mirror connections within
    // one task, so its future is driven by `block_on` rather than spawned onto the workers.
    let plane_thread = std::thread::Builder::new()
        .name("kiosk-data-plane".into())
        .spawn(move || {
            let outcome = handle.block_on(plane.run(async {
                let _ = stopped.await;
            }));
            if let Err(e) = &outcome {
                // The screen keeps serving what the mirror holds, and says updates stopped.
                tracing::error!(error = %e, "the data plane stopped; the screen stays up");
                let _ = weak.upgrade_in_event_loop(|ui| ui.global::<AppAdapter>().set_halted(true));
            }
            outcome
        })
        .map_err(RunError::Runtime)?;
    runtime.spawn(async {
        shutdown_signal().await;
        tracing::info!("stopping");
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
