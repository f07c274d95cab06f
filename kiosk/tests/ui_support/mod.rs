//! Driving the real kiosk screen headless: Slint's testing backend on the test's own thread,
//! with mock time (the screen's clock is Slint's mock time from a fixed moment), touches at
//! the centre of elements found by their accessible labels, keys as a keyboard or a scanner
//! sends them.
#![allow(dead_code)] // each test file uses a different part

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use i_slint_backend_testing::{
    AccessibleRole, ElementHandle, ElementRoot, TestingBackend, TestingBackendOptions,
};
use kiosk::config::Config;
use kiosk::ui::clock::{self, Clock};
use kiosk::ui::{AppAdapter, Kiosk, KioskWindow, Page};
use slint::ComponentHandle;
use slint::platform::{PointerEventButton, WindowEvent};

/// The screen's clock starts here: Tuesday 2026-12-01, 10:30 in the hall.
pub fn start() -> DateTime<Utc> {
    "2026-12-01T02:30:00Z".parse().unwrap()
}

/// Runs `test` on a thread of its own, the thread's Slint platform the testing backend (with
/// the software renderer when `render`, for snapshots). Each test gets a fresh platform
/// whichever way the test harness schedules it.
pub fn on_ui_thread(render: bool, test: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name("ui-test".into())
        // Slint's debug build of deep layouts needs more than the default 2 MB of stack.
        .stack_size(16 << 20)
        .spawn(move || {
            slint::platform::set_platform(Box::new(TestingBackend::new(TestingBackendOptions {
                mock_time: true,
                threading: false,
                renderer_name: render.then(|| "software".into()),
            })))
            .expect("a fresh thread has no platform");
            test();
        })
        .unwrap()
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

/// Slint's mock time, from [`start`].
pub fn mock_clock() -> Clock {
    let start = start();
    Clock::new(
        move || {
            start
                + chrono::Duration::milliseconds(i_slint_backend_testing::get_mocked_time() as i64)
        },
        clock::china(),
    )
}

/// The example configuration with its data in `dir`.
pub fn config_in(dir: &Path) -> Config {
    let mut config = kiosk::ui::screenshots::example_config();
    config.data_dir = dir.join("data");
    config
}

/// A kiosk screen at 1920×1080 on a mirror with the demonstration cases and sample content.
pub struct Screen {
    pub kiosk: Kiosk,
    pub config: Config,
    _dir: tempfile::TempDir,
}

impl Screen {
    /// The demonstration mirror (`kiosk::ui::screenshots::demo_data`).
    pub fn demo() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = config_in(dir.path());
        kiosk::ui::screenshots::demo_data(&config, None, start()).unwrap();
        Self::open(config, dir)
    }

    /// A screen on whatever `config`'s folder holds (the caller filled it).
    pub fn open(config: Config, dir: tempfile::TempDir) -> Self {
        let kiosk = Kiosk::new(&config, mock_clock()).unwrap();
        kiosk
            .window()
            .window()
            .set_size(slint::PhysicalSize::new(1920, 1080));
        kiosk.window().show().unwrap();
        Self {
            kiosk,
            config,
            _dir: dir,
        }
    }

    pub fn ui(&self) -> &KioskWindow {
        self.kiosk.window()
    }

    pub fn page(&self) -> Page {
        self.ui().global::<AppAdapter>().get_page()
    }

    /// Buttons labelled `label` that a visitor could press now (texts carry their words as
    /// labels too, and do not count).
    fn pressable(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(self.ui(), label)
            .filter(|e| e.accessible_role() == Some(AccessibleRole::Button))
            .filter(|e| e.accessible_enabled() != Some(false))
            .filter(|e| e.size().width > 0.0 && e.size().height > 0.0)
            .collect()
    }

    /// Touches the one element labelled `label` (a real pointer press and release at its
    /// centre, 50 ms of mock time apart).
    pub fn touch(&self, label: &str) {
        let found = self.pressable(label);
        assert!(
            !found.is_empty(),
            "nothing to press labelled {label:?} on {:?}; labels: {:?}",
            self.page(),
            self.labels()
        );
        found[0].mock_single_click(PointerEventButton::Left);
    }

    pub fn can_touch(&self, label: &str) -> bool {
        !self.pressable(label).is_empty()
    }

    /// A touch in the middle of the screen, on whatever is there.
    pub fn press_centre(&self) {
        let position = slint::LogicalPosition::new(960.0, 540.0);
        let button = PointerEventButton::Left;
        let window = self.ui().window();
        window.dispatch_event(WindowEvent::PointerPressed { position, button });
        i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(50));
        window.dispatch_event(WindowEvent::PointerReleased { position, button });
    }

    /// Every accessible label on the screen.
    pub fn labels(&self) -> Vec<String> {
        let mut labels = Vec::new();
        self.ui().root_element().visit_descendants(|e| {
            if let Some(label) = e.accessible_label()
                && !label.is_empty()
            {
                labels.push(label.to_string());
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        labels
    }

    /// Whether some text on the screen contains `text`.
    pub fn shows(&self, text: &str) -> bool {
        self.labels().iter().any(|l| l.contains(text))
    }

    /// Presses `button` (a scroll button) until `text` comes into view; panics after 40.
    pub fn scroll_to(&self, button: &str, text: &str) -> usize {
        let mut presses = 0;
        while !self.shows(text) {
            assert!(presses < 40, "{text:?} never came into view");
            self.touch(button);
            presses += 1;
        }
        presses
    }

    /// Types `text` on the on-screen keypad.
    pub fn keypad(&self, text: &str) {
        for c in text.chars() {
            self.touch(&c.to_string());
        }
    }

    fn key(&self, text: &str) {
        let window = self.ui().window();
        window.dispatch_event(WindowEvent::KeyPressed { text: text.into() });
        window.dispatch_event(WindowEvent::KeyReleased { text: text.into() });
    }

    /// A barcode scanner: every key of `text` at once, then Enter.
    pub fn scan(&self, text: &str) {
        for c in text.chars() {
            self.key(&c.to_string());
        }
        self.key("\n");
    }

    /// A person at a keyboard: a key every 200 ms.
    pub fn type_keys(&self, text: &str) {
        for c in text.chars() {
            self.key(&c.to_string());
            i_slint_backend_testing::mock_elapsed_time(Duration::from_millis(200));
        }
    }

    pub fn enter(&self) {
        self.key("\n");
    }

    /// Shows the answers of lookups and ratings in flight (they run on the screen's write
    /// thread; no event loop runs to deliver them).
    pub fn answers(&self) {
        assert!(
            self.kiosk.finish_background_work(Duration::from_secs(60)),
            "the screen's write thread did not answer"
        );
    }

    /// Lets `seconds` of mock time pass, a second at a time (a repeating Slint timer fires at
    /// most once per step).
    pub fn wait(&self, seconds: u64) {
        for _ in 0..seconds {
            i_slint_backend_testing::mock_elapsed_time(Duration::from_secs(1));
        }
    }

    /// Draws the screen (needs the renderer: `on_ui_thread(true, …)`).
    pub fn snapshot(&self) -> slint::SharedPixelBuffer<slint::Rgba8Pixel> {
        self.ui().window().take_snapshot().unwrap()
    }
}
