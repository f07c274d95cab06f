//! What an officer reads of the outbox: `gps-bridge plots` (the recent plots and their
//! state), `gps-bridge show PLOT` (corners, area ± uncertainty, findings, the pre-check, the
//! delivery history) and `show --svg` (the plot drawn with what it overlaps). Chinese first,
//! English beside it. Read-only: the daemon may be running.

pub mod svg;

use std::fmt::Write;

use chrono::{DateTime, Local, Utc};
use protocol::layers::Layer;
use unicode_width::UnicodeWidthStr;

use crate::layers::index::{lonlat_shape, to_plane};
use crate::layers::{LayerCache, Plane, SitePlane};
use crate::outbox::{Outbox, PlotRecord, PlotState, PlotSummary};
use crate::plot::{FindingKind, PlotCorner, PlotReport, Severity, area};
use svg::{Neighbour, NeighbourKind};

/// The area as the officer reads it, with its uncertainty: Chinese, English.
fn area_shown(summary: &PlotSummary) -> Option<area::Shown> {
    summary
        .area_m2
        .map(|m2| area::shown(m2, summary.area_sigma_m2))
}

/// A time as the officer reads it: the machine's local time, with its offset.
fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// What is known of where the plot went: the upstream's id, its reason, the plot it repeats,
/// why the checks refused it.
fn outcome(summary: &PlotSummary) -> String {
    match summary.state {
        PlotState::Delivered => summary.upstream_plot_id.clone().unwrap_or_default(),
        PlotState::Rejected => summary.rejection.clone().unwrap_or_default(),
        PlotState::Duplicate => summary
            .duplicate_of
            .map(|id| format!("与地块 {id} 重复 duplicate of {id}"))
            .unwrap_or_default(),
        PlotState::Refused => summary
            .refusal
            .as_ref()
            .map(|f| f.zh.clone())
            .unwrap_or_default(),
        PlotState::Pending if summary.attempts > 0 => {
            format!(
                "已尝试 {} 次，将重试 {} attempts so far",
                summary.attempts, summary.attempts
            )
        }
        PlotState::Pending => String::new(),
    }
}

/// `text` padded with spaces to `width` terminal columns (a Chinese character takes two).
fn padded(text: &str, width: usize) -> String {
    let columns = UnicodeWidthStr::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(columns)))
}

/// `gps-bridge plots`: one line per plot, newest first.
pub fn plots_table(plots: &[PlotSummary]) -> String {
    let names = plots
        .iter()
        .map(|p| UnicodeWidthStr::width(p.name.as_str()))
        .chain([10])
        .max()
        .unwrap_or(10)
        .min(40);
    let areas: Vec<String> = plots
        .iter()
        .map(|p| area_shown(p).map_or_else(|| "-".to_owned(), |a| a.zh))
        .collect();
    let area_width = areas
        .iter()
        .map(|a| UnicodeWidthStr::width(a.as_str()))
        .chain([10])
        .max()
        .unwrap_or(10);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} {} {} 上游编号或原因 UPSTREAM ID / REASON",
        padded("编号", 5),
        padded("名称 NAME", names),
        padded("状态 STATE", 20),
        padded("面积 AREA", area_width),
    );
    for (p, area) in plots.iter().zip(&areas) {
        let _ = writeln!(
            out,
            "{} {} {} {} {}",
            padded(&p.id.to_string(), 5),
            padded(&p.name, names),
            padded(&p.state.label(), 20),
            padded(area, area_width),
            outcome(p)
        );
    }
    if plots.is_empty() {
        out.push_str("（还没有地块 no plots yet）\n");
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
        _ => "（未投影 not projected）".to_owned(),
    };
    let sigma = c.sigma_m.map_or_else(
        || "误差未知 σ unknown".to_owned(),
        |s| format!("误差 σ {s:.1} m"),
    );
    format!(
        "  {}  北纬 {:.7}° 东经 {:.7}°  {plane}  {sigma}  {} 次定位 fixes",
        padded(&c.name, 6),
        c.lat,
        c.lon,
        c.fixes
    )
}

/// A delivery attempt's outcome: Chinese, then its name.
fn attempt_outcome(outcome: &str) -> String {
    let zh = match outcome {
        "delivered" => "已送达",
        "replayed" => "已送达（上游已有）",
        "rejected" => "被退回",
        "failed" => "失败，将重试",
        _ => "",
    };
    format!("{zh} {outcome}")
}

fn layer_name(layer: Layer) -> &'static str {
    match layer {
        Layer::Parcels => "宗地 parcels",
        Layer::MiningRights => "采矿权 mining rights",
    }
}

