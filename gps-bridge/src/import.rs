//! `gps-bridge import FILE`: plots from files, recorded as candidates the daemon then checks
//! and delivers like surveyed ones.
//!
//! - `.gpx`, for handhelds that only offer USB mass storage: each route of at least three
//!   usable points becomes a plot candidate; each named waypoint becomes a marked corner for
//!   `close-plot`. What is left out is reported.
//! - `.txt` (国土 boundary-point file) and `.geojson`, drawn or received elsewhere: each plot
//!   becomes a candidate with its holes.
//!
//! The file is stored byte for byte with what came from it, in one transaction, and each
//! corner's raw says where in it the point is (`rte[1]/rtept[3]`, `line 14`,
//! `features[0]/geometry/coordinates[0][3]`). A file whose content cannot be read (a broken
//! line, the wrong encoding, GeoJSON that is not polygons, XML that is not GPX) is refused
//! whole, with the line or feature at fault, and still kept: its bytes with the refusal, and
//! one candidate standing for it that carries the refusal, so the daemon records it in the
//! outbox as refused (`plots` and `show` list it with the reason) and never uploads it. None
//! of its plots goes on: a file is taken whole or not at all.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::files::{self, Format};
use crate::plot::{Finding, FindingKind, LandKind};
use crate::survey::{Corner, MIN_CORNERS, PlotCandidate, Source, SurveyStore};

#[derive(Debug, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    /// `gpx`, `txt` or `geojson`.
    pub format: &'static str,
    /// The stored copy of the file.
    pub file: i64,
    pub plot_candidates: Vec<i64>,
    /// The plots of a TXT or GeoJSON file, as the file names them, in candidate order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plots: Vec<ImportedPlot>,
    pub marks: Vec<i64>,
    /// Points without a usable position (or, for waypoints, without a name).
    pub skipped_points: usize,
    pub skipped_routes: Vec<SkippedRoute>,
    /// Why the file could not be read, if it could not: it is kept, with one candidate that
    /// stands for it and is refused for this reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<Finding>,
}

/// A plot of a TXT or GeoJSON file, recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedPlot {
    pub candidate: i64,
    /// Its id in the file.
    pub id: String,
    pub name: String,
    pub corners: usize,
    pub holes: usize,
}

impl ImportSummary {
    /// What the officer reads of an import that was read (a refused one says its reason
    /// instead): Chinese, then English.
    pub fn text(&self, file: &str) -> String {
        let (kind_zh, kind_en) = match self.format {
            "txt" => ("国土坐标TXT文件", "国土 TXT file"),
            "geojson" => ("GeoJSON文件", "GeoJSON file"),
            _ => ("GPX文件", "GPX file"),
        };
        let (mut zh, mut en) = if self.plots.is_empty() {
            (
                format!(
                    "已导入{kind_zh} {file}：{} 条航线成为地块，{} 个航点可用 close-plot --port {file} 成地块",
                    self.plot_candidates.len(),
                    self.marks.len()
                ),
                format!(
                    "imported the {kind_en} {file}: plots from {}, {} to close with close-plot --port {file}",
                    counted(self.plot_candidates.len(), "route"),
                    counted(self.marks.len(), "waypoint")
                ),
            )
        } else {
            let holes = |p: &ImportedPlot| {
                if p.holes == 0 {
                    (String::new(), String::new())
                } else {
                    (
                        format!("，{} 个内环", p.holes),
                        format!(", {}", counted(p.holes, "hole")),
                    )
                }
            };
            let plots_zh: Vec<String> = self
                .plots
                .iter()
                .map(|p| format!("{}（{} 个界址点{}）", p.name, p.corners, holes(p).0))
                .collect();
            let plots_en: Vec<String> = self
                .plots
                .iter()
                .map(|p| {
                    format!(
                        "{} ({}{})",
                        p.name,
                        counted(p.corners, "corner"),
                        holes(p).1
                    )
                })
                .collect();
            (
                format!(
                    "已导入{kind_zh} {file}：{} 个地块：{}",
                    self.plots.len(),
                    plots_zh.join("、")
                ),
                format!(
                    "imported the {kind_en} {file}: {}: {}",
                    counted(self.plots.len(), "plot"),
                    plots_en.join(", ")
                ),
            )
        };
        if self.skipped_points > 0 {
            zh.push_str(&format!("；跳过 {} 个无效的点", self.skipped_points));
            en.push_str(&format!(
                "; {} skipped",
                counted(self.skipped_points, "point")
            ));
        }
        for route in &self.skipped_routes {
            zh.push_str(&format!("；航线 {} 不足 3 个可用点，未成地块", route.name));
            en.push_str(&format!("; route {}: {}", route.name, route.reason));
        }
        zh.push_str("。运行中的网桥会检查并上传，见 gps-bridge plots");
        en.push_str(". The running bridge checks and delivers them; see gps-bridge plots");
        format!("{zh}\n{en}")
    }
}

