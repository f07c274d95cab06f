//! What an officer reads of the outbox: `gps-bridge plots` (the recent plots and their
//! state), `gps-bridge show PLOT` (corners, area ± uncertainty, findings, the pre-check, the
//! delivery history) and `show --svg` (the plot drawn with what it overlaps). Chinese first,
//! English beside it. Read-only: the daemon may be running.

pub mod svg;

use std::fmt::Write;

use protocol::layers::Layer;

use crate::layers::index::{lonlat_shape, to_plane};
use crate::layers::{LayerCache, Plane, SitePlane};
use crate::outbox::{Outbox, PlotRecord, PlotState, PlotSummary};
use crate::plot::{FindingKind, PlotCorner, PlotReport, Severity, area};
use svg::{Neighbour, NeighbourKind};

/// The area as the officer reads it, with its uncertainty.
pub fn area_text(summary: &PlotSummary) -> String {
    match summary.area_m2 {
        Some(m2) => {
            let shown = area::shown_m2(m2, summary.area_sigma_m2);
            let mu = area::rounded(
                m2 / area::SQUARE_METRES_PER_MU,
                summary
                    .area_sigma_m2
                    .map(|s| s / area::SQUARE_METRES_PER_MU),
                4,
            );
            format!("{} ({mu} 亩)", shown.en)
        }
        None => "-".to_owned(),
    }
}

/// What is known of where the plot went: the upstream's id, its reason, the plot it repeats.
fn outcome(summary: &PlotSummary) -> String {
    match summary.state {
        PlotState::Delivered => summary.upstream_plot_id.clone().unwrap_or_default(),
        PlotState::Rejected => summary.rejection.clone().unwrap_or_default(),
        PlotState::Duplicate => summary
            .duplicate_of
            .map(|id| format!("重复地块 duplicate of {id}"))
            .unwrap_or_default(),
        PlotState::Pending if summary.attempts > 0 => {
            format!(
                "尝试 {} 次 {} attempts so far",
                summary.attempts, summary.attempts
            )
        }
        PlotState::Pending | PlotState::Refused => String::new(),
    }
}

/// `gps-bridge plots`: one line per plot, newest first.
pub fn plots_table(plots: &[PlotSummary]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<5} {:<24} {:<22} {:<28} 上游编号/原因 UPSTREAM ID / REASON",
        "编号", "名称 NAME", "状态 STATE", "面积 AREA"
    );
    for p in plots {
        let _ = writeln!(
            out,
            "{:<5} {:<24} {:<22} {:<28} {}",
            p.id,
            p.name,
            p.state.label(),
            area_text(p),
            outcome(p)
        );
    }
    if plots.is_empty() {
        out.push_str("(还没有地块 no plots yet)\n");
    }
    out
}

fn corner_line(c: &PlotCorner, zone: Option<u8>) -> String {
    let plane = match (c.plane, zone) {
        (Some(p), Some(zone)) => format!(
            "X {:.3}  Y {:.3}",
            p.northing_m,
            p.easting_m + f64::from(zone) * 1e6
        ),
        _ => "(未投影 not projected)".to_owned(),
    };
    let sigma = c
        .sigma_m
        .map_or_else(|| "σ ?".to_owned(), |s| format!("σ {s:.1} m"));
    format!(
        "  {:<6} {:.7}°N {:.7}°E  {plane}  {sigma}  {} fixes",
        c.name, c.lat, c.lon, c.fixes
    )
}

