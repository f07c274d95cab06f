//! systemd's service protocol, thinly: `READY=1` once the mirror is open and the loops run,
//! `WATCHDOG=1` while they all still run, `STOPPING=1` when the kiosk stops. Without
//! `NOTIFY_SOCKET` (not started by systemd, or not `Type=notify`) nothing is sent. A message
//! that cannot be sent is logged, never fatal: the kiosk serves the hall with or without it.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio::task::AbortHandle;

fn notify(state: NotifyState<'_>) {
    if let Err(e) = sd_notify::notify(&[state]) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

pub(super) fn ready() {
    notify(NotifyState::Ready);
}

pub(super) fn stopping() {
    notify(NotifyState::Stopping);
}

/// How often to ping the watchdog: half its timeout (`WatchdogSec=`), as systemd advises;
/// `None` when the unit has no watchdog for this process.
pub(super) fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|timeout| timeout / 2)
}

/// Pings every `every` while no task of `loops` has ended; stops pinging for good once one
/// has, so that systemd restarts a kiosk whose loop died even if the process lives on (the UI
/// beside it, say). A runtime too blocked to run this task misses its pings too.
pub(super) async fn watchdog(every: Duration, loops: Vec<AbortHandle>, mut ping: impl FnMut()) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        if loops.iter().any(AbortHandle::is_finished) {
            tracing::error!("a data plane loop ended; no more watchdog pings");
            return;
        }
        ping();
    }
}

pub(super) fn ping_watchdog() {
    notify(NotifyState::Watchdog);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(start_paused = true)]
    async fn pings_while_every_loop_runs_and_never_after_one_ended() {
        let steady = tokio::spawn(std::future::pending::<()>());
        let (end, ended) = tokio::sync::oneshot::channel::<()>();
        let dying = tokio::spawn(async move {
            let _ = ended.await;
        });
        let pings = Arc::new(AtomicUsize::new(0));
        let counted = pings.clone();
        let watchdog = tokio::spawn(watchdog(
            Duration::from_secs(10),
            vec![steady.abort_handle(), dying.abort_handle()],
            move || {
                counted.fetch_add(1, Ordering::SeqCst);
            },
        ));
        // Ticks at 0, 10 and 20 s.
        tokio::time::sleep(Duration::from_secs(25)).await;
        assert_eq!(pings.load(Ordering::SeqCst), 3);
        end.send(()).unwrap();
        dying.await.unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(
            pings.load(Ordering::SeqCst),
            3,
            "no ping after a loop ended"
        );
        assert!(watchdog.is_finished());
        steady.abort();
    }
}