/// "1 plot", "2 plots".
fn counted(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// A GPX route that made no plot candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRoute {
    pub name: String,
    pub reason: String,
}

/// What a GPX file holds for surveys.
#[derive(Debug, Default)]
struct GpxSurvey {
    routes: Vec<PlotCandidate>,
    waypoints: Vec<Corner>,
    skipped_points: usize,
    skipped_routes: Vec<SkippedRoute>,
}

/// The corner for a GPX point, if it has a plausible position; `location` is where the point
/// is in the file.
fn corner(point: &gpx::Waypoint, location: String, fallback_name: String) -> Option<Corner> {
    let p = point.point();
    let (lon, lat) = (p.x(), p.y());
    if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
        return None;
    }
    Some(Corner {
        name: point.name.clone().unwrap_or(fallback_name),
        lon,
        lat,
        sigma_m: None,
        fixes: 1,
        raw: vec![location],
    })
}

fn survey_of(gpx: &gpx::Gpx, file: &str) -> GpxSurvey {
    let mut survey = GpxSurvey::default();
    for (r, route) in (1..).zip(&gpx.routes) {
        let corners: Vec<Corner> = (1..)
            .zip(&route.points)
            .filter_map(|(i, p)| {
                let c = corner(p, format!("rte[{r}]/rtept[{i}]"), format!("P{i}"));
                survey.skipped_points += usize::from(c.is_none());
                c
            })
            .collect();
        let name = route.name.clone().unwrap_or_else(|| format!("route-{r}"));
        if corners.len() < MIN_CORNERS {
            let reason = format!(
                "{} usable points; a plot needs at least {MIN_CORNERS}",
                corners.len()
            );
            survey.skipped_routes.push(SkippedRoute { name, reason });
            continue;
        }
        survey.routes.push(PlotCandidate::new(
            name,
            Source::GpxImport,
            file,
            corners,
            Vec::new(),
        ));
    }
    for (w, point) in (1..).zip(&gpx.waypoints) {
        match point
            .name
            .as_ref()
            .and(corner(point, format!("wpt[{w}]"), String::new()))
        {
            Some(c) => survey.waypoints.push(c),
            None => survey.skipped_points += 1,
        }
    }
    survey
}

/// Imports `file` by its extension; `land`, when given, is the land kind of every plot in it
/// (else the file's own, else the configured default).
pub fn import(
    file: &Path,
    database: &Path,
    land: Option<LandKind>,
) -> anyhow::Result<ImportSummary> {
    let is_gpx = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gpx"));
    if is_gpx {
        import_gpx(file, database, land)
    } else {
        import_plot_file(file, Format::of(file)?, database, land)
    }
}

