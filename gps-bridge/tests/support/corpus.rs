//! The gpsd corpus (`tests/corpus/gpsd/`, 83 receiver logs with gpsd's output, BSD-2-Clause,
//! see its README): kept in the repository so the suite runs on any checkout, and read the
//! same way by the corpus suite, the replay test and the benchmark, which are separate crates
//! and include this file with `#[path]`.

use std::path::{Path, PathBuf};

pub fn dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/gpsd");
    assert!(
        dir.join("README.md").is_file(),
        "the gpsd corpus is missing: expected it at {}",
        dir.display()
    );
    dir
}

/// Every `*.log`, sorted by name.
pub fn logs() -> Vec<PathBuf> {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("corpus directory readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs
}

/// What gpsfake feeds gpsd: the log without its `#` header lines.
pub fn stream_bytes(log: &[u8]) -> Vec<u8> {
    log.split_inclusive(|&b| b == b'\n')
        .filter(|line| !line.starts_with(b"#"))
        .flatten()
        .copied()
        .collect()
}
