//! The plot stage: each plot candidate the survey store records is checked and committed to
//! the outbox (pending, refused or duplicate) before anything else happens to it; the
//! uploader is then woken.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use protocol::plots::{Corner as WireCorner, PlotSubmission};
use tokio::sync::Notify;

use crate::health::{Health, Part};
use crate::outbox::{NewPlot, Outbox, OutboxCounts, PlotSummary};
use crate::survey::{PlotCandidate, SurveyStore};

/// Who the bridge is upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub device_id: String,
    pub office_id: String,
}

pub struct PlotStage {
    pub outbox: Arc<Mutex<Outbox>>,
    pub wake: Arc<Notify>,
    pub identity: Identity,
    pub health: Health,
    /// Candidates up to this id have a plot (or were checked and found to have one).
    checked_up_to: i64,
}

impl PlotStage {
    pub fn new(
        outbox: Arc<Mutex<Outbox>>,
        wake: Arc<Notify>,
        identity: Identity,
        health: Health,
    ) -> Self {
        PlotStage {
            outbox,
            wake,
            identity,
            health,
            checked_up_to: 0,
        }
    }

    fn outbox(&self) -> std::sync::MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn counts(&self) -> anyhow::Result<OutboxCounts> {
        self.outbox().counts()
    }

    /// Checks every candidate after the last one checked that has no plot yet, in order; a
    /// candidate that cannot be checked now (the outbox failing) stops the round, to be tried
    /// again on the next.
    pub fn catch_up(&mut self, store: &SurveyStore) {
        let ids = match store.candidate_ids_after(self.checked_up_to) {
            Ok(ids) => ids,
            Err(e) => {
                self.health.fault(Part::Plots, format!("{e:#}"));
                return;
            }
        };
        for id in ids {
            let done = match self.outbox().plot_of_candidate(id) {
                Ok(plot) => plot.is_some(),
                Err(e) => {
                    self.health.fault(Part::Plots, format!("{e:#}"));
                    return;
                }
            };
            if !done {
                let candidate = match store.candidate(id) {
                    Ok(Some(candidate)) => candidate,
                    Ok(None) => continue,
                    Err(e) => {
                        self.health.fault(Part::Plots, format!("{e:#}"));
                        return;
                    }
                };
                if self.check(id, &candidate).is_none() {
                    return;
                }
            }
            self.checked_up_to = id;
        }
    }

    /// Checks one candidate into the outbox; its summary, or `None` if it could not be
    /// recorded (the fault is reported, and [`PlotStage::catch_up`] tries again).
    pub fn check(&mut self, candidate_id: i64, candidate: &PlotCandidate) -> Option<PlotSummary> {
        let plot = self.plot(candidate_id, candidate);
        let recorded = (|| {
            let mut outbox = self.outbox();
            let id = match outbox.insert(&plot, Utc::now())? {
                Some(id) => id,
                None => outbox
                    .plot_of_candidate(candidate_id)?
                    .ok_or_else(|| anyhow::anyhow!("candidate {candidate_id} has no plot"))?,
            };
            outbox.summary_of(id)
        })();
        match recorded {
            Ok(summary) => {
                self.health.clear(Part::Plots);
                self.wake.notify_one();
                if let Some(s) = &summary {
                    tracing::info!(
                        plot = s.id,
                        candidate = candidate_id,
                        state = s.state.as_str(),
                        "plot checked into the outbox"
                    );
                }
                summary
            }
            Err(e) => {
                tracing::error!(candidate = candidate_id, error = %format!("{e:#}"), "cannot record a checked plot");
                self.health.fault(Part::Plots, format!("{e:#}"));
                None
            }
        }
    }

    fn plot(&self, candidate_id: i64, candidate: &PlotCandidate) -> NewPlot {
        let wire = |c: &crate::survey::Corner| WireCorner {
            name: c.name.clone(),
            lon: c.lon,
            lat: c.lat,
            sigma_m: c.sigma_m,
            fixes: c.fixes,
        };
        NewPlot {
            candidate_id,
            name: candidate.name.clone(),
            report: "{}".to_owned(),
            area_m2: None,
            area_sigma_m2: None,
            duplicate_of: None,
            submission: Some(PlotSubmission {
                survey_id: format!("{}-c{candidate_id}", self.identity.device_id),
                device_id: self.identity.device_id.clone(),
                office_id: self.identity.office_id.clone(),
                name: candidate.name.clone(),
                surveyed_at: Utc::now(),
                corners: candidate.corners.iter().map(wire).collect(),
                holes: vec![],
                area_m2: None,
                area_uncertainty_m2: None,
                warnings: vec![],
            }),
        }
    }
}