fn import_plot_file(
    file: &Path,
    format: Format,
    database: &Path,
    land: Option<LandKind>,
) -> anyhow::Result<ImportSummary> {
    let content = files::read_file(file)?;
    let name = file.to_string_lossy();
    let source = match format {
        Format::Txt => Source::TxtImport,
        Format::Geojson => Source::GeojsonImport,
    };
    let mut plots = match files::read_plots(format, &content, &name) {
        Ok(plots) => plots,
        Err(e) => {
            let Some(refusal) = e.unreadable() else {
                return Err(e).with_context(|| file.display().to_string());
            };
            return record_refusal(
                file,
                format.name(),
                source,
                &content,
                database,
                land,
                refusal,
            );
        }
    };
    for plot in &mut plots {
        plot.candidate.land = land.or(plot.candidate.land);
    }
    let candidates: Vec<PlotCandidate> = plots.iter().map(|p| p.candidate.clone()).collect();
    let records = SurveyStore::open(database)?.insert_file_import(
        &name,
        format.name(),
        &content,
        &candidates,
        &[],
    )?;
    Ok(ImportSummary {
        format: format.name(),
        file: records.file,
        plots: plots
            .iter()
            .zip(&records.plot_candidates)
            .map(|(p, &candidate)| ImportedPlot {
                candidate,
                id: p.id.clone(),
                name: p.candidate.name.clone(),
                corners: p.candidate.corners.len(),
                holes: p.candidate.holes.len(),
            })
            .collect(),
        plot_candidates: records.plot_candidates,
        ..ImportSummary::default()
    })
}

fn import_gpx(
    file: &Path,
    database: &Path,
    land: Option<LandKind>,
) -> anyhow::Result<ImportSummary> {
    let content = files::read_file(file)?;
    let gpx = match gpx::read(content.as_slice()) {
        Ok(gpx) => gpx,
        Err(e) => {
            let refusal = FindingKind::FileUnreadable {
                format: "gpx".to_owned(),
                line: None,
                reason_zh: format!("不是可读的GPX文件（{e}）"),
                reason_en: format!("not GPX that can be read ({e})"),
            };
            return record_refusal(
                file,
                "gpx",
                Source::GpxImport,
                &content,
                database,
                land,
                refusal,
            );
        }
    };
    let name = file.to_string_lossy();
    let mut survey = survey_of(&gpx, &name);
    for route in &mut survey.routes {
        route.land = land;
    }
    let records = SurveyStore::open(database)?.insert_file_import(
        &name,
        "gpx",
        &content,
        &survey.routes,
        &survey.waypoints,
    )?;
    Ok(ImportSummary {
        format: "gpx",
        file: records.file,
        plot_candidates: records.plot_candidates,
        plots: Vec::new(),
        marks: records.marks,
        skipped_points: survey.skipped_points,
        skipped_routes: survey.skipped_routes,
        refused: None,
    })
}

