//! The running data plane, in process against a real egov-sim: the loops react to the
//! commands a heartbeat brings, long before their own intervals.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Sim, assert_mirror_equals_upstream, sample_release, write_config_paced};
use kiosk::config::Config;
use kiosk::daemon::DataPlane;
use kiosk::heartbeat::NoScreen;
use kiosk::mirror::{FaultSource, Mirror};
use protocol::devices::{CommandAction, Heartbeat};

/// Waits up to 20 s for `done`, polling.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The heartbeat egov-sim last received from the test kiosk.
async fn reported(sim: &Sim) -> Option<Heartbeat> {
    let fleet = sim.admin_client().fleet().await.unwrap();
    fleet
        .devices
        .into_iter()
        .find(|d| d.device_id == "test-kiosk")
        .map(|d| d.heartbeat)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_now_and_reload_commands_run_their_loops_before_the_interval() {
    let sim = Sim::start(300, &[]);
    let admin = sim.admin_client();
    sample_release(1).publish(&admin).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Case sync and content poll hourly: within the test only a command runs them again.
    let config = Config::load(&write_config_paced(dir.path(), &sim, 100, 3_600)).unwrap();
    let plane = DataPlane::prepare(config, Arc::new(NoScreen)).unwrap();
    let mirror = Mirror::open(&plane.config().mirror_path()).unwrap();
    let mut content_changes = plane.content_changes();

    let test = async {
        let newest = sim.newest_hall_seq();
        wait_for("the first case sync", || mirror.cursor().unwrap() >= newest).await;
        wait_for("release 1", || {
            mirror.content_status().unwrap().unwrap().version == Some(1)
        })
        .await;

        // The upstream moves on; a sync-now command brings it in.
        let before = mirror.cursor().unwrap();
        assert!(sim.advance_workflow(20) > 0);
        admin
            .queue_command("test-kiosk", &CommandAction::SyncNow)
            .await
            .unwrap();
        wait_for("the commanded case sync", || {
            mirror.cursor().unwrap() > before
        })
        .await;
        assert_mirror_equals_upstream(&mirror, &sim);

        // A release published now; a reload command applies it.
        sample_release(2).publish(&admin).await.unwrap();
        content_changes.borrow_and_update();
        admin
            .queue_command("test-kiosk", &CommandAction::ReloadContent)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(20), content_changes.changed())
            .await
            .expect("the commanded reload applies release 2")
            .unwrap();
        assert_eq!(mirror.content_status().unwrap().unwrap().version, Some(2));

        // The fleet view catches up with all of it: versions, cursor, no faults.
        let cursor = mirror.cursor().unwrap();
        let mut last = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            last = reported(&sim).await.or(last);
            if last
                .as_ref()
                .is_some_and(|h| h.content_version == Some(2) && h.feed_cursor == Some(cursor))
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the fleet never showed release 2 at cursor {cursor}: {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let heartbeat = last.unwrap();
        assert_eq!(heartbeat.app_version, kiosk::APP_VERSION);
        assert_eq!(
            (&heartbeat.last_error, &heartbeat.faults),
            (&None, &vec![]),
            "{heartbeat:?}"
        );
        assert!(heartbeat.last_sync_at.is_some());
    };
    tokio::select! {
        outcome = plane.run(std::future::pending()) => panic!("the data plane stopped: {outcome:?}"),
        () = test => {}
    }
}

/// Makes `path` a named pipe: whoever reads it blocks until the test writes.
fn replace_with_fifo(path: &std::path::Path) {
    std::fs::remove_file(path).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

/// Waits for a reader to open the pipe at `path` (its open blocks until a writer comes);
/// returns the write end, held open, so that the reader then blocks in `read`.
async fn writer_once_read(path: &std::path::Path) -> std::os::fd::OwnedFd {
    use rustix::fs::{Mode, OFlags};
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match rustix::fs::open(path, OFlags::WRONLY | OFlags::NONBLOCK, Mode::empty()) {
            Ok(fd) => return fd,
            // No reader yet.
            Err(rustix::io::Errno::NXIO) => {}
            Err(e) => panic!("opening the pipe: {e}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the content apply never read the blob"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until egov-sim has received `count` more heartbeats of the test kiosk.
async fn heartbeats_arrive(sim: &Sim, count: usize) {
    let mut seen = std::collections::BTreeSet::new();
    let first = sim_last_heartbeat(sim).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while seen.len() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} heartbeats arrived while the content apply was held",
            seen.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        let last = sim_last_heartbeat(sim).await;
        if last != first {
            seen.insert(last);
        }
    }
}

async fn sim_last_heartbeat(sim: &Sim) -> Option<chrono::DateTime<chrono::Utc>> {
    let fleet = sim.admin_client().fleet().await.unwrap();
    fleet
        .devices
        .into_iter()
        .find(|d| d.device_id == "test-kiosk")
        .map(|d| d.last_heartbeat_at)
}

/// The review's case: a content apply whose file work blocks (here on a blob file that is a
/// pipe nobody writes yet, as a stalled disk would) held in the middle, while heartbeats keep
/// arriving at egov-sim and case pages keep being applied. With the loops in one task, the
/// blocked read stopped them all. Real time, not paused: the heartbeats cross real loopback
/// HTTP; the hold itself is indefinite, so only the generous timeouts above count time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_content_apply_held_on_blocking_file_work_does_not_hold_up_heartbeats_or_case_sync() {
    let sim = Sim::start(300, &[]);
    let admin = sim.admin_client();
    sample_release(1).publish(&admin).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&write_config_paced(dir.path(), &sim, 100, 1)).unwrap();
    let plane = DataPlane::prepare(config, Arc::new(NoScreen)).unwrap();
    let mirror = Mirror::open(&plane.config().mirror_path()).unwrap();
    let health = plane.health();

    let test = async {
        wait_for("release 1", || {
            mirror.content_status().unwrap().unwrap().version == Some(1)
        })
        .await;
        // Release 2 names the same blobs; the smallest one is a pipe now.
        let release = sample_release(2);
        let blob = release
            .manifest
            .entries
            .iter()
            .min_by_key(|e| e.size)
            .unwrap();
        let path = plane.config().blob_dir().join(&blob.sha256);
        replace_with_fifo(&path);
        release.publish(&admin).await.unwrap();
        let pipe = writer_once_read(&path).await;

        // Held: the content loop is blocked reading the pipe.
        let cursor = mirror.cursor().unwrap();
        assert!(sim.advance_workflow(20) > 0);
        heartbeats_arrive(&sim, 3).await;
        wait_for("case pages applied meanwhile", || {
            mirror.cursor().unwrap() > cursor
        })
        .await;
        assert_eq!(
            mirror.content_status().unwrap().unwrap().version,
            Some(1),
            "still held"
        );
        assert!(
            health.borrow().faults.is_empty(),
            "{:?}",
            health.borrow().faults
        );

        // Released: the file is whole again for later reads, the pipe gives its bytes to the
        // blocked read, and release 2 applies.
        let whole = dir.path().join("whole");
        std::fs::write(&whole, &release.blobs[&blob.sha256]).unwrap();
        std::fs::rename(&whole, &path).unwrap();
        rustix::io::write(&pipe, &release.blobs[&blob.sha256]).unwrap();
        drop(pipe);
        wait_for("release 2", || {
            mirror.content_status().unwrap().unwrap().version == Some(2)
        })
        .await;
    };
    tokio::select! {
        outcome = plane.run(std::future::pending()) => panic!("the data plane stopped: {outcome:?}"),
        () = test => {}
    }
}

/// A mirror that cannot be written (here SQLite triggers fail every case insert and every
/// fault record, as a full disk would): the data plane keeps running and serving what it
/// has, applies nothing half-way, and shows the fault to the screen (`health`) and to the
/// fleet view (the heartbeat), although the mirror cannot store it; once the mirror takes
/// writes again, the sync catches up and the fault clears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirror_that_cannot_be_written_is_a_fault_on_screen_and_in_the_fleet_view_not_a_stop() {
    let sim = Sim::start(300, &[]);
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&write_config_paced(dir.path(), &sim, 100, 1)).unwrap();
    let plane = DataPlane::prepare(config, Arc::new(NoScreen)).unwrap();
    let mirror = Mirror::open(&plane.config().mirror_path()).unwrap();
    mirror
        .conn()
        .execute_batch(
            "CREATE TRIGGER full_disk_cases BEFORE INSERT ON cases
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END;
             CREATE TRIGGER full_disk_faults BEFORE INSERT ON faults
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full (test)'); END;",
        )
        .unwrap();
    let mut health = plane.health();

    let test = async {
        tokio::time::timeout(
            Duration::from_secs(30),
            health.wait_for(|h| !h.mirror_writable),
        )
        .await
        .expect("the screen learns that the mirror cannot be written")
        .unwrap();
        let shown = health.borrow().clone();
        let cases = shown
            .faults
            .iter()
            .find(|f| f.source == FaultSource::Cases)
            .unwrap_or_else(|| panic!("{shown:?}"));
        assert!(cases.message.contains("disk is full"), "{cases:?}");
        // Nothing half-applied: no page, no cursor; the fault could not be stored either.
        assert_eq!((mirror.cursor().unwrap(), cases_in(&mirror)), (0, 0));
        assert_eq!(mirror.faults().unwrap(), []);

        // The fleet view shows it all the same.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let faults = reported(&sim).await.map(|h| h.faults).unwrap_or_default();
            if faults
                .iter()
                .any(|f| f.part == "cases" && f.message.contains("disk is full"))
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the fleet view never showed the fault: {faults:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }

        // The disk has room again.
        mirror
            .conn()
            .execute_batch("DROP TRIGGER full_disk_cases; DROP TRIGGER full_disk_faults;")
            .unwrap();
        let cleared = tokio::time::timeout(
            Duration::from_secs(30),
            health.wait_for(|h| h.mirror_writable && h.faults.is_empty()),
        )
        .await
        .is_ok();
        assert!(cleared, "the fault clears: {:?}", health.borrow());
        assert_mirror_equals_upstream(&mirror, &sim);
        assert!(health.borrow().freshness.unwrap().caught_up_at.is_some());
    };
    tokio::select! {
        outcome = plane.run(std::future::pending()) => panic!("the data plane stopped: {outcome:?}"),
        () = test => {}
    }
}

fn cases_in(mirror: &Mirror) -> u64 {
    kiosk::mirror::cases::count(mirror.conn()).unwrap()
}
