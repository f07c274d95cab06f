//! The kiosk library's error type: typed causes, so callers can tell a refused content
//! release from a full disk or an unreachable upstream.
//!
//! Each variant prints its cause in its own message (faults are stored and reported as that
//! one line) and so does not also expose it as [`std::error::Error::source`]: a chain printed
//! with `{:#}` would say it twice ("…: No such file or directory (os error 2): No such file
//! or directory (os error 2)"). Hence `cause`, not `source`, and `From` written out.

use protocol::client::ClientError;
use protocol::content::ManifestError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The mirror's SQLite file failed.
    #[error("mirror database: {0}")]
    Sqlite(rusqlite::Error),
    /// The mirror's schema could not be brought up to date.
    #[error("mirror schema migration: {0}")]
    Migration(rusqlite_migration::Error),
    /// A file of the blob store or the data folder.
    #[error("{context}: {cause}")]
    Io {
        context: String,
        cause: std::io::Error,
    },
    /// The upstream could not be reached or refused a request.
    #[error(transparent)]
    Upstream(#[from] ClientError),
    /// A content release was refused.
    #[error("content refused: {0}")]
    Content(ManifestError),
    /// A content item inside a release is not acceptable.
    #[error("content item {id} refused: {cause}")]
    Item {
        id: String,
        cause: protocol::items::ItemError,
    },
    /// Another process — a running kiosk — holds the data folder.
    #[error("a kiosk is running on {data_dir}{}: it syncs, sends heartbeats and delivers ratings by itself; stop it first (its systemd service) to run this command", pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    KioskRunning { data_dir: String, pid: Option<u32> },
    /// Stored or received data does not have the expected shape.
    #[error("invalid data: {0}")]
    Invalid(String),
}

impl Error {
    pub fn io(context: impl Into<String>, cause: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            cause,
        }
    }

    /// Whether trying again later may help (the upstream was unavailable), as opposed to a
    /// fault that needs a person (a refused release, a broken disk).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Upstream(e) if e.is_retryable())
    }

    /// Whether the kiosk's own storage failed — the mirror or a file of the data folder (a
    /// full or failing disk) — rather than the upstream or the data it sent.
    pub fn is_storage(&self) -> bool {
        matches!(self, Self::Sqlite(_) | Self::Migration(_) | Self::Io { .. })
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sqlite(e)
    }
}

impl From<rusqlite_migration::Error> for Error {
    fn from(e: rusqlite_migration::Error) -> Self {
        Self::Migration(e)
    }
}

impl From<ManifestError> for Error {
    fn from(e: ManifestError) -> Self {
        Self::Content(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Self::Invalid(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Each message says its cause once, however it is printed.
    #[test]
    fn a_cause_is_said_once_in_the_whole_chain() {
        let missing = std::fs::read("/nonexistent/blob").unwrap_err();
        let errors = [
            Error::io("reading blob x", missing),
            Error::from(ManifestError::BadSignature),
            Error::Item {
                id: "notices/a".into(),
                cause: protocol::items::ItemError::new("title", "empty"),
            },
        ];
        for error in errors {
            let shown = format!("{:#}", anyhow::Error::new(error));
            for cause in [
                "No such file or directory",
                "signature does not verify",
                "empty",
            ] {
                assert!(shown.matches(cause).count() <= 1, "{shown}");
            }
        }
    }
}