/// Keeps a file that could not be read, with why, and the candidate that stands for it in the
/// checks: named as the file, no corners, the refusal its finding.
fn record_refusal(
    file: &Path,
    format: &'static str,
    source: Source,
    content: &[u8],
    database: &Path,
    land: Option<LandKind>,
    refusal: FindingKind,
) -> anyhow::Result<ImportSummary> {
    let path = file.to_string_lossy();
    let refusal = Finding::new(refusal);
    let name = file
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
    let mut candidate = PlotCandidate::new(name, source, &*path, Vec::new(), Vec::new());
    candidate.land = land;
    candidate.findings = vec![refusal.clone()];
    let records = SurveyStore::open(database)?
        .insert_refused_file(&path, format, content, &refusal, &candidate)?;
    Ok(ImportSummary {
        format,
        file: records.file,
        plot_candidates: records.plot_candidates,
        refused: Some(refusal),
        ..ImportSummary::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="Garmin Desktop App" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="39.9001" lon="116.4001"><name>J1</name></wpt>
  <wpt lat="39.9002" lon="116.4001"></wpt>
  <wpt lat="39.9002" lon="116.4002"><name>J2 &amp; J3</name></wpt>
  <rte><name>WANG-HOMESTEAD</name>
    <rtept lat="39.9001" lon="116.4001"><name>C1</name></rtept>
    <rtept lat="39.9002" lon="116.4001"><name>C2</name></rtept>
    <rtept lat="39.9002" lon="116.4002"></rtept>
    <rtept lat="39.9001" lon="116.4002"><name>C4</name></rtept>
  </rte>
  <rte><name>TOO-SHORT</name>
    <rtept lat="39.9001" lon="116.4001"><name>C1</name></rtept>
    <rtept lat="39.9002" lon="116.4001"><name>C2</name></rtept>
  </rte>
</gpx>"#;

    #[test]
    fn routes_become_candidates_and_named_waypoints_marks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Current.gpx");
        std::fs::write(&file, GPX).unwrap();
        let db = dir.path().join("survey.db");
        let summary = import(&file, &db, None).unwrap();
        assert_eq!((summary.plot_candidates.len(), summary.marks.len()), (1, 2));
        assert_eq!(summary.skipped_points, 1);
        assert_eq!(
            summary.skipped_routes,
            [SkippedRoute {
                name: "TOO-SHORT".to_owned(),
                reason: "2 usable points; a plot needs at least 3".to_owned(),
            }]
        );
        let store = SurveyStore::open(&db).unwrap();
        let id = summary.plot_candidates[0];
        let plot = store.candidate(id).unwrap().unwrap();
        assert_eq!(plot.name, "WANG-HOMESTEAD");
        assert_eq!(plot.source, Source::GpxImport);
        let names: Vec<&str> = plot.corners.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["C1", "C2", "P3", "C4"]);
        assert_eq!(plot.corners[1].lat, 39.9002);
        assert_eq!(plot.corners[3].raw, ["rte[1]/rtept[4]"]);
        // The file itself is kept, exactly as it was, for audit.
        let stored = store.imported_file_of(id).unwrap().unwrap();
        assert_eq!(
            (
                stored.path.as_str(),
                stored.format.as_str(),
                stored.content.as_slice()
            ),
            (file.to_str().unwrap(), "gpx", GPX.as_bytes())
        );
        let marks = store.open_marks().unwrap();
        assert_eq!(marks[1].corner.name, "J2 & J3");
        assert_eq!(marks[1].corner.raw, ["wpt[3]"]);
        // As the officer reads it.
        let text = summary.text("Current.gpx");
        assert_eq!(
            text,
            "已导入GPX文件 Current.gpx：1 条航线成为地块，2 个航点可用 close-plot --port \
             Current.gpx 成地块；跳过 1 个无效的点；航线 TOO-SHORT 不足 3 个可用点，未成地块。\
             运行中的网桥会检查并上传，见 gps-bridge plots\n\
             imported the GPX file Current.gpx: plots from 1 route, 2 waypoints to close with \
             close-plot --port Current.gpx; 1 point skipped; route TOO-SHORT: 2 usable points; \
             a plot needs at least 3. The running bridge checks and delivers them; see gps-bridge \
             plots"
        );
    }

    #[test]
    fn a_broken_file_is_kept_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.gpx");
        let broken = "<gpx><rte><rtept lat=";
        std::fs::write(&file, broken).unwrap();
        let db = dir.path().join("s.db");
        let summary = import(&file, &db, None).unwrap();
        let refusal = summary.refused.clone().expect("the file is refused");
        assert_eq!(refusal.code(), "file_unreadable");
        assert!(refusal.zh.starts_with("GPX文件无法读取"), "{}", refusal.zh);
        let store = SurveyStore::open(&db).unwrap();
        let [id] = summary.plot_candidates[..] else {
            panic!("{summary:?}")
        };
        let stored = store.imported_file_of(id).unwrap().unwrap();
        assert_eq!(stored.content, broken.as_bytes());
        assert_eq!(stored.refusal, Some(refusal.clone()));
        let candidate = store.candidate(id).unwrap().unwrap();
        assert_eq!(
            (candidate.name.as_str(), candidate.source),
            ("bad.gpx", Source::GpxImport)
        );
        assert!(candidate.corners.is_empty());
        assert_eq!(candidate.findings, [refusal]);
    }
}
