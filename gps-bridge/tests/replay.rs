//! `gps-bridge replay FILE`, the real binary: one JSON object per accepted sentence on stdout,
//! in input order; a summary of rejects by cause on stderr; exit status 0 on any input.

#[path = "support/corpus.rs"]
#[allow(
    dead_code,
    reason = "shared with the corpus suite; this test needs only its directory"
)]
mod corpus;

use std::path::Path;
use std::process::Command;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde_json::Value;

struct Replayed {
    records: Vec<Value>,
    stderr: String,
}

fn replay(file: &Path) -> Replayed {
    let output = Command::new(env!("CARGO_BIN_EXE_gps-bridge"))
        .arg("replay")
        .arg(file)
        .output()
        .expect("gps-bridge runs");
    assert!(output.status.success(), "exit status {}", output.status);
    let records = String::from_utf8(output.stdout)
        .expect("stdout is UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    Replayed {
        records,
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

#[test]
fn a_garmin_log_replays_as_gpsd_read_it() {
    let log = corpus::dir().join("garmin48.log");
    let replayed = replay(&log);
    // gpsd's echo of the same log is the list of sentences to expect, in order.
    let chk = std::fs::read_to_string(log.with_extension("log.chk")).unwrap();
    let echoed: Vec<&str> = chk.lines().filter(|l| l.starts_with('$')).collect();
    let raws: Vec<&str> = replayed
        .records
        .iter()
        .map(|r| r["raw"].as_str().unwrap())
        .collect();
    assert_eq!(raws, echoed);
    let first = &replayed.records[0];
    assert_eq!(
        first,
        &serde_json::json!({
            "raw": "$GPRMC,225308,A,4527.458,S,16709.165,E,000.0,094.5,060601,024.1,E*6D",
            "type": "RMC",
            "lat": -45.457633333,
            "lon": 167.15275,
            "time": "22:53:08.000",
        })
    );
    // No position or time where the sentence carries none.
    let rmb = &replayed.records[1];
    assert_eq!(
        (rmb["type"].as_str(), rmb.get("lat"), rmb.get("time")),
        (Some("RMB"), None, None)
    );
    assert!(
        replayed.stderr.contains("accepted 91, rejected 4")
            && replayed.stderr.contains("junk: 2")
            && replayed.stderr.contains("no_checksum: 1"),
        "{}",
        replayed.stderr
    );
}

#[test]
fn garbage_replays_to_nothing_but_counted_rejects() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("garbage.log");
    let mut garbage = vec![0u8; 4096];
    StdRng::seed_from_u64(7).fill_bytes(&mut garbage);
    garbage.extend_from_slice(b"\r\n$GPGGA,120000,3954.0000,N*00\r\n$GPGGA,1200$$GPRMC,");
    std::fs::write(&file, &garbage).unwrap();
    let replayed = replay(&file);
    assert!(replayed.records.is_empty(), "{:?}", replayed.records);
    assert!(
        replayed.stderr.contains("accepted 0")
            && replayed.stderr.contains("junk:")
            && replayed.stderr.contains("bad_checksum:")
            && replayed.stderr.contains("interrupted:"),
        "{}",
        replayed.stderr
    );
}

#[test]
fn stdin_is_replayed_as_it_arrives() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;

    let mut child = Command::new(env!("CARGO_BIN_EXE_gps-bridge"))
        .args(["replay", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gps-bridge runs");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    stdin
        .write_all(b"$GPGSA,A,1,,,,,,,,,,,,,,,*1E\r\n")
        .unwrap();
    stdin.flush().unwrap();
    // The record comes while stdin is still open: the stream is not read to its end first.
    // (The timeout only bounds a broken build; a working one answers at once.)
    let first = received
        .recv_timeout(Duration::from_secs(120))
        .expect("a record before the end of the input");
    let record: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(record["type"], "GSA");
    drop(stdin);
    let status = child.wait().unwrap();
    reader.join().unwrap();
    assert!(status.success());
}
