//! The plot stage: each plot candidate the survey store records is checked (the plot module's
//! checks against the office's earlier plots, then the overlap pre-check against the cached
//! layers) and committed to the outbox — pending, refused or duplicate — before anything else
//! happens to it; the uploader is then woken.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use protocol::layers::Layer;
use protocol::plots::{Corner as WireCorner, MAX_WARNING_LEN, MAX_WARNINGS, PlotSubmission};
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
                let recorded = store
                    .candidate(id)
                    .and_then(|candidate| Ok(candidate.zip(store.candidate_recorded_at(id)?)));
                let (candidate, recorded_at) = match recorded {
                    Ok(Some(recorded)) => recorded,
                    Ok(None) => continue,
                    Err(e) => {
                        self.health.fault(Part::Plots, format!("{e:#}"));
                        return;
                    }
                };
                if self.check_recorded(id, &candidate, recorded_at).is_none() {
                    return;
                }
            }
            self.checked_up_to = id;
        }
    }

    /// Checks one candidate recorded just now into the outbox; its summary, or `None` if it
    /// could not be recorded (the fault is reported, and [`PlotStage::catch_up`] tries again).
    pub fn check(&mut self, candidate_id: i64, candidate: &PlotCandidate) -> Option<PlotSummary> {
        self.check_recorded(candidate_id, candidate, Utc::now())
    }

    /// [`PlotStage::check`] for a candidate the survey store recorded at `recorded_at` (an
    /// import while no daemon ran, a plot left waiting for the layers): the upstream is told
    /// when it was surveyed, not when it was checked.
    pub fn check_recorded(
        &mut self,
        candidate_id: i64,
        candidate: &PlotCandidate,
        recorded_at: DateTime<Utc>,
    ) -> Option<PlotSummary> {
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
                recorded_at,
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
    /// Whether the pre-check can run: every layer was synced to its end before (by an
    /// earlier run), or this run's first sync of them all has ended. One layer synced is not
    /// enough: a plot checked between the parcels' end and the mining rights' would say it
    /// overlaps no mining right because none was cached yet.
    fn layers_ready(&self) -> bool {
        let index = self
            .checking
            .layers
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let synced_before = Layer::ALL.iter().all(|layer| {
            index
                .freshness()
                .iter()
                .any(|f| f.layer == *layer && f.synced_at.is_some())
        });
        drop(index);
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

/// The warnings as the contract takes them (`code: 中文`), within its limits: at most
/// [`MAX_WARNINGS`], each at most [`MAX_WARNING_LEN`] bytes. A plot with more (a large plot
/// over many parcels, say) is still delivered: the last line says how many more there are,
/// and the outbox keeps them all. Beyond the limits the upstream would refuse the plot for
/// good.
fn wire_warnings(findings: &[Finding]) -> Vec<String> {
    let line = |f: &Finding| {
        let mut text = format!("{}: {}", f.code(), f.zh);
        if text.len() > MAX_WARNING_LEN {
            let mut end = MAX_WARNING_LEN - "…".len();
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        text
    };
    if findings.len() <= MAX_WARNINGS {
        return findings.iter().map(line).collect();
    }
    let kept = MAX_WARNINGS - 1;
    let mut lines: Vec<String> = findings[..kept].iter().map(line).collect();
    lines.push(format!(
        "more_warnings: 另有{}项警告，见网桥记录 ({} more warnings in the bridge's record)",
        findings.len() - kept,
        findings.len() - kept
    ));
    lines
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
    surveyed_at: DateTime<Utc>,
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
        surveyed_at,
        corners: wire(&plot.shell),
        holes: plot.holes.iter().map(|h| wire(h)).collect(),
        area_m2: Some(plot.areas.area_m2),
        area_uncertainty_m2: plot.areas.area_sigma_m2,
        warnings: wire_warnings(&plot.findings),
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
    fn the_warnings_sent_keep_within_the_contracts_limits() {
        let overlap = |i: usize| {
            Finding::new(FindingKind::OverlapParcel {
                feature_id: format!("431021001JC{i:05}"),
                name: "宗".repeat(if i == 0 { 600 } else { 5 }),
                holder: "王*".into(),
                overlap_m2: 1.0,
            })
        };
        let few: Vec<Finding> = (0..3).map(overlap).collect();
        let sent = wire_warnings(&few);
        assert_eq!(sent.len(), 3);
        // A name of 600 Chinese characters is cut at a character, within the limit.
        assert!(
            sent[0].len() <= MAX_WARNING_LEN && sent[0].ends_with('…'),
            "{}",
            sent[0].len()
        );
        assert!(sent[1].starts_with("overlap_parcel: 压覆已登记宗地宗宗宗宗宗（431021001JC00001"));
        let many: Vec<Finding> = (0..250).map(overlap).collect();
        let sent = wire_warnings(&many);
        assert_eq!(sent.len(), MAX_WARNINGS);
        assert!(sent[MAX_WARNINGS - 2].contains("431021001JC00098"));
        assert_eq!(
            sent[MAX_WARNINGS - 1],
            "more_warnings: 另有151项警告，见网桥记录 (151 more warnings in the bridge's record)"
        );
        // What is sent is what the upstream takes.
        let dir = tempfile::tempdir().unwrap();
        let mut stage = stage(dir.path(), Vec::new());
        let plot = stage
            .check(1, &candidate(rectangle(LON, LAT, 12.0, 10.0)))
            .unwrap();
        let record = stage.outbox().record(plot.id).unwrap().unwrap();
        let mut submission = record.submission.unwrap();
        submission.warnings = sent;
        submission.validate_fields(Utc::now()).unwrap();
        submission.warnings.push("one too many".into());
        assert!(submission.validate_fields(Utc::now()).is_err());
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
        stage.checking.layers_from_upstream = true;
        let plot = candidate(rectangle(LON, LAT, 12.0, 10.0));
        // `stage` synced the parcels to their end, not yet the mining rights: it waits.
        let layers = stage.checking.layers.read().unwrap().freshness().to_vec();
        assert!(layers.iter().any(|f| f.synced_at.is_some()), "{layers:?}");
        assert!(layers.iter().any(|f| f.synced_at.is_none()), "{layers:?}");
        assert_eq!(stage.check(1, &plot), None);
        // A cache never synced from a configured upstream waits too.
        stage.checking.layers = Arc::new(RwLock::new(LayerIndex::default()));
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
            let id = store.insert_candidate(&plot).unwrap();
            // Imported on a morning while no daemon ran.
            store.set_recorded_at(id, &format!("2026-11-30T08:0{i}:00.000Z"));
        }
        stage.catch_up(&store);
        stage.catch_up(&store);
        let counts = stage.counts().unwrap();
        assert_eq!(counts.pending, 3);
        // Each is sent as surveyed when the store recorded it, not when it was checked.
        for id in store.candidate_ids().unwrap() {
            let plot = stage.outbox().plot_of_candidate(id).unwrap().unwrap();
            let sent = stage
                .outbox()
                .record(plot)
                .unwrap()
                .unwrap()
                .submission
                .unwrap();
            let recorded = store.candidate_recorded_at(id).unwrap().unwrap();
            assert_eq!(sent.surveyed_at, recorded);
            assert_eq!(recorded.date_naive().to_string(), "2026-11-30");
        }
    }
}
