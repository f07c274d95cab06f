//! The plot stage: each plot candidate the survey store records is checked (the plot module's
//! checks against the office's earlier plots, then the overlap pre-check against the cached
//! layers) and committed to the outbox — pending, refused or duplicate — before anything else
//! happens to it; the uploader is then woken.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::Utc;
use protocol::layers::Layer;
use protocol::plots::{Corner as WireCorner, PlotSubmission};
use tokio::sync::Notify;

use crate::health::{Health, Part};
use crate::layers::{LayerIndex, LayerOverlap, PlanePlot, PreCheck, SitePlane};
use crate::outbox::{NewPlot, Outbox, OutboxCounts, PlotChecks, PlotSummary};
use crate::plot::{
    CheckedPlot, Finding, FindingKind, PlotCorner, PlotReport, PlotSettings, Severity,
};
use crate::survey::{PlotCandidate, SurveyStore};

/// Who the bridge is upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub device_id: String,
    pub office_id: String,
}

/// What the checks use besides the candidate.
pub struct Checking {
    pub settings: PlotSettings,
    pub layers: Arc<RwLock<LayerIndex>>,
    pub plane: Arc<SitePlane>,
    /// Whether the layers are synced from an upstream: then a candidate recorded before the
    /// cache was ever synced waits for the first sync to end (well or not), so that the first
    /// plots of a new bridge are pre-checked against the layers rather than an empty cache.
    pub layers_from_upstream: bool,
}

pub struct PlotStage {
    pub outbox: Arc<Mutex<Outbox>>,
    pub wake: Arc<Notify>,
    pub identity: Identity,
    pub checking: Checking,
    pub health: Health,
    /// Candidates up to this id have a plot (or were checked and found to have one).
    checked_up_to: i64,
}