/// `gps-bridge show PLOT`.
pub fn show_text(record: &PlotRecord) -> String {
    let s = &record.summary;
    let mut out = String::new();
    let outcome = match (s.state, outcome(s)) {
        (_, o) if o.is_empty() => o,
        (PlotState::Delivered, id) => format!("，上游编号 upstream id {id}"),
        (PlotState::Rejected, why) => format!("，上游退回原因 the upstream's reason: {why}"),
        (_, o) => format!("，{o}"),
    };
    let _ = writeln!(
        out,
        "地块 Plot {} “{}”：{}{outcome}",
        s.id,
        s.name,
        s.state.label(),
    );
    let report = &record.checks.report;
    let (zone, land, shell, holes) = match report {
        PlotReport::Checked(p) => (Some(p.zone.number()), p.land, &p.shell, &p.holes),
        PlotReport::Refused(p) => (p.zone.map(|z| z.number()), p.land, &p.shell, &p.holes),
    };
    match area_shown(s) {
        Some(shown) => {
            let _ = writeln!(out, "面积 Area：{} / {}", shown.zh, shown.en);
        }
        None => {
            let _ = writeln!(out, "面积 Area：未计算 not computed");
        }
    }
    if let Some(areas) = report.areas() {
        let _ = writeln!(
            out,
            "  {:.4} 公顷 ha；椭球面积 on the ellipsoid {:.2} 平方米 m²",
            areas.area_ha, areas.ellipsoid_area_m2
        );
    }
    let _ = writeln!(
        out,
        "带号 Zone {}；地类 Land {} {}；记录于 recorded {}",
        zone.map_or("未定 unknown".to_owned(), |z| z.to_string()),
        land.zh(),
        land.en(),
        local(s.recorded_at)
    );
    if shell.is_empty() {
        let _ = writeln!(out, "界址点 Corners：无 none");
    } else {
        let _ = writeln!(
            out,
            "界址点 Corners（X 为北坐标 northing，Y 为东坐标 easting，前两位为带号 zone prefix）："
        );
    }
    for c in shell {
        let _ = writeln!(out, "{}", corner_line(c, zone));
    }
    for (i, hole) in holes.iter().enumerate() {
        let _ = writeln!(out, "内环（扣除部分）Hole {}：", i + 1);
        for c in hole {
            let _ = writeln!(out, "{}", corner_line(c, zone));
        }
    }
    let findings = report.findings();
    let _ = writeln!(
        out,
        "检查 Findings：{}",
        if findings.is_empty() { "无 none" } else { "" }
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
                "压覆预检 Overlap pre-check（按本地缓存的图层 against the cached layers）："
            );
            for layer in &pre.freshness {
                let synced = layer.synced_at.map_or_else(
                    || "从未完整同步 never fully synced".to_owned(),
                    |t| format!("同步于 synced {}", local(t)),
                );
                let _ = writeln!(
                    out,
                    "  {}：{} 个要素 features，游标 cursor {}，{synced}",
                    layer_name(layer.layer),
                    layer.features,
                    layer.cursor
                );
            }
        }
        None => {
            let _ = writeln!(
                out,
                "压覆预检 Overlap pre-check：未进行（地块未通过检查） not run (the plot was refused)"
            );
        }
    }
    if let Some(receipt) = &record.receipt {
        let _ = writeln!(
            out,
            "上游 Upstream：地块 plot {}，上游计算面积 its area {:.2} 平方米 m²，压覆 {} 处 overlaps",
            receipt.plot_id,
            receipt.area_m2,
            receipt.overlaps.len()
        );
        for o in &receipt.overlaps {
            let _ = writeln!(
                out,
                "  {} {} {} {:.2} 平方米 m²",
                layer_name(o.layer),
                o.feature_id,
                o.name,
                o.area_m2
            );
        }
    }
    let _ = writeln!(
        out,
        "投递记录 Deliveries：{}",
        if record.attempts.is_empty() {
            "无 none"
        } else {
            ""
        }
    );
    for a in &record.attempts {
        let _ = writeln!(
            out,
            "  {}  {}  {}",
            local(a.at),
            attempt_outcome(&a.outcome),
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
                format!("压覆宗地 {name}：{overlap_m2:.1} 平方米"),
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
                format!("压覆采矿权 {name}：{overlap_m2:.1} 平方米"),
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
                            "与地块 {plot_id}“{name}”{}",
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

#[cfg(test)]
pub(crate) mod testing {
    //! Outbox records for the views' tests.

    use super::*;
    use crate::outbox::PlotChecks;
    use crate::plot::testing::{candidate, settings};
    use crate::plot::{Finding, check};

    /// A plot in the outbox as `report` says, recorded on 2026-12-01.
    pub(crate) fn record(id: i64, name: &str, state: PlotState, report: PlotReport) -> PlotRecord {
        let areas = report.areas().copied();
        let refusal = report.findings().iter().find(|f| f.is_refusal()).cloned();
        let warnings = report.findings().iter().filter(|f| !f.is_refusal()).count() as u32;
        PlotRecord {
            summary: PlotSummary {
                id,
                candidate_id: id,
                name: name.to_owned(),
                state,
                area_m2: areas.map(|a| a.area_m2),
                area_sigma_m2: areas.and_then(|a| a.area_sigma_m2),
                duplicate_of: None,
                recorded_at: "2026-12-01T08:00:00Z".parse().unwrap(),
                attempts: 0,
                upstream_plot_id: None,
                delivered_at: None,
                rejection: None,
                refusal,
                warnings,
            },
            checks: PlotChecks {
                report,
                precheck: None,
            },
            submission: None,
            receipt: None,
            attempts: Vec::new(),
        }
    }

    /// A TXT import that could not be read, as the checks report it.
    pub(crate) fn unreadable() -> PlotReport {
        let mut file = candidate(Vec::new());
        file.findings = vec![Finding::new(FindingKind::FileUnreadable {
            format: "txt".into(),
            line: Some(16),
            reason_zh: "界址点行应有点号、圈号、X、Y共4项，此行有3项".into(),
            reason_en: "a point line needs point, ring, X, Y; this one has 3 fields".into(),
        })];
        check(&file, &settings(), &[])
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{record, unreadable};
    use super::*;
    use crate::outbox::Attempt;
    use crate::plot::check;
    use crate::plot::testing::{candidate, rectangle, settings};

    #[test]
    fn the_plots_table_lines_up_chinese_names_and_says_why_a_plot_was_refused() {
        let checked = check(
            &candidate(rectangle(112.73, 25.75, 12.0, 10.0)),
            &settings(),
            &[],
        );
        let mut delivered = record(2, "王家宅基地", PlotState::Delivered, checked).summary;
        delivered.upstream_plot_id = Some("PL20261201-000001".into());
        let refused = record(1, "broken.txt", PlotState::Refused, unreadable()).summary;
        let table = plots_table(&[delivered, refused]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3, "{table}");
        // Every column starts at the same terminal column, whatever the names' script.
        let column = |line: &str, needle: &str| {
            let at = line
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} in {line}"));
            UnicodeWidthStr::width(&line[..at])
        };
        assert_eq!(column(lines[0], "状态"), column(lines[1], "已送达"));
        assert_eq!(column(lines[1], "已送达"), column(lines[2], "未通过检查"));
        assert!(lines[1].contains("120 ± 30 平方米") && lines[1].ends_with("PL20261201-000001"));
        assert!(
            lines[2].ends_with("国土坐标TXT文件第16行无法读取：界址点行应有点号、圈号、X、Y共4项，此行有3项。文件已原样保存，不会上传；请改正后重新导入。"),
            "{}",
            lines[2]
        );
        assert!(plots_table(&[]).contains("还没有地块 no plots yet"));
    }

    #[test]
    fn show_says_what_an_officer_checks_chinese_first() {
        let checked = check(
            &candidate(rectangle(112.73, 25.75, 15.0, 20.0)),
            &settings(),
            &[],
        );
        let mut plot = record(3, "王家", PlotState::Pending, checked);
        plot.summary.attempts = 1;
        plot.attempts = vec![Attempt {
            at: "2026-12-01T08:00:05Z".parse().unwrap(),
            outcome: "failed".into(),
            detail: "connection failed: refused".into(),
        }];
        let text = show_text(&plot);
        for expected in [
            "地块 Plot 3 “王家”：待上传 pending，已尝试 1 次，将重试",
            "面积 Area：300 ± 50 平方米（0.45 ± 0.08 亩） / 300 ± 50 m² (0.45 ± 0.08 mu)",
            "椭球面积 on the ellipsoid",
            "带号 Zone 38；地类 Land 其他土地 other land",
            "X 为北坐标 northing，Y 为东坐标 easting",
            "  J1      北纬 25.7500000° 东经 112.7300000°  X 2849751.651  Y 38372576.044  误差 σ 3.0 m  30 次定位 fixes",
            "[警告 warning] area_over_limit: 面积300 ± 50 平方米，超过其他土地宅基地限额180平方米",
            "      The area 300 ± 50 m² exceeds the limit of 180 m²",
            "失败，将重试 failed  connection failed: refused",
        ] {
            assert!(text.contains(expected), "{expected:?} in\n{text}");
        }
        let refused = show_text(&record(1, "broken.txt", PlotState::Refused, unreadable()));
        for expected in [
            "地块 Plot 1 “broken.txt”：未通过检查 refused，国土坐标TXT文件第16行无法读取",
            "面积 Area：未计算 not computed",
            "带号 Zone 未定 unknown",
            "界址点 Corners：无 none",
            "[拒绝 refusal] file_unreadable: 国土坐标TXT文件第16行无法读取",
            "The 国土 TXT file cannot be read at line 16",
            "压覆预检 Overlap pre-check：未进行（地块未通过检查）",
            "投递记录 Deliveries：无 none",
        ] {
            assert!(refused.contains(expected), "{expected:?} in\n{refused}");
        }
    }
}
