//! SIGKILL at random moments during case sync and during a content apply, with the real
//! `kiosk` binary: the file stays sound, nothing is half-applied, and a resumed sync ends
//! equal to the upstream.
//!
//! The CI runs a short loop; the long one (≥ 100 trials each) is
//! `cargo test -p kiosk --release --test kill -- --ignored`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Sim, assert_mirror_equals_upstream, demo_key, write_config};
use kiosk::content::release::{self, Release};
use kiosk::content::sample;
use kiosk::mirror::{Mirror, cases};
use protocol::content::EntryKind;
use protocol::items::{Item, Notice};
use rand::Rng;

fn sync_command(config: &Path, what: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kiosk"));
    command
        .args(["sync", "--once", "--what", what, "--config"])
        .arg(config)
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn run_to_end(config: &Path, what: &str) {
    let status = sync_command(config, what).status().unwrap();
    assert!(
        status.success(),
        "kiosk sync --once --what {what} failed: {status:?}"
    );
}

/// Starts a sync, SIGKILLs it after a random share of `window` (a little shorter than a
/// whole run, so most kills land while it runs). Returns whether the process was still
/// running when killed.
fn kill_at_random(config: &Path, what: &str, window: Duration) -> bool {
    let mut child = sync_command(config, what).spawn().unwrap();
    std::thread::sleep(window.mul_f64(rand::rng().random::<f64>()));
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    running
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// Runs `trials` kill-and-resume rounds of the initial case sync; returns how many kills hit
/// a running sync.
fn case_sync_trials(cases: u64, trials: usize) -> usize {
    let sim = Sim::start(cases, &[]);
    let upstream = sim.hall_cases();
    // How long a whole initial sync takes here: the window kills fall into.
    let probe = tempfile::tempdir().unwrap();
    let window = timed(|| run_to_end(&write_config(probe.path(), &sim, 50), "cases")).mul_f64(0.9);
    let mut hits = 0;
    for trial in 0..trials {
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &sim, 50);
        hits += usize::from(kill_at_random(&config, "cases", window));
        let path = dir.path().join("data/mirror.db");
        if path.exists() {
            let mirror = Mirror::open(&path).unwrap();
            assert_eq!(mirror.integrity_check().unwrap(), "ok", "trial {trial}");
            // Pages commit with their cursor: the mirror holds exactly the cases up to it.
            let cursor = mirror.cursor().unwrap();
            let expected = upstream.values().filter(|(seq, _)| *seq <= cursor).count();
            assert_eq!(
                cases::count(mirror.conn()).unwrap() as usize,
                expected,
                "trial {trial}, cursor {cursor}"
            );
        }
        run_to_end(&config, "cases");
        assert_mirror_equals_upstream(&Mirror::open(&path).unwrap(), &sim);
    }
    eprintln!("case sync: {trials} trials, {hits} kills during a running sync (window {window:?})");
    hits
}

/// A release of the sample plus `notices` notices tagged with `version`, big enough that an
/// apply takes a while.
fn big_release(version: u64, notices: usize) -> Release {
    let mut compiled = sample::builtin();
    for n in 0..notices {
        compiled.items.push((
            format!("notices/bulk-{version}-{n:04}"),
            Item::Notice(Notice {
                title: format!("第{version}批公告{n}"),
                body: format!("批次{version}的公告正文，编号{n}。").repeat(20),
                valid_from: "2026-01-01T00:00:00Z".parse().unwrap(),
                valid_until: None,
                priority: (n % 10) as u8,
            }),
        ));
    }
    compiled.items.sort_by(|a, b| a.0.cmp(&b.0));
    release::build(&compiled, version, chrono::Utc::now(), "test", &demo_key())
}

fn item_ids(release: &Release) -> BTreeSet<String> {
    release
        .manifest
        .entries
        .iter()
        .filter(|e| e.kind != EntryKind::Media)
        .map(|e| e.id.clone())
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Checks that the mirror holds one whole release, `old` or `new`; returns its version.
fn assert_whole_release(mirror: &Mirror, old: &Release, new: &Release, context: &str) -> u64 {
    assert_eq!(mirror.integrity_check().unwrap(), "ok", "{context}");
    let version = mirror.content_status().unwrap().unwrap().version.unwrap();
    let release = if version == new.manifest.version {
        new
    } else {
        old
    };
    assert_eq!(version, release.manifest.version, "{context}");
    let mut stmt = mirror
        .conn()
        .prepare("SELECT id FROM content_items")
        .unwrap();
    let ids: BTreeSet<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        ids,
        item_ids(release),
        "{context}: items of version {version}"
    );
    // The full-text index agrees with the rows.
    let hits = mirror
        .search(
            &format!("第{version}批公告"),
            chrono::Utc::now(),
            kiosk::mirror::content::PageRequest::first(1),
        )
        .unwrap();
    assert_eq!(
        hits.total as usize,
        ids.len() - sample::builtin().items.len(),
        "{context}: search"
    );
    version
}

/// Runs `trials` kill-and-resume rounds of a content apply from `old` to `new`; returns how
/// many kills left the new release applied (the rest left the old one).
fn content_apply_trials(notices: usize, trials: usize) -> (usize, usize) {
    let sim = Sim::start(10, &[]);
    let old = big_release(1, notices);
    let new = big_release(2, notices);
    let template = tempfile::tempdir().unwrap();
    let config = write_config(template.path(), &sim, 50);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(old.publish(&sim.admin_client())).unwrap();
    run_to_end(&config, "content");
    rt.block_on(new.publish(&sim.admin_client())).unwrap();
    // A second starting point: the new release's blobs already downloaded (as a run killed
    // after its downloads leaves them), so the process goes straight to verifying and
    // applying and more kills land inside the apply itself.
    let downloaded = tempfile::tempdir().unwrap();
    copy_dir(template.path(), downloaded.path());
    for (sha, bytes) in &new.blobs {
        std::fs::write(downloaded.path().join("data/blobs").join(sha), bytes).unwrap();
    }
    let window_of = |start: &Path| {
        let probe = tempfile::tempdir().unwrap();
        copy_dir(start, probe.path());
        timed(|| run_to_end(&probe.path().join("kiosk.toml"), "content")).mul_f64(0.9)
    };
    let starts = [
        (template.path(), window_of(template.path())),
        (downloaded.path(), window_of(downloaded.path())),
    ];
    let (mut hits, mut applied) = (0, 0);
    for trial in 0..trials {
        let (start, window) = starts[trial % 2];
        let dir = tempfile::tempdir().unwrap();
        copy_dir(start, dir.path());
        let config = dir.path().join("kiosk.toml");
        hits += usize::from(kill_at_random(&config, "content", window));
        let path = dir.path().join("data/mirror.db");
        let version = assert_whole_release(
            &Mirror::open(&path).unwrap(),
            &old,
            &new,
            &format!("trial {trial}"),
        );
        applied += usize::from(version == 2);
        run_to_end(&config, "content");
        let resumed = assert_whole_release(
            &Mirror::open(&path).unwrap(),
            &old,
            &new,
            &format!("trial {trial} resumed"),
        );
        assert_eq!(resumed, 2);
    }
    let window = (starts[0].1, starts[1].1);
    eprintln!(
        "content apply: {trials} trials, {hits} kills while the content sync ran (download or apply), {applied} left the new release, {} the old (windows {window:?}: downloading, blobs already there)",
        trials - applied
    );
    (hits, applied)
}

#[test]
fn sigkill_during_case_sync_short() {
    let hits = case_sync_trials(2_000, 12);
    assert!(hits > 0, "no kill landed during a sync");
}

#[test]
fn sigkill_during_content_apply_short() {
    let (hits, _) = content_apply_trials(150, 12);
    assert!(hits > 0, "no kill landed during an apply");
}

#[test]
#[ignore = "long reliability loop (≥ 100 trials): cargo test -p kiosk --release --test kill -- --ignored"]
fn sigkill_during_case_sync_long() {
    let hits = case_sync_trials(20_000, 120);
    assert!(hits >= 60, "only {hits} kills landed during a sync");
}

#[test]
#[ignore = "long reliability loop (≥ 100 trials): cargo test -p kiosk --release --test kill -- --ignored"]
fn sigkill_during_content_apply_long() {
    let (hits, _) = content_apply_trials(600, 120);
    assert!(hits >= 40, "only {hits} kills landed during an apply");
}
