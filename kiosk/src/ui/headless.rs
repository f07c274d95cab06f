//! A Slint platform without a display: one window drawn by the software renderer into memory,
//! for `--screenshots`, the golden images and the frame-time benchmark. Set per thread.

use std::rc::Rc;

use slint::PlatformError;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};

struct Headless {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for Headless {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, PlatformError> {
        Ok(self.window.clone())
    }
}

/// Makes this thread draw its (one) window into memory; returns that window, for drawing it
/// (`draw_if_needed`). Fails if a platform is set already.
pub fn install() -> Result<Rc<MinimalSoftwareWindow>, PlatformError> {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(Headless {
        window: window.clone(),
    }))
    .map_err(|e| PlatformError::Other(format!("a Slint platform is already set: {e}")))?;
    Ok(window)
}
