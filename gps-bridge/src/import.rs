//! `gps-bridge import FILE.gpx`: for handhelds that only offer USB mass storage. Each GPX route
//! becomes a plot candidate; each named waypoint becomes a marked corner for `close-plot`.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::survey::{Corner, PlotCandidate, Source, SurveyStore};

#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub plot_candidates: Vec<i64>,
    pub marks: Vec<i64>,
    /// Points without a usable position (or, for waypoints, without a name).
    pub skipped_points: usize,
}

/// What a GPX file holds for surveys: route candidates and named waypoints.
#[derive(Debug, Default)]
pub struct GpxSurvey {
    pub routes: Vec<PlotCandidate>,
    pub waypoints: Vec<Corner>,
    pub skipped_points: usize,
}

/// The corner for a GPX point, if it has a plausible position; `raw` records the element.
fn corner(point: &gpx::Waypoint, element: &str, fallback_name: String) -> Option<Corner> {
    let p = point.point();
    let (lon, lat) = (p.x(), p.y());
    if !(lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0) {
        return None;
    }
    let name = point.name.clone().unwrap_or(fallback_name);
    let raw = format!(r#"<{element} lat="{lat}" lon="{lon}"><name>{name}</name></{element}>"#);
    Some(Corner {
        name,
        lon,
        lat,
        sigma_m: None,
        fixes: 1,
        raw: vec![raw],
    })
}

pub fn survey_of(gpx: &gpx::Gpx, file: &str) -> GpxSurvey {
    let mut survey = GpxSurvey::default();
    for (r, route) in gpx.routes.iter().enumerate() {
        let corners: Vec<Corner> = route
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let c = corner(p, "rtept", format!("P{}", i + 1));
                survey.skipped_points += usize::from(c.is_none());
                c
            })
            .collect();
        survey.routes.push(PlotCandidate {
            name: route
                .name
                .clone()
                .unwrap_or_else(|| format!("route-{}", r + 1)),
            source: Source::GpxImport,
            device: file.to_owned(),
            corners,
            raw: Vec::new(),
        });
    }
    for point in &gpx.waypoints {
        match point.name.as_ref().and(corner(point, "wpt", String::new())) {
            Some(c) => survey.waypoints.push(c),
            None => survey.skipped_points += 1,
        }
    }
    survey
}

pub fn import_gpx(file: &Path, database: &Path) -> anyhow::Result<ImportSummary> {
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?,
    );
    let gpx = gpx::read(reader).with_context(|| format!("reading GPX {}", file.display()))?;
    let name = file.to_string_lossy();
    let survey = survey_of(&gpx, &name);
    let mut store = SurveyStore::open(database)?;
    let mut summary = ImportSummary {
        skipped_points: survey.skipped_points,
        ..ImportSummary::default()
    };
    for plot in survey.routes.iter().filter(|p| p.corners.len() >= 3) {
        summary.plot_candidates.push(store.insert_candidate(plot)?);
    }
    for corner in &survey.waypoints {
        summary.marks.push(store.insert_mark(&name, corner)?);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPX: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="Garmin Desktop App" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="39.9001" lon="116.4001"><name>J1</name></wpt>
  <wpt lat="39.9002" lon="116.4001"></wpt>
  <wpt lat="39.9002" lon="116.4002"><name>J2</name></wpt>
  <rte><name>WANG-HOMESTEAD</name>
    <rtept lat="39.9001" lon="116.4001"><name>C1</name></rtept>
    <rtept lat="39.9002" lon="116.4001"><name>C2</name></rtept>
    <rtept lat="39.9002" lon="116.4002"></rtept>
    <rtept lat="39.9001" lon="116.4002"><name>C4</name></rtept>
  </rte>
</gpx>"#;

    #[test]
    fn routes_become_candidates_and_named_waypoints_marks() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Current.gpx");
        std::fs::write(&file, GPX).unwrap();
        let db = dir.path().join("survey.db");
        let summary = import_gpx(&file, &db).unwrap();
        assert_eq!((summary.plot_candidates.len(), summary.marks.len()), (1, 2));
        assert_eq!(summary.skipped_points, 1);
        let store = SurveyStore::open(&db).unwrap();
        let plot = store
            .candidate(summary.plot_candidates[0])
            .unwrap()
            .unwrap();
        assert_eq!(plot.name, "WANG-HOMESTEAD");
        assert_eq!(plot.source, Source::GpxImport);
        let names: Vec<&str> = plot.corners.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["C1", "C2", "P3", "C4"]);
        assert_eq!(plot.corners[1].lat, 39.9002);
        assert!(plot.corners[0].raw[0].contains(r#"lat="39.9001""#));
        let marks = store.open_marks().unwrap();
        assert_eq!(marks[1].corner.name, "J2");
    }

    #[test]
    fn a_broken_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.gpx");
        std::fs::write(&file, "<gpx><rte><rtept lat=").unwrap();
        assert!(import_gpx(&file, &dir.path().join("s.db")).is_err());
    }
}
