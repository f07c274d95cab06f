//! One kiosk per data folder: an exclusive `flock` on `kiosk.lock` in the data folder,
//! held for as long as the data plane lives (the kernel drops it when the process ends,
//! however it ends). Support commands that would write — `sync --once`, `rate` — take it
//! too and refuse while a kiosk runs, instead of, say, reporting the running kiosk's
//! command as cut off by a restart. Commands that only read (`status`, `lookup`) do not.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

use rustix::fs::FlockOperation;

use crate::error::{Error, Result};

/// The lock on a data folder; released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Takes the lock on `data_dir` (creating the folder), or says which process holds it.
    pub fn acquire(data_dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::io(format!("creating {}", data_dir.display()), e))?;
        let path = data_dir.join("kiosk.lock");
        let context = |what: &str| format!("{what} {}", path.display());
        // Not truncated on open: the holder's pid in it is what a refused process reports.
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(context("opening"), e))?;
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let mut holder = String::new();
                // Best effort: the pid is only for the message.
                let _ = file.read_to_string(&mut holder);
                return Err(Error::KioskRunning {
                    data_dir: data_dir.display().to_string(),
                    pid: holder.trim().parse().ok(),
                });
            }
            Err(e) => return Err(Error::io(context("locking"), e.into())),
        }
        // The lock is the flock, the pid only a note for the message above: a full data
        // partition (where the truncated block is not free again until the filesystem's
        // journal commits) must not keep the kiosk from coming up and saying the disk is full.
        let pid = std::process::id();
        if let Err(e) = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{pid}"))
        {
            tracing::warn!(error = %e, path = %path.display(), "could not note this kiosk's pid in its lock file");
        }
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDirLock::acquire(dir.path()).unwrap();
        let refused = DataDirLock::acquire(dir.path()).unwrap_err();
        assert!(
            matches!(refused, Error::KioskRunning { pid: Some(pid), .. } if pid == std::process::id()),
            "{refused:?}"
        );
        drop(first);
        DataDirLock::acquire(dir.path()).unwrap();
    }
}
