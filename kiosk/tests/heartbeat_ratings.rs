//! Heartbeats with commands, and the ratings outbox, against a real egov-sim.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use common::{HALL, Sim};
use kiosk::heartbeat::{self, CommandTargets, NoScreen, ScreenSource};
use kiosk::mirror::schedule::{EffectiveSchedule, ScheduleSource};
use kiosk::mirror::{FaultSource, Mirror};
use kiosk::ratings;
use protocol::devices::{CommandAction, DisplaySchedule};
use tokio::sync::Notify;

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

fn targets(screen: Arc<dyn ScreenSource>) -> CommandTargets {
    CommandTargets {
        sync_now: Arc::new(Notify::new()),
        reload_content: Arc::new(Notify::new()),
        screen,
    }
}

async fn beat(sim: &Sim, mirror: &Mirror, targets: &CommandTargets) -> usize {
    heartbeat::beat(
        &sim.device_client(),
        mirror,
        DEVICE,
        HALL,
        42,
        targets,
        Utc::now(),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_once_and_their_results_reach_the_fleet_view() {
    let sim = Sim::start(10, &[]);
    let admin = sim.admin_client();
    let dir = tempfile::tempdir().unwrap();
    let mirror = Mirror::open(&dir.path().join("mirror.db")).unwrap();
    let screen = Arc::new(CountingScreen(AtomicUsize::new(0)));
    let targets = targets(screen.clone());

    assert_eq!(beat(&sim, &mirror, &targets).await, 0);
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

    assert_eq!(beat(&sim, &mirror, &targets).await, 4);
    assert_eq!(screen.0.load(Ordering::SeqCst), 1);
    assert_eq!(admin.screenshot(DEVICE, shot.id).await.unwrap(), PNG);
    assert_eq!(
        mirror.display_schedule().unwrap(),
        Some(EffectiveSchedule {
            schedule,
            source: ScheduleSource::Command
        })
    );
    // The sync-now command woke the case sync loop.
    tokio::time::timeout(
        std::time::Duration::from_secs(1),
        targets.sync_now.notified(),
    )
    .await
    .expect("sync was triggered");

    // Pretend the heartbeat carrying the results was lost after the kiosk marked them
    // reported: the upstream delivers the commands again, and they do not run again.
    mirror
        .conn()
        .execute("UPDATE commands SET reported = 1", [])
        .unwrap();
    assert_eq!(beat(&sim, &mirror, &targets).await, 0);
    assert_eq!(
        screen.0.load(Ordering::SeqCst),
        1,
        "the screenshot ran once"
    );
    assert_eq!(
        mirror.command_state(sync.id).unwrap(),
        Some(("done".into(), Some(true), false))
    );
    beat(&sim, &mirror, &targets).await;

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
    let mirror = Mirror::open(&dir.path().join("mirror.db")).unwrap();
    let targets = targets(Arc::new(NoScreen));
    let down = protocol::client::Client::with_token("http://127.0.0.1:9/", None).unwrap();
    assert!(
        heartbeat::beat(&down, &mirror, DEVICE, HALL, 1, &targets, Utc::now())
            .await
            .is_err()
    );
    assert_eq!(mirror.faults().unwrap()[0].source, FaultSource::Heartbeat);

    beat(&sim, &mirror, &targets).await;
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
    assert_eq!(mirror.faults().unwrap(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_headless_screenshot_fails_with_a_clear_result() {
    let sim = Sim::start(10, &[]);
    let admin = sim.admin_client();
    let dir = tempfile::tempdir().unwrap();
    let mirror = Mirror::open(&dir.path().join("mirror.db")).unwrap();
    let targets = targets(Arc::new(NoScreen));
    let shot = admin
        .queue_command(DEVICE, &CommandAction::Screenshot)
        .await
        .unwrap();
    beat(&sim, &mirror, &targets).await;
    let built = heartbeat::build(&mirror, HALL, 1, 1, Utc::now()).unwrap();
    assert_eq!(built.completed.len(), 1);
    assert!(!built.completed[0].ok);
    assert!(
        built.completed[0]
            .message
            .as_deref()
            .unwrap()
            .contains("headless")
    );
    beat(&sim, &mirror, &targets).await;
    assert_eq!(
        mirror.command_state(shot.id).unwrap(),
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
    let built = heartbeat::build(&mirror, HALL, 1, 1, Utc::now()).unwrap();
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
    let report = ratings::deliver(&down, &mirror, now).await.unwrap();
    assert_eq!(report.pending, 3);
    let faults = mirror.faults().unwrap();
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0].source, FaultSource::Ratings);

    let report = ratings::deliver(&sim.device_client(), &mirror, now)
        .await
        .unwrap();
    assert_eq!((report.delivered, report.pending), (3, 0));
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
    let report = ratings::deliver(&sim.device_client(), &mirror, now)
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
    let report = ratings::deliver(&sim.device_client(), &mirror, Utc::now())
        .await
        .unwrap();
    assert_eq!((report.refused, report.delivered), (1, 0));
    assert_eq!(mirror.rating_counts().unwrap(), (0, 0, 1));
    let again = ratings::deliver(&sim.device_client(), &mirror, Utc::now())
        .await
        .unwrap();
    assert_eq!(again, ratings::Delivered::default());
}
