//! The touch screen: Slint pages in `kiosk/ui/`, fed by the controllers here. `Kiosk` is the
//! screen; `run` (in `crate::app`) puts it beside the data plane in one process.

#[allow(unsafe_code, clippy::all, missing_docs)]
mod generated {
    slint::include_modules!();
}
pub use generated::*;

pub mod clock;
pub mod entry;
pub mod headless;
pub mod idle;
pub mod markdown;
mod pages;
pub mod pictures;
pub mod qr;
pub mod rotation;
pub mod schedule;
pub mod screenshots;
mod shell;
pub mod snapshot;
pub mod timeline;
mod worker;

pub use shell::Kiosk;

/// Why the screen could not start. Each variant says its cause in its message (and does not
/// expose it as a source too, so that an error chain prints it once).
#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("the display: {0}")]
    Platform(slint::PlatformError),
    #[error(transparent)]
    Mirror(#[from] crate::Error),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

impl From<slint::PlatformError> for UiError {
    fn from(e: slint::PlatformError) -> Self {
        Self::Platform(e)
    }
}