impl PlotStage {
    pub fn new(
        outbox: Arc<Mutex<Outbox>>,
        wake: Arc<Notify>,
        identity: Identity,
        checking: Checking,
        health: Health,
    ) -> Self {
        PlotStage {
            outbox,
            wake,
            identity,
            checking,
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
        if !self.layers_ready() {
            tracing::info!(
                candidate = candidate_id,
                "waiting for the first layer sync before checking"
            );
            return None;
        }
        let recorded = (|| {
            let mut outbox = self.outbox();
            if let Some(id) = outbox.plot_of_candidate(candidate_id)? {
                return outbox.summary_of(id);
            }
            let earlier = outbox.earlier_plots()?;
            let plot = plot_of(
                candidate_id,
                candidate,
                &self.checking,
                &earlier,
                &self.identity,
            );
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
                    tracing::info!(plot = s.id, candidate = candidate_id, state = s.state.as_str(), area_m2 = ?s.area_m2, "plot checked into the outbox");
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
}

impl PlotStage {
    fn layers_ready(&self) -> bool {
        let synced_before = self
            .checking
            .layers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .freshness()
            .iter()
            .any(|f| f.synced_at.is_some());
        !self.checking.layers_from_upstream || synced_before || self.health.layers_were_tried()
    }
}

/// The plot in the plane as the pre-check takes it.
pub fn plane_plot(plot: &CheckedPlot) -> Option<PlanePlot> {
    let ring = |corners: &[PlotCorner]| -> Option<geo::LineString<f64>> {
        corners
            .iter()
            .map(|c| c.plane.map(|p| (p.easting_m, p.northing_m)))
            .collect::<Option<Vec<_>>>()
            .map(geo::LineString::from)
    };
    let holes = plot
        .holes
        .iter()
        .map(|h| ring(h))
        .collect::<Option<Vec<_>>>()?;
    let polygon = geo::Polygon::new(ring(&plot.shell)?, holes);
    let lonlat: geo::MultiPoint<f64> = plot.shell.iter().map(|c| (c.lon, c.lat)).collect();
    Some(PlanePlot {
        zone: plot.zone.number(),
        polygon,
        lonlat_bounds: geo::BoundingRect::bounding_rect(&lonlat)?,
    })
}

fn overlap_finding(overlap: &LayerOverlap) -> Finding {
    let (feature_id, name, holder, overlap_m2) = (
        overlap.feature_id.clone(),
        overlap.name.clone(),
        overlap.holder.clone(),
        overlap.area_m2,
    );
    Finding::new(match overlap.layer {
        Layer::Parcels => FindingKind::OverlapParcel {
            feature_id,
            name,
            holder,
            overlap_m2,
        },
        Layer::MiningRights => FindingKind::OverlapMiningRight {
            feature_id,
            name,
            holder,
            overlap_m2,
        },
    })
}

fn wire(corners: &[PlotCorner]) -> Vec<WireCorner> {
    corners
        .iter()
        .map(|c| WireCorner {
            name: c.name.clone(),
            lon: c.lon,
            lat: c.lat,
            sigma_m: c.sigma_m,
            fixes: c.fixes,
        })
        .collect()
}

/// The earlier plot a refused report duplicates, if that is its only refusal.
fn duplicate_of(report: &PlotReport) -> Option<i64> {
    let refusals: Vec<&Finding> = report
        .findings()
        .iter()
        .filter(|f| f.severity == Severity::Refusal)
        .collect();
    match refusals.as_slice() {
        [
            Finding {
                kind: FindingKind::DuplicateOf { plot_id, .. },
                ..
            },
        ] => plot_id.parse().ok(),
        _ => None,
    }
}

/// Checks a candidate: the plot module's checks, then for a plot that passed them the
/// pre-check, whose overlaps join its warnings; and what to send, if anything.
pub fn plot_of(
    candidate_id: i64,
    candidate: &PlotCandidate,
    checking: &Checking,
    earlier: &[crate::plot::EarlierPlot],
    identity: &Identity,
) -> NewPlot {
    let mut report = crate::plot::check(candidate, &checking.settings, earlier);
    let mut precheck: Option<PreCheck> = None;
    if let PlotReport::Checked(plot) = &mut report
        && let Some(plane_plot) = plane_plot(plot)
    {
        let found = checking
            .layers
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .precheck(&plane_plot, checking.plane.as_ref());
        plot.findings
            .extend(found.overlaps.iter().map(overlap_finding));
        precheck = Some(found);
    }
    let submission = report.checked().map(|plot| PlotSubmission {
        survey_id: format!("{}-c{candidate_id}", identity.device_id),
        device_id: identity.device_id.clone(),
        office_id: identity.office_id.clone(),
        name: plot.name.clone(),
        surveyed_at: Utc::now(),
        corners: wire(&plot.shell),
        holes: plot.holes.iter().map(|h| wire(h)).collect(),
        area_m2: Some(plot.areas.area_m2),
        area_uncertainty_m2: plot.areas.area_sigma_m2,
        warnings: plot
            .findings
            .iter()
            .map(|f| format!("{}: {}", f.code(), f.zh))
            .collect(),
    });
    let areas = report.areas();
    NewPlot {
        candidate_id,
        name: candidate.name.clone(),
        area_m2: areas.map(|a| a.area_m2),
        area_sigma_m2: areas.and_then(|a| a.area_sigma_m2),
        duplicate_of: duplicate_of(&report),
        submission,
        checks: PlotChecks { report, precheck },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::LayerCache;
    use crate::layers::index::tests::upsert;
    use crate::outbox::PlotState;
    use crate::plot::testing::{candidate, corner_at, rectangle, settings};
    use protocol::layers::LayerChangesPage;

    const LON: f64 = 112.73;
    const LAT: f64 = 25.75;

    fn stage(dir: &std::path::Path, features: Vec<protocol::layers::FeatureChange>) -> PlotStage {
        let plane = Arc::new(SitePlane::new(crate::plot::ZoneChoice::Auto));
        let mut cache = LayerCache::open(&dir.join("layers.db"), plane.as_ref()).unwrap();
        let next_after = features.last().map_or(0, |c| c.seq());
        let applied = cache
            .apply_page(
                LayerChangesPage {
                    layer: Layer::Parcels,
                    changes: features,
                    next_after,
                    has_more: false,
                },
                plane.as_ref(),
                Utc::now(),
            )
            .unwrap();
        let mut index = LayerIndex::build(Vec::new(), Vec::new());
        index.apply(applied, cache.freshness().unwrap());
        PlotStage::new(
            Arc::new(Mutex::new(Outbox::open(&dir.join("outbox.db")).unwrap())),
            Arc::new(Notify::new()),
            Identity {
                device_id: "bridge-zs-01".into(),
                office_id: "hn-gyx-zsz".into(),
            },
            Checking {
                settings: settings(),
                layers: Arc::new(RwLock::new(index)),
                plane,
                layers_from_upstream: false,
            },
            Health::default(),
        )
    }

    fn ring(corners: &[crate::survey::Corner]) -> Vec<[f64; 2]> {
        let mut ring: Vec<[f64; 2]> = corners.iter().map(|c| [c.lon, c.lat]).collect();
        ring.push(ring[0]);
        ring
    }

    #[test]
    fn a_plot_is_checked_prechecked_and_queued_and_a_second_survey_is_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        // A parcel under the east half of a 12 × 10 m plot.
        let parcel = ring(&rectangle(
            corner_at("x", LON, LAT, 6.0, 0.0).lon,
            LAT,
            20.0,
            10.0,
        ));
        let mut stage = stage(dir.path(), vec![upsert(1, "431021001JC00001", parcel)]);
        let plot = candidate(rectangle(LON, LAT, 12.0, 10.0));
        let summary = stage.check(1, &plot).unwrap();
        assert_eq!(summary.state, PlotState::Pending);
        assert!(
            (summary.area_m2.unwrap() - 120.0).abs() < 0.5,
            "{summary:?}"
        );
        assert!(summary.area_sigma_m2.unwrap() > 10.0, "σ = 3 m corners");
        let record = stage.outbox().record(summary.id).unwrap().unwrap();
        let findings = record.checks.report.findings();
        let overlap = findings
            .iter()
            .find(|f| f.code() == "overlap_parcel")
            .expect("the pre-check's overlap is a finding");
        assert!(overlap.zh.contains("431021001JC00001"), "{}", overlap.zh);
        let FindingKind::OverlapParcel { overlap_m2, .. } = overlap.kind else {
            unreachable!()
        };
        assert!((overlap_m2 - 60.0).abs() < 0.5, "{overlap_m2}");
        let precheck = record.checks.precheck.unwrap();
        assert!(precheck.freshness[0].synced_at.is_some());
        let sent = record.submission.unwrap();
        assert_eq!(sent.corners.len(), 4);
        assert_eq!(sent.area_m2, summary.area_m2);
        assert!(
            sent.warnings
                .iter()
                .any(|w| w.starts_with("overlap_parcel: "))
        );

        // Checked again (a restart before the candidate was marked done): the same plot.
        assert_eq!(stage.check(1, &plot).unwrap().id, summary.id);
        // The same homestead surveyed again: a duplicate, kept, never sent.
        let again = stage.check(2, &plot).unwrap();
        assert_eq!(
            (again.state, again.duplicate_of),
            (PlotState::Duplicate, Some(summary.id))
        );
        assert!(
            stage
                .outbox()
                .record(again.id)
                .unwrap()
                .unwrap()
                .submission
                .is_none()
        );
    }

    #[test]
    fn a_refused_plot_is_kept_with_its_input_and_never_queued() {
        let dir = tempfile::tempdir().unwrap();
        let mut stage = stage(dir.path(), Vec::new());
        let collinear = candidate(vec![
            corner_at("J1", LON, LAT, 0.0, 0.0),
            corner_at("J2", LON, LAT, 10.0, 0.0),
            corner_at("J3", LON, LAT, 20.0, 0.0),
        ]);
        let summary = stage.check(1, &collinear).unwrap();
        assert_eq!(summary.state, PlotState::Refused);
        let record = stage.outbox().record(summary.id).unwrap().unwrap();
        assert!(record.submission.is_none());
        let PlotReport::Refused(refused) = &record.checks.report else {
            panic!("{:?}", record.checks.report)
        };
        assert_eq!(refused.shell.len(), 3, "the corners as given are kept");
        assert!(refused.findings.iter().any(Finding::is_refusal));
        assert_eq!(stage.outbox().next_due(Utc::now()).unwrap(), None);
    }

    #[test]
    fn a_new_bridges_first_plot_waits_for_the_first_layer_sync_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut stage = stage(dir.path(), Vec::new());
        // `stage` syncs its layers; a cache never synced from a configured upstream waits.
        stage.checking.layers = Arc::new(RwLock::new(LayerIndex::default()));
        stage.checking.layers_from_upstream = true;
        let plot = candidate(rectangle(LON, LAT, 12.0, 10.0));
        assert_eq!(stage.check(1, &plot), None);
        assert_eq!(stage.counts().unwrap().pending, 0);
        // The first sync ended (here: it failed, the upstream being away): check from the cache.
        stage.health.layers_tried();
        assert_eq!(stage.check(1, &plot).unwrap().state, PlotState::Pending);
    }

    #[test]
    fn candidates_recorded_elsewhere_are_caught_up_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SurveyStore::open(&dir.path().join("survey.db")).unwrap();
        let mut stage = stage(dir.path(), Vec::new());
        for i in 0..3 {
            let plot = candidate(rectangle(LON + f64::from(i) * 0.01, LAT, 12.0, 10.0));
            store.insert_candidate(&plot).unwrap();
        }
        stage.catch_up(&store);
        stage.catch_up(&store);
        let counts = stage.counts().unwrap();
        assert_eq!(counts.pending, 3);
    }
}