/// `gps-bridge show PLOT`.
pub fn show_text(record: &PlotRecord) -> String {
    let s = &record.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "地块 Plot {} \"{}\" — {}  {}",
        s.id,
        s.name,
        s.state.label(),
        outcome(s)
    );
    let report = &record.checks.report;
    let (zone, land, shell, holes) = match report {
        PlotReport::Checked(p) => (Some(p.zone.number()), p.land, &p.shell, &p.holes),
        PlotReport::Refused(p) => (p.zone.map(|z| z.number()), p.land, &p.shell, &p.holes),
    };
    let _ = writeln!(out, "面积 Area: {}", area_text(s));
    if let Some(areas) = report.areas() {
        let _ = writeln!(
            out,
            "  {:.4} ha; 椭球面积 on the ellipsoid {:.2} m²",
            areas.area_ha, areas.ellipsoid_area_m2
        );
    }
    let _ = writeln!(
        out,
        "带号 Zone {}; 地类 Land {} {}; 记录于 recorded {}",
        zone.map_or("?".to_owned(), |z| z.to_string()),
        land.zh(),
        land.en(),
        s.recorded_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(
        out,
        "界址点 Corners (X northing, Y easting with zone prefix):"
    );
    for c in shell {
        let _ = writeln!(out, "{}", corner_line(c, zone));
    }
    for (i, hole) in holes.iter().enumerate() {
        let _ = writeln!(out, "内环 Hole {}:", i + 1);
        for c in hole {
            let _ = writeln!(out, "{}", corner_line(c, zone));
        }
    }
    let findings = report.findings();
    let _ = writeln!(
        out,
        "检查 Findings:{}",
        if findings.is_empty() { " 无 none" } else { "" }
    );
    for f in findings {
        let severity = match f.severity {
            Severity::Warning => "警告 warning",
            Severity::Refusal => "拒绝 refusal",
        };
        let _ = writeln!(out, "  [{severity}] {}: {}", f.code(), f.zh);
        let _ = writeln!(out, "      {}", f.en);
    }
    match &record.checks.precheck {
        Some(pre) => {
            let _ = writeln!(
                out,
                "压覆预检 Overlap pre-check, against the cached layers:"
            );
            for layer in &pre.freshness {
                let synced = layer.synced_at.map_or_else(
                    || "从未完整同步 never fully synced".to_owned(),
                    |t| format!("synced {}", t.format("%Y-%m-%d %H:%M UTC")),
                );
                let _ = writeln!(
                    out,
                    "  {}: {} features, cursor {}, {synced}",
                    layer.layer.as_str(),
                    layer.features,
                    layer.cursor
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "压覆预检 Overlap pre-check: not run (the plot was refused)"
            );
        }
    }
    if let Some(receipt) = &record.receipt {
        let _ = writeln!(
            out,
            "上游 Upstream: plot {}, its area {:.2} m², {} overlaps",
            receipt.plot_id,
            receipt.area_m2,
            receipt.overlaps.len()
        );
        for o in &receipt.overlaps {
            let _ = writeln!(
                out,
                "  {} {} {} {:.2} m²",
                o.layer.as_str(),
                o.feature_id,
                o.name,
                o.area_m2
            );
        }
    }
    let _ = writeln!(
        out,
        "投递记录 Deliveries:{}",
        if record.attempts.is_empty() {
            " 无 none"
        } else {
            ""
        }
    );
    for a in &record.attempts {
        let _ = writeln!(
            out,
            "  {}  {:<9} {}",
            a.at.format("%Y-%m-%d %H:%M:%S%.3f"),
            a.outcome,
            a.detail
        );
    }
    out
}

fn rings_of(polygon: &geo::Polygon<f64>) -> Vec<Vec<(f64, f64)>> {
    std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .map(|ring| ring.0.iter().map(|c| (c.x, c.y)).collect())
        .collect()
}

/// What `show --svg` draws around the plot: the features its findings say it overlaps (from
/// the layer cache, projected into the plot's zone) and the earlier plots it duplicates or
/// overlaps (from the outbox). One that cannot be found any more is left out.
pub fn neighbours(
    record: &PlotRecord,
    outbox: &Outbox,
    layers: Option<&LayerCache>,
    plane: &SitePlane,
) -> anyhow::Result<Vec<Neighbour>> {
    let zone = match &record.checks.report {
        PlotReport::Checked(p) => Some(p.zone),
        PlotReport::Refused(p) => p.zone,
    };
    let Some(zone) = zone else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for finding in record.checks.report.findings() {
        let (layer, kind, id, label) = match &finding.kind {
            FindingKind::OverlapParcel {
                feature_id,
                name,
                overlap_m2,
                ..
            } => (
                Layer::Parcels,
                NeighbourKind::Parcel,
                feature_id,
                format!("宗地 {name} 压覆 {overlap_m2:.1} m²"),
            ),
            FindingKind::OverlapMiningRight {
                feature_id,
                name,
                overlap_m2,
                ..
            } => (
                Layer::MiningRights,
                NeighbourKind::MiningRight,
                feature_id,
                format!("采矿权 {name} 压覆 {overlap_m2:.1} m²"),
            ),
            FindingKind::DuplicateOf { plot_id, name, .. }
            | FindingKind::OverlapsPlot { plot_id, name, .. } => {
                let duplicate = matches!(finding.kind, FindingKind::DuplicateOf { .. });
                let Some(earlier) = plot_id
                    .parse()
                    .ok()
                    .and_then(|id| outbox.record(id).transpose())
                    .transpose()?
                else {
                    continue;
                };
                let shell = match &earlier.checks.report {
                    PlotReport::Checked(p) => &p.shell,
                    PlotReport::Refused(p) => &p.shell,
                };
                let ring: Option<Vec<(f64, f64)>> = shell
                    .iter()
                    .map(|c| plane.project(zone.number(), c.lon, c.lat))
                    .collect();
                if let Some(ring) = ring {
                    out.push(Neighbour {
                        kind: NeighbourKind::EarlierPlot,
                        label: format!(
                            "{} 地块 {plot_id} {name}",
                            if duplicate { "重复" } else { "重叠" }
                        ),
                        polygons: vec![vec![ring]],
                    });
                }
                continue;
            }
            _ => continue,
        };
        let Some(feature) = layers.map(|l| l.feature(layer, id)).transpose()?.flatten() else {
            continue;
        };
        let Some(shape) =
            lonlat_shape(&feature.geometry).and_then(|s| to_plane(&s, zone.number(), plane))
        else {
            continue;
        };
        out.push(Neighbour {
            kind,
            label,
            polygons: shape.0.iter().map(rings_of).collect(),
        });
    }
    Ok(out)
}
