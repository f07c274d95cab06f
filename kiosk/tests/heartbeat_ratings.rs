//! Heartbeats with commands, and the ratings outbox, against a real egov-sim.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use common::{HALL, Sim, beat, heartbeats};
use kiosk::heartbeat::{self, NoScreen, ScreenSource};
use kiosk::mirror::schedule::{EffectiveSchedule, ScheduleSource};
use kiosk::mirror::{AsyncMirror, FaultSource, Mirror};
use kiosk::ratings;
use protocol::devices::{CommandAction, DisplaySchedule};

const DEVICE: &str = "test-kiosk";

/// A screen that counts its captures and returns a tiny PNG-signed image.
struct CountingScreen(AtomicUsize);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot really an image";

impl ScreenSource for CountingScreen {
    fn capture_png(&self) -> Result<Vec<u8>, String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(PNG.to_vec())
    }
}

/// A mirror in `dir`, as the heartbeat loop holds it.
fn open(dir: &tempfile::TempDir) -> AsyncMirror {
    AsyncMirror::from(Mirror::open(&dir.path().join("mirror.db")).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_once_and_their_results_reach_the_fleet_view() {
    let sim = Sim::start(10, &[]);
    let admin = sim.admin_client();
    let dir = tempfile::tempdir().unwrap();
    let mirror = open(&dir);
    let screen = Arc::new(CountingScreen(AtomicUsize::new(0)));
    let heartbeats = heartbeats(&sim, screen.clone());

    assert_eq!(beat(&heartbeats, &mirror).await, 0);
    let schedule = DisplaySchedule {
        on: "08:00".into(),
        off: "18:00".into(),
        weekdays: vec![1, 2, 3, 4, 5],
    };
    let shot = admin
        .queue_command(DEVICE, &CommandAction::Screenshot)
        .await
        .unwrap();
    let sync = admin
        .queue_command(DEVICE, &CommandAction::SyncNow)
        .await
        .unwrap();
    admin
        .queue_command(DEVICE, &CommandAction::ReloadContent)
        .await
        .unwrap();
    admin
        .queue_command(
            DEVICE,
            &CommandAction::SetDisplaySchedule {
                schedule: schedule.clone(),
            },
        )
        .await
        .unwrap();

    assert_eq!(beat(&heartbeats, &mirror).await, 4);
    assert_eq!(screen.0.load(Ordering::SeqCst), 1);
    assert_eq!(admin.screenshot(DEVICE, shot.id).await.unwrap(), PNG);
    assert_eq!(
        mirror.lock().display_schedule().unwrap(),
        Some(EffectiveSchedule {
            schedule,
            source: ScheduleSource::Command
        })
    );
    // The sync-now command woke the case sync loop.
    tokio::time::timeout(
        std::time::Duration::from_secs(1),
        heartbeats.targets.sync_now.notified(),
    )
    .await
    .expect("sync was triggered");

    // Pretend the heartbeat carrying the results was lost after the kiosk marked them
    // reported: the upstream delivers the commands again, and they do not run again.
    mirror
        .lock()
        .conn()
        .execute("UPDATE commands SET reported = 1", [])
        .unwrap();
    assert_eq!(beat(&heartbeats, &mirror).await, 0);
    assert_eq!(
        screen.0.load(Ordering::SeqCst),
        1,
        "the screenshot ran once"
    );
    assert_eq!(
        mirror.lock().command_state(sync.id).unwrap(),
        Some(("done".into(), Some(true), false))
    );
    beat(&heartbeats, &mirror).await;

    let fleet = admin.fleet().await.unwrap();
    let me = fleet
        .devices
        .iter()
        .find(|d| d.device_id == DEVICE)
        .unwrap();
    assert_eq!(me.pending_commands, 0);
    assert_eq!(me.screenshots, vec![shot.id]);
    assert_eq!(me.heartbeat.hall_id, HALL);
    assert_eq!(me.heartbeat.uptime_s, 42);
    assert!(me.heartbeat.free_disk_bytes > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_heartbeat_after_an_outage_does_not_report_the_outage() {
    let sim = Sim::start(10, &[]);
    let dir = tempfile::tempdir().unwrap();
    let mirror = open(&dir);
    let mut heartbeats = heartbeats(&sim, Arc::new(NoScreen));
    let sim_client = std::mem::replace(
        &mut heartbeats.client,
        protocol::client::Client::with_token("http://127.0.0.1:9/", None).unwrap(),
    );
    assert!(
        heartbeats
            .beat(&mirror, 1, Vec::new(), Utc::now())
            .await
            .is_err()
    );
    let faults = mirror.lock().faults().unwrap();
    assert_eq!(faults[0].source, FaultSource::Heartbeat);

    // The data plane's record of that fault goes with the next heartbeat, which leaves out
    // the heartbeat's own.
    heartbeats.client = sim_client;
    heartbeats
        .beat(&mirror, 1, faults, Utc::now())
        .await
        .unwrap();
    let fleet = sim.admin_client().fleet().await.unwrap();
    let me = fleet
        .devices
        .iter()
        .find(|d| d.device_id == DEVICE)
        .unwrap();
    assert_eq!(
        (&me.heartbeat.last_error, &me.heartbeat.faults),
        (&None, &vec![])
    );
    assert_eq!(mirror.lock().faults().unwrap(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_screenshot_fails_with_a_clear_result() {
    let sim = Sim::start(10, &[]);
    let admin = sim.admin_client();
    let dir = tempfile::tempdir().unwrap();
    let mirror = open(&dir);
    let heartbeats = heartbeats(&sim, Arc::new(NoScreen));
    let shot = admin
        .queue_command(DEVICE, &CommandAction::Screenshot)
        .await
        .unwrap();
    beat(&heartbeats, &mirror).await;
    let built = heartbeat::build(&mirror.lock(), HALL, 1, 1, &[], Utc::now()).unwrap();
    assert_eq!(built.completed.len(), 1);
    assert!(!built.completed[0].ok);
    assert!(
        built.completed[0]
            .message
            .as_deref()
            .unwrap()
            .contains("headless")
    );
    beat(&heartbeats, &mirror).await;
    assert_eq!(
        mirror.lock().command_state(shot.id).unwrap(),
        Some(("done".into(), Some(false), true))
    );
    assert!(admin.screenshot(DEVICE, shot.id).await.is_err());
}

#[test]
fn a_command_cut_off_by_a_restart_is_reported_failed_not_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let mirror = Mirror::open(&dir.path().join("mirror.db")).unwrap();
    mirror
        .conn()
        .execute(
            "INSERT INTO commands (id, action, state) VALUES (7, '{}', 'running')",
            [],
        )
        .unwrap();
    assert_eq!(heartbeat::fail_interrupted(&mirror).unwrap(), 1);
    let built = heartbeat::build(&mirror, HALL, 1, 1, &[], Utc::now()).unwrap();
    assert_eq!(built.completed[0].id, 7);
    assert!(!built.completed[0].ok);
}

fn sim_rating_count(sim: &Sim) -> u64 {
    sim.state
        .db
        .read(|conn| Ok(conn.query_row("SELECT count(*) FROM ratings", [], |r| r.get(0))?))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_are_delivered_exactly_once() {
    let sim = Sim::start(10, &[]);
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir);
    let mirror = Mirror::open(&dir.path().join("mirror.db")).unwrap();
    let now = Utc::now();
    mirror
        .record_rating(
            DEVICE,
            HALL,
            Some("GY2026-ZJD-000001"),
            5,
            &["fast", "polite"],
            now,
        )
        .unwrap();
    mirror
        .record_rating(DEVICE, HALL, None, 2, &["slow"], now)
        .unwrap();
    let replayed = mirror
        .record_rating(DEVICE, HALL, None, 4, &[], now)
        .unwrap();
    assert!(
        mirror
            .record_rating(DEVICE, HALL, None, 6, &[], now)
            .is_err(),
        "score 1 to 5"
    );
    assert!(
        mirror
            .record_rating(DEVICE, HALL, None, 3, &["bribe"], now)
            .is_err(),
        "known reasons only"
    );

    // The upstream is down: nothing is lost, the fault is recorded.
    let down = protocol::client::Client::with_token("http://127.0.0.1:9/", Some("t")).unwrap();
    assert!(ratings::deliver(&down, &outbox, now).await.is_err());
    assert_eq!(mirror.rating_counts().unwrap(), (3, 0, 0));
    let faults = mirror.faults().unwrap();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0].source, FaultSource::Ratings);

    let report = ratings::deliver(&sim.device_client(), &outbox, now)
        .await
        .unwrap();
    assert_eq!(report.delivered, 3);
    assert_eq!(mirror.rating_counts().unwrap(), (0, 3, 0));
    assert_eq!(sim_rating_count(&sim), 3);

    // The acknowledgement of one was lost (the kiosk died before recording it): sent
    // again, the upstream recognises the id and records nothing new.
    mirror
        .conn()
        .execute(
            "UPDATE ratings_outbox SET state = 'pending' WHERE rating_id = ?1",
            [replayed.to_string()],
        )
        .unwrap();
    let report = ratings::deliver(&sim.device_client(), &outbox, now)
        .await
        .unwrap();
    assert_eq!(report.delivered, 1);
    assert_eq!(sim_rating_count(&sim), 3);
    assert_eq!(mirror.faults().unwrap(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rating_the_upstream_refuses_is_kept_and_not_resent() {
    let sim = Sim::start(10, &[]);
    let dir = tempfile::tempdir().unwrap();
    let outbox = open(&dir);
    let mirror = Mirror::open(&dir.path().join("mirror.db")).unwrap();
    let id = mirror
        .record_rating(DEVICE, HALL, None, 4, &[], Utc::now())
        .unwrap();
    // Damage it the way an old kiosk version might have stored it.
    mirror
        .conn()
        .execute(
            "UPDATE ratings_outbox SET body = json_set(body, '$.score', 9) WHERE rating_id = ?1",
            [id.to_string()],
        )
        .unwrap();
    let report = ratings::deliver(&sim.device_client(), &outbox, Utc::now())
        .await
        .unwrap();
    assert_eq!((report.refused, report.delivered), (1, 0));
    assert_eq!(mirror.rating_counts().unwrap(), (0, 0, 1));
    let again = ratings::deliver(&sim.device_client(), &outbox, Utc::now())
        .await
        .unwrap();
    assert_eq!(again, ratings::Delivered::default());
}
