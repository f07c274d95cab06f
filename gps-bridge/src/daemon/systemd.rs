//! systemd's notification protocol (sd-notify): readiness, status, stopping and watchdog
//! pings. Each is a thin wrapper that logs a failure and never stops the daemon; outside
//! systemd (no `NOTIFY_SOCKET`) they do nothing.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;
use tokio::sync::watch;

use super::Shared;

fn notify(state: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
    notify(&[NotifyState::Status(status)]);
}

pub fn stopping() {
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// Pings the watchdog at half its period (`WatchdogSec=`), but only while the recorder keeps
/// ticking: a recorder stuck on a device or a disk stops the pings, and systemd restarts the
/// bridge. Also keeps `STATUS=` current. Returns at once without a watchdog.
pub async fn watchdog(shared: Arc<Shared>, started: Instant, mut stop: watch::Receiver<bool>) {
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    let mut tick = tokio::time::interval(period / 2);
    let mut last_status = String::new();
    while !*stop.borrow() {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        let alive = Duration::from_millis(shared.alive_ms.load(Ordering::Relaxed));
        let silent = started.elapsed().saturating_sub(alive);
        if silent < period {
            notify(&[NotifyState::Watchdog]);
        } else {
            tracing::error!(
                silent_s = silent.as_secs_f64(),
                "the recorder has not ticked; no watchdog ping"
            );
        }
        let line = shared.status_line();
        if line != last_status {
            status(&line);
            last_status = line;
        }
    }
}
