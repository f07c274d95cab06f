//! The running data plane, in process against a real egov-sim: the loops react to the
//! commands a heartbeat brings, long before their own intervals.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Sim, assert_mirror_equals_upstream, sample_release, write_config_paced};
use kiosk::config::Config;
use kiosk::daemon::DataPlane;
use kiosk::heartbeat::NoScreen;
use kiosk::mirror::Mirror;
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
