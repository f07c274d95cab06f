//! Moves the simulated workflow forward in the background.

use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::db::meta_set;
use crate::state::AppState;

/// Events run per transaction, so that a backlog never holds the writer for long.
const BATCH: u32 = 2_000;

pub async fn run(state: AppState, period: Duration) {
    let mut rng = StdRng::from_os_rng();
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let now = state.clock.now();
        let db = state.db.clone();
        let mut batch_rng = StdRng::from_rng(&mut rng);
        let result = tokio::task::spawn_blocking(move || {
            db.write(|conn| {
                let changed = crate::cases::advance_due(conn, now, BATCH, &mut batch_rng)?;
                meta_set(conn, "sim_now", &now.to_rfc3339())?;
                Ok(changed)
            })
        })
        .await;
        match result {
            Ok(Ok(changed)) if changed > 0 => tracing::debug!(changed, %now, "workflow advanced"),
            Ok(Ok(_)) => {}
            Ok(Err(err)) => tracing::error!("workflow tick failed: {err:#}"),
            Err(err) => tracing::error!("workflow tick panicked: {err}"),
        }
    }
}
