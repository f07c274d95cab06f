//! The screen under a running event loop, as in `kiosk run`: the answer of a lookup comes back
//! from the screen's write thread through the event loop, and the data plane's screenshot
//! source (another thread) gets the window drawn on the UI thread, as a PNG. One test per
//! file: the testing backend's event loop can be set up once per process.

mod ui_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use i_slint_backend_testing::{TestingBackend, TestingBackendOptions};
use kiosk::heartbeat::ScreenSource;
use kiosk::ui::screenshots::CASE_IN_REVIEW;
use kiosk::ui::snapshot::{self, WindowScreen};
use kiosk::ui::{AppAdapter, LookupAdapter, Page};
use slint::ComponentHandle;

#[test]
fn answers_and_screenshots_go_through_the_event_loop() {
    slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
        mock_time: false,
        threading: true,
        renderer_name: Some("software".into()),
    })))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = ui_support::config_in(dir.path());
    kiosk::ui::screenshots::demo_data(&config, None, ui_support::start()).unwrap();
    let kiosk = kiosk::ui::Kiosk::new(
        &config,
        kiosk::ui::clock::Clock::fixed(ui_support::start(), kiosk::ui::clock::china()),
    )
    .unwrap();
    kiosk.follow_schedule(false);
    let ui = kiosk.window();
    ui.window().set_size(slint::PhysicalSize::new(1920, 1080));
    ui.show().unwrap();
    // A lookup sent; no one takes its answer but the event loop.
    let app = ui.global::<AppAdapter>();
    for c in CASE_IN_REVIEW.0.chars() {
        app.invoke_key(c.to_string().into());
    }
    app.invoke_key("\n".into());
    let lookup = ui.global::<LookupAdapter>();
    for c in CASE_IN_REVIEW.1.chars() {
        lookup.invoke_key(c.to_string().into());
    }
    lookup.invoke_submit();
    assert_eq!(app.get_page(), Page::Lookup);

    let screen = Arc::new(WindowScreen::new(ui.as_weak()));
    type Capture = Option<Result<Vec<u8>, String>>;
    let captured: Arc<Mutex<Capture>> = Arc::default();
    let started = std::cell::Cell::new(false);
    let watcher = slint::Timer::default();
    let weak = ui.as_weak();
    let (screen_for_timer, captured_for_timer) = (screen.clone(), captured.clone());
    watcher.start(
        slint::TimerMode::Repeated,
        Duration::from_millis(10),
        move || {
            let Some(ui) = weak.upgrade() else { return };
            if ui.global::<AppAdapter>().get_page() == Page::Progress && !started.replace(true) {
                // As the heartbeat's thread does for a screenshot command.
                let (screen, captured) = (screen_for_timer.clone(), captured_for_timer.clone());
                std::thread::spawn(move || {
                    let png = screen.capture_png();
                    *captured.lock().unwrap() = Some(png);
                    let _ = slint::invoke_from_event_loop(|| {
                        let _ = slint::quit_event_loop();
                    });
                });
            }
        },
    );
    // Not a deadline on the work: a guard that ends a hung test with a message.
    let guard = slint::Timer::default();
    guard.start(
        slint::TimerMode::SingleShot,
        Duration::from_secs(300),
        || {
            let _ = slint::quit_event_loop();
        },
    );
    slint::run_event_loop().unwrap();

    assert_eq!(
        app.get_page(),
        Page::Progress,
        "the answer came through the event loop"
    );
    let png = captured
        .lock()
        .unwrap()
        .take()
        .expect("the screenshot source answered within the guard's 300 s")
        .unwrap();
    let (w, h, rgb) = snapshot::decode(&png).unwrap();
    assert_eq!((w, h), (1920, 1080));
    // The header's blue is at the top left of what was drawn.
    assert_eq!(&rgb[..3], &[0x0b, 0x4f, 0x9c]);
    assert!(
        rgb.chunks_exact(3).any(|p| p == [0xff, 0xff, 0xff]),
        "not a blank picture"
    );
    // The window is gone with the screen: the source says so instead of waiting.
    drop(kiosk);
    assert!(screen.capture_png().is_err());
}
