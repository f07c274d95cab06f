//! The uploader: sends pending plots, oldest due first, with the idempotency key stored with
//! each, and records the upstream's verdict. A 4xx parks the plot as rejected with the
//! upstream's reason, never to be sent again; anything a later attempt may get past (5xx,
//! timeouts, refused or dropped connections, an answer cut short, and a 401 or 403, which
//! refuse the bridge's credentials rather than the plot) is retried with capped exponential
//! backoff and jitter, until delivered. The same key and the same body make a
//! repeat harmless: the upstream answers it with its first receipt.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use protocol::backoff::Backoff;
use protocol::client::{Client, ClientError, Delivery};
use protocol::plots::PlotReceipt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{Notify, watch};

use super::{DuePlot, Outbox};
use crate::health::{Health, Part};

/// What one attempt's outcome means for the plot.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Delivered {
        receipt: PlotReceipt,
        /// The upstream had it already under this key (an earlier answer was lost).
        replayed: bool,
    },
    /// Refused for good, with the upstream's reason.
    Rejected(String),
    /// Try again later.
    Retry(String),
}

pub fn judge(result: Result<(Delivery, PlotReceipt), ClientError>) -> Verdict {
    match result {
        Ok((delivery, receipt)) => Verdict::Delivered {
            receipt,
            replayed: delivery == Delivery::Replayed,
        },
        // 401 and 403 refuse the bridge (a token wrong, expired or revoked), not the plot:
        // parking every plot as rejected until someone edits the outbox would lose them to a
        // configuration slip. They wait, retried, and the fault is reported meanwhile.
        Err(ClientError::Rejected {
            status: status @ (401 | 403),
            code,
            message,
        }) => Verdict::Retry(format!(
            "the upstream refuses this bridge ({status} {code}: {message}); check upstream.token"
        )),
        Err(ClientError::Rejected {
            status,
            code,
            message,
        }) => Verdict::Rejected(format!("{status} {code}: {message}")),
        // A 2xx whose body does not follow the contract may still have been recorded; the
        // same key makes asking again safe, and the fault is reported meanwhile.
        Err(e @ ClientError::Contract(_)) => Verdict::Retry(e.to_string()),
        Err(e) if e.is_retryable() => Verdict::Retry(e.to_string()),
        // A URL the configuration got wrong: nothing the upstream said about this plot, so
        // it stays pending rather than being parked as refused by the upstream.
        Err(e) => Verdict::Retry(e.to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UploadSettings {
    pub backoff: Backoff,
}

pub struct Uploader {
    pub client: Client,
    pub outbox: Arc<Mutex<Outbox>>,
    pub settings: UploadSettings,
    /// Jitter; seeded in tests.
    pub rng: StdRng,
    /// Rung when a plot is recorded.
    pub wake: Arc<Notify>,
    pub health: Health,
}

/// Runs `f` on the outbox off the async workers.
async fn with_outbox<T: Send + 'static>(
    outbox: &Arc<Mutex<Outbox>>,
    f: impl FnOnce(&mut Outbox) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let outbox = outbox.clone();
    tokio::task::spawn_blocking(move || {
        let mut outbox = outbox.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut outbox)
    })
    .await?
}

/// How long to wait when the outbox cannot be read (a disk fault): not a tight loop.
const OUTBOX_FAULT_PAUSE: Duration = Duration::from_secs(5);

impl Uploader {
    pub fn new(
        client: Client,
        outbox: Arc<Mutex<Outbox>>,
        settings: UploadSettings,
        wake: Arc<Notify>,
        health: Health,
    ) -> Self {
        Uploader {
            client,
            outbox,
            settings,
            rng: StdRng::from_os_rng(),
            wake,
            health,
        }
    }

    /// Delivers until `stop` turns true. An attempt in flight then is dropped: its plot
    /// stays pending and is sent again, with the same key, by the next run.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            let pause = match self.step(Utc::now(), &mut stop).await {
                Ok(Some(wait)) => wait,
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "outbox unreadable");
                    self.health.fault(Part::Outbox, format!("{e:#}"));
                    OUTBOX_FAULT_PAUSE
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.wake.notified() => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// One attempt if a plot is due; else how long until one is (at most a minute, so a plot
    /// recorded by another process, say `gps-bridge import`, is not left waiting).
    async fn step(
        &mut self,
        now: DateTime<Utc>,
        stop: &mut watch::Receiver<bool>,
    ) -> anyhow::Result<Option<Duration>> {
        let due = with_outbox(&self.outbox, move |o| o.next_due(now)).await?;
        let Some(plot) = due else {
            let next = with_outbox(&self.outbox, |o| o.next_attempt_at()).await?;
            let wait = next.map_or(Duration::from_secs(60), |at| {
                (at - now).to_std().unwrap_or_default()
            });
            return Ok(Some(wait.min(Duration::from_secs(60))));
        };
        let result = tokio::select! {
            result = self.client.post_plot(&plot.idempotency_key, &plot.submission) => result,
            _ = stop.changed() => return Ok(Some(Duration::ZERO)),
        };
        self.record(plot, judge(result), Utc::now()).await?;
        Ok(None)
    }

    async fn record(
        &mut self,
        plot: DuePlot,
        verdict: Verdict,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let id = plot.id;
        match verdict {
            Verdict::Delivered { receipt, replayed } => {
                tracing::info!(plot = id, upstream = %receipt.plot_id, replayed, attempts = plot.attempts + 1, "plot delivered");
                self.health.clear(Part::Upload);
                with_outbox(&self.outbox, move |o| {
                    o.delivered(id, &receipt, replayed, at)
                })
                .await
            }
            Verdict::Rejected(reason) => {
                tracing::warn!(plot = id, %reason, "the upstream refused the plot; kept as rejected");
                // The upstream answered: delivery works (the refusal is counted apart).
                self.health.clear(Part::Upload);
                with_outbox(&self.outbox, move |o| o.rejected(id, &reason, at)).await
            }
            Verdict::Retry(error) => {
                let delay = self
                    .settings
                    .backoff
                    .delay(plot.attempts, self.rng.random());
                tracing::info!(plot = id, %error, retry_in_s = delay.as_secs_f64(), "plot delivery failed; will retry");
                self.health.fault(Part::Upload, error.clone());
                // The delay is capped by the backoff; a day stands in for one too long to represent.
                let next =
                    at + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::days(1));
                with_outbox(&self.outbox, move |o| o.failed(id, &error, at, next)).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::{NewPlot, PlotChecks, PlotState};
    use crate::plot::testing::{candidate, rectangle, settings};
    use crate::testing::{client_runtime, upstream};
    use protocol::plots::{Corner as WireCorner, PlotSubmission};

    #[test]
    fn a_4xx_is_final_and_everything_that_may_pass_is_retried() {
        let rejected = judge(Err(ClientError::Rejected {
            status: 422,
            code: "invalid_geometry".into(),
            message: "the boundary is not a simple polygon".into(),
        }));
        assert_eq!(
            rejected,
            Verdict::Rejected("422 invalid_geometry: the boundary is not a simple polygon".into())
        );
        for error in [
            ClientError::Unavailable {
                status: 503,
                message: "injected".into(),
            },
            ClientError::Timeout,
            ClientError::Connection("reset".into()),
            ClientError::Contract("a body cut short".into()),
        ] {
            assert!(matches!(judge(Err(error)), Verdict::Retry(_)));
        }
    }

    #[test]
    fn a_token_the_upstream_refuses_leaves_the_plot_pending_not_rejected() {
        let sim = upstream(&[]);
        let wrong =
            protocol::client::Client::with_token(&sim.url, Some("not-this-bridges")).unwrap();
        let plot = new_plot(0, false);
        let submission = plot.submission.unwrap();
        let answer = client_runtime().block_on(wrong.post_plot("gps-bridge-test", &submission));
        assert!(
            matches!(
                answer,
                Err(ClientError::Rejected {
                    status: 401 | 403,
                    ..
                })
            ),
            "{answer:?}"
        );
        let Verdict::Retry(reason) = judge(answer) else {
            panic!("a refused token parks no plot")
        };
        assert!(reason.contains("upstream.token"), "{reason}");
        assert!(sim.plots().is_empty());
    }

    /// A plot `n` of a row of 12 × 10 m plots, `holed` with a courtyard.
    fn new_plot(n: usize, bow_tie: bool) -> NewPlot {
        let lon = 112.62 + n as f64 * 0.001;
        let report = crate::plot::check(
            &candidate(rectangle(lon, 25.87, 12.0, 10.0)),
            &settings(),
            &[],
        );
        let wire = |c: &crate::plot::PlotCorner| WireCorner {
            name: c.name.clone(),
            lon: c.lon,
            lat: c.lat,
            sigma_m: c.sigma_m,
            fixes: c.fixes,
        };
        let checked = report.checked().unwrap();
        let mut corners: Vec<WireCorner> = checked.shell.iter().map(wire).collect();
        if bow_tie {
            corners.swap(1, 2);
        }
        NewPlot {
            candidate_id: n as i64 + 1,
            name: format!("plot {n}"),
            area_m2: Some(checked.areas.area_m2),
            area_sigma_m2: None,
            duplicate_of: None,
            submission: Some(PlotSubmission {
                survey_id: format!("test-c{n}"),
                device_id: crate::testing::DEVICE.into(),
                office_id: crate::testing::OFFICE.into(),
                name: format!("plot {n}"),
                surveyed_at: "2026-12-01T08:00:00Z".parse().unwrap(),
                corners,
                holes: vec![],
                area_m2: Some(checked.areas.area_m2),
                area_uncertainty_m2: None,
                warnings: vec![],
            }),
            checks: PlotChecks {
                report: report.clone(),
                precheck: None,
            },
        }
    }

    #[test]
    fn every_plot_arrives_once_through_failures_and_drops_and_a_4xx_is_parked() {
        let sim = upstream(&["--fail-rate", "0.3", "--drop-rate", "0.1", "--seed", "7"]);
        let dir = tempfile::tempdir().unwrap();
        let outbox = Arc::new(Mutex::new(
            Outbox::open(&dir.path().join("outbox.db")).unwrap(),
        ));
        let plots = 12;
        for n in 0..plots {
            outbox
                .lock()
                .unwrap()
                .insert(&new_plot(n, n == 5), Utc::now())
                .unwrap();
        }
        let health = Health::default();
        let mut uploader = Uploader::new(
            sim.client(),
            outbox.clone(),
            UploadSettings {
                backoff: Backoff {
                    base: Duration::from_millis(5),
                    cap: Duration::from_millis(40),
                },
            },
            Arc::new(Notify::new()),
            health.clone(),
        );
        uploader.rng = StdRng::seed_from_u64(7);
        let (stop_tx, stop) = watch::channel(false);
        let watched = outbox.clone();
        client_runtime().block_on(async move {
            let task = tokio::spawn(uploader.run(stop));
            // Until nothing is pending (bounded: the backoff is capped at 40 ms).
            for _ in 0..2000 {
                if watched.lock().unwrap().counts().unwrap().pending == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            stop_tx.send(true).unwrap();
            task.await.unwrap();
        });
        let outbox = outbox.lock().unwrap();
        let counts = outbox.counts().unwrap();
        assert_eq!(
            (counts.pending, counts.delivered, counts.rejected),
            (0, plots as u32 - 1, 1)
        );
        // Exactly once upstream: one record per delivered plot, under its own key.
        let upstream = sim.plots();
        assert_eq!(upstream.len(), plots - 1);
        let mut retried = 0;
        for summary in outbox.recent(100).unwrap() {
            let record = outbox.record(summary.id).unwrap().unwrap();
            retried += summary.attempts - 1;
            match summary.state {
                PlotState::Delivered => {
                    let id = summary.upstream_plot_id.clone().unwrap();
                    assert!(upstream.iter().any(|(_, p)| *p == id));
                    assert_eq!(record.receipt.unwrap().plot_id, id);
                    assert!(matches!(
                        record.attempts.last().unwrap().outcome.as_str(),
                        "delivered" | "replayed"
                    ));
                }
                PlotState::Rejected => {
                    assert_eq!(summary.name, "plot 5");
                    assert!(
                        summary
                            .rejection
                            .unwrap()
                            .starts_with("422 invalid_geometry")
                    );
                    // Tried until the upstream answered it, then never again.
                    assert_eq!(record.attempts.last().unwrap().outcome, "rejected");
                    assert_eq!(
                        record
                            .attempts
                            .iter()
                            .filter(|a| a.outcome == "rejected")
                            .count(),
                        1
                    );
                }
                other => panic!("plot {} left {other:?}", summary.id),
            }
        }
        assert!(
            retried > 0,
            "faults were injected, so some plots were retried"
        );
        let keys: std::collections::BTreeSet<&String> = upstream.iter().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), plots - 1);
        assert!(
            health.faults(crate::health::Part::Heartbeat).is_empty(),
            "a delivery after the last failure clears the fault: {:?}",
            health.faults(crate::health::Part::Heartbeat)
        );
    }
}
