//! Plot files: round trips through the 国土 TXT and GeoJSON writers and readers (proptest, on
//! checked plots with holes in random zones), and the real `gps-bridge inspect`, `convert` and
//! `import` on good and bad files.

use std::path::Path;
use std::process::Command;

use gps_bridge::files::{self, Format, TxtOptions, WriteEncoding, geojson, txt};
use gps_bridge::plot::{
    AreaLimits, CheckedPlot, GaussKruger, LandKind, PlanePoint, PlotReport, PlotSettings,
    ZoneChoice, check,
};
use gps_bridge::survey::{Corner, PlotCandidate, Source, SurveyStore};
use proptest::prelude::*;
use serde_json::Value;

fn settings() -> PlotSettings {
    PlotSettings {
        zone: ZoneChoice::Auto,
        max_corner_sigma_m: 5.0,
        far_corner_m: 1000.0,
        max_meridian_offset_deg: 1.6,
        area_limits: AreaLimits {
            cultivated_m2: 130.0,
            other_m2: 180.0,
            barren_m2: 210.0,
        },
        default_land: LandKind::Other,
    }
}

/// A checked plot: an octagon-ish boundary of `radius` m around (lon, lat) with a square
/// courtyard, corner names that GBK cannot write.
fn plot(lon: f64, lat: f64, radius: f64, sigma: Option<f64>) -> CheckedPlot {
    let gk = GaussKruger::new(ZoneChoice::Auto.zone_for(lon));
    let centre = gk.forward(lon, lat).unwrap();
    let corner = |name: String, east: f64, north: f64| {
        let (lon, lat) = gk
            .inverse(PlanePoint::new(
                centre.northing_m + north,
                centre.easting_m + east,
            ))
            .unwrap();
        Corner {
            name,
            lon,
            lat,
            sigma_m: sigma,
            fixes: 12,
            raw: Vec::new(),
        }
    };
    let shell = (0..8)
        .map(|i| {
            let a = f64::from(i) / 8.0 * std::f64::consts::TAU;
            corner(format!("J{}", i + 1), radius * a.cos(), radius * a.sin())
        })
        .collect();
    let side = radius / 4.0;
    let hole = [(-1.0, -1.0), (-1.0, 1.0), (1.0, 1.0), (1.0, -1.0)]
        .iter()
        .enumerate()
        .map(|(i, (e, n))| corner(format!("𠮷{}", i + 1), e * side, n * side))
        .collect();
    let mut candidate = PlotCandidate::new("王𠮷宅基地", Source::CornerCapture, "t", shell, vec![]);
    candidate.holes = vec![hole];
    match check(&candidate, &settings(), &[]) {
        PlotReport::Checked(plot) => plot,
        PlotReport::Refused(r) => panic!("{:?}", r.findings),
    }
}

fn checked(candidate: &PlotCandidate) -> CheckedPlot {
    match check(candidate, &settings(), &[]) {
        PlotReport::Checked(plot) => plot,
        PlotReport::Refused(r) => panic!("{:?}", r.findings),
    }
}

fn options(zone_prefix: bool, encoding: WriteEncoding) -> TxtOptions {
    TxtOptions {
        zone_prefix,
        encoding,
        date: "2026-12-01".to_owned(),
        producer: "樟市镇国土所".to_owned(),
    }
}

/// The rings of a plot as (name, plane point), each ring from its first corner, in the
/// orientation the check gives.
fn rings(plot: &CheckedPlot) -> Vec<Vec<(String, PlanePoint)>> {
    std::iter::once(&plot.shell)
        .chain(&plot.holes)
        .map(|r| {
            r.iter()
                .map(|c| (c.name.clone(), c.plane.unwrap()))
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn txt_round_trip(
        lon in 74.0f64..135.0,
        lat in 18.0f64..53.0,
        radius in 6.0f64..400.0,
        zone_prefix in any::<bool>(),
        utf8 in any::<bool>(),
    ) {
        let encoding = if utf8 { WriteEncoding::Utf8 } else { WriteEncoding::Gb18030 };
        let original = plot(lon, lat, radius, Some(1.5));
        let bytes = txt::write(std::slice::from_ref(&original), &options(zone_prefix, encoding));
        prop_assert!(bytes.windows(2).filter(|w| w == b"\r\n").count() > 10, "CRLF lines");
        let file = txt::read(&bytes, "round.txt").unwrap();
        prop_assert_eq!(file.zone, original.zone);
        let back = checked(&file.plots[0].candidate);
        prop_assert_eq!(&back.name, &original.name);
        let (a, b) = (rings(&original), rings(&back));
        prop_assert_eq!(a.len(), b.len());
        for (ra, rb) in a.iter().zip(&b) {
            prop_assert_eq!(ra.len(), rb.len());
            for ((na, pa), (nb, pb)) in ra.iter().zip(rb) {
                prop_assert_eq!(na, nb);
                // Written to the millimetre.
                prop_assert!(pa.distance_to(*pb) < 1e-3, "{:?} vs {:?}", pa, pb);
            }
        }
        // Millimetre coordinates move the area by at most about a millimetre times the
        // perimeter (the octagon's and the hole's together are under 8 radii).
        prop_assert!((back.areas.area_m2 - original.areas.area_m2).abs() < 1e-3 * 8.0 * radius);
        // TXT carries no σ: the area's uncertainty is unknown after the trip.
        prop_assert!(back.areas.area_sigma_m2.is_none());
        prop_assert!(file.plots[0].candidate.findings.is_empty(), "{:?}", file.plots[0].candidate.findings);
    }

    #[test]
    fn geojson_round_trip(lon in 74.0f64..135.0, lat in 18.0f64..53.0, radius in 6.0f64..400.0) {
        let original = plot(lon, lat, radius, Some(2.5));
        let text = geojson::write(std::slice::from_ref(&original));
        let read = geojson::read(text.as_bytes(), "round.geojson").unwrap();
        let back = checked(&read[0].candidate);
        // Bit for bit: the same corners, names, σ and fixes, so the same plot.
        prop_assert_eq!(&back.shell, &original.shell);
        prop_assert_eq!(&back.holes, &original.holes);
        prop_assert_eq!(back.areas, original.areas);
        let json: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(&json["features"][0]["properties"]["zone"], &Value::from(original.zone.number()));
    }
}

#[test]
fn several_plots_in_two_zones_go_into_one_txt_in_the_first_ones_zone() {
    // 112.49°E is zone 37, 112.51°E zone 38 (auto): the file is in zone 37 throughout.
    let west = plot(112.49, 25.75, 9.0, None);
    let east = plot(112.51, 25.75, 9.0, None);
    assert_ne!(west.zone, east.zone);
    let bytes = txt::write(
        &[west.clone(), east.clone()],
        &options(true, WriteEncoding::Gb18030),
    );
    let file = txt::read(&bytes, "two.txt").unwrap();
    assert_eq!((file.zone, file.plots.len()), (west.zone, 2));
    let back = checked(&file.plots[1].candidate);
    assert_eq!(back.zone, east.zone, "auto puts it back in its own zone");
    for (a, b) in east.shell.iter().zip(&back.shell) {
        assert!(a.plane.unwrap().distance_to(b.plane.unwrap()) < 1e-3);
    }
}

fn bridge(args: &[&str], dir: &Path) -> (bool, String, String) {
    let config = dir.join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            "database = {:?}\n",
            dir.join("survey.db").display().to_string()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gps-bridge"))
        .arg("--config")
        .arg(&config)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The reference's sample plot (zone 37) with a courtyard, in GBK as Windows tools write it.
const TXT: &str = "[属性描述]\r\n坐标系=2000国家大地坐标系\r\n几度分带=3\r\n带号=37\r\n[地块坐标]\r\n\
    10,0.0108,1,王家宅基地,面,,,,@\r\n\
    J1,1,2369625.708,37465566.598\r\nJ2,1,2369635.954,37465579.173\r\n\
    J3,1,2369628.036,37465584.762\r\nJ4,1,2369623.845,37465578.707\r\n\
    J1,1,2369625.708,37465566.598\r\n\
    K1,2,2369627.0,37465572.0\r\nK2,2,2369628.0,37465572.0\r\nK3,2,2369628.0,37465573.0\r\n\
    K4,2,2369627.0,37465573.0\r\nK1,2,2369627.0,37465572.0\r\n";

fn gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

#[test]
fn inspect_and_convert_a_txt_with_a_hole() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plots.txt"), gbk(TXT)).unwrap();
    let (ok, out, err) = bridge(&["inspect", "plots.txt"], dir.path());
    assert!(ok, "{err}");
    let plots: Value = serde_json::from_str(&out).unwrap();
    let plot = &plots[0];
    assert_eq!(plot["name"], "王家宅基地");
    assert_eq!(plot["outcome"], "checked");
    assert_eq!(
        (plot["rings"].as_u64(), plot["zone"].as_u64()),
        (Some(2), Some(37))
    );
    let area = plot["area_m2"].as_f64().unwrap();
    assert!((area - 108.43).abs() < 0.02, "{area}");
    assert!((plot["area_mu"].as_f64().unwrap() - area * 0.0015).abs() < 1e-9);
    assert!((plot["ellipsoid_area_m2"].as_f64().unwrap() - area).abs() < 0.05);
    assert_eq!(plot["warnings"], Value::Array(vec![]));

    let (ok, _, err) = bridge(&["convert", "plots.txt", "plots.geojson"], dir.path());
    assert!(ok, "{err}");
    let geojson: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plots.geojson")).unwrap()).unwrap();
    let rings = &geojson["features"][0]["geometry"]["coordinates"];
    assert_eq!(rings.as_array().unwrap().len(), 2, "the hole is kept");
    // And back to TXT, GB18030 by default: the same corners.
    let (ok, _, err) = bridge(&["convert", "plots.geojson", "again.txt"], dir.path());
    assert!(ok, "{err}");
    let again = txt::read(
        &std::fs::read(dir.path().join("again.txt")).unwrap(),
        "again",
    )
    .unwrap();
    assert_eq!(again.encoding, files::TextEncoding::Gb18030);
    assert_eq!(again.plots[0].candidate.holes[0].len(), 4);
}

#[test]
fn bad_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let broken = TXT.replace(
        "J3,1,2369628.036,37465584.762",
        "J3,1,2369628.036;37465584.762",
    );
    std::fs::write(dir.path().join("broken.txt"), gbk(&broken)).unwrap();
    let (ok, _, err) = bridge(&["inspect", "broken.txt"], dir.path());
    assert!(!ok);
    assert!(
        err.contains("第9行：界址点行应有点号、圈号、X、Y共4项，此行有3项")
            && err.contains("line 9: a point line needs point, ring, X, Y"),
        "{err}"
    );
    let line = r#"{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[112.7,25.7],[112.8,25.8]]}}"#;
    std::fs::write(dir.path().join("line.geojson"), line).unwrap();
    let (ok, _, err) = bridge(&["convert", "line.geojson", "out.txt"], dir.path());
    assert!(!ok);
    assert!(
        err.contains("第1个要素是LineString，不是面")
            && err.contains("feature 1 is a LineString, not a Polygon"),
        "{err}"
    );
    assert!(!dir.path().join("out.txt").exists());
    // A bow-tie converts to nothing, with the reason on stdout.
    let bow_tie = TXT.replace(
        "J2,1,2369635.954,37465579.173\r\nJ3,1,2369628.036,37465584.762",
        "J3,1,2369628.036,37465584.762\r\nJ2,1,2369635.954,37465579.173",
    );
    std::fs::write(dir.path().join("bow.txt"), gbk(&bow_tie)).unwrap();
    let (ok, out, err) = bridge(&["convert", "bow.txt", "bow.geojson"], dir.path());
    assert!(!ok, "{err}");
    let refused: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(refused[0]["refusals"][0]["code"], "self_intersection");
    assert!(!dir.path().join("bow.geojson").exists());
    // Neither inspect nor convert records anything.
    assert!(!dir.path().join("survey.db").exists());
    assert!(Format::of(Path::new("x.shp")).is_err());
}

#[test]
fn an_unreadable_import_is_kept_byte_for_byte_with_its_refusal() {
    let dir = tempfile::tempdir().unwrap();
    // A broken line, in GBK; bytes that are no text; GeoJSON that is not a polygon.
    let broken = gbk(&TXT.replace(
        "J3,1,2369628.036,37465584.762",
        "J3,1,2369628.036;37465584.762",
    ));
    let binary = vec![0x81u8, 0x20, 0xff, 0x00, 0x10];
    let line = br#"{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[112.7,25.7],[112.8,25.8]]}}"#.to_vec();
    let cases = [
        (
            "broken.txt",
            broken,
            Some(9),
            "国土坐标TXT文件第9行无法读取：界址点行应有点号、圈号、X、Y共4项，此行有3项",
        ),
        (
            "binary.txt",
            binary,
            Some(1),
            "国土坐标TXT文件第1行无法读取：文件编码无法识别",
        ),
        (
            "line.geojson",
            line,
            None,
            "GeoJSON文件无法读取：第1个要素是LineString，不是面",
        ),
    ];
    for (name, bytes, line, zh) in cases {
        std::fs::write(dir.path().join(name), &bytes).unwrap();
        let (ok, out, err) = bridge(&["import", name, "--land", "barren", "--json"], dir.path());
        assert!(!ok, "an unreadable file fails the command: {out}");
        // The officer reads why, Chinese first, and that the file is kept.
        assert!(err.starts_with(&format!("gps-bridge: {zh}")), "{err}");
        assert!(
            err.contains("文件已原样保存，不会上传") && err.contains("not uploaded"),
            "{err}"
        );
        let summary: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(summary["refused"]["code"], "file_unreadable");
        assert_eq!(
            summary["refused"]["details"]["line"],
            serde_json::json!(line)
        );
        let id = summary["plot_candidates"][0].as_i64().unwrap();
        let store = SurveyStore::open(&dir.path().join("survey.db")).unwrap();
        let file = store.imported_file_of(id).unwrap().unwrap();
        assert_eq!(file.content, bytes, "{name} is kept byte for byte");
        assert_eq!(
            file.refusal.as_ref().map(|f| f.code()),
            Some("file_unreadable")
        );
        // The candidate that stands for it is refused by the checks for that reason alone,
        // so the daemon records it as refused and never sends it.
        let candidate = store.candidate(id).unwrap().unwrap();
        assert_eq!(
            (candidate.name.as_str(), candidate.land),
            (name, Some(LandKind::Barren))
        );
        let report = check(&candidate, &settings(), &[]);
        let PlotReport::Refused(refused) = &report else {
            panic!("{report:?}")
        };
        assert_eq!(
            refused.findings,
            file.refusal.into_iter().collect::<Vec<_>>()
        );
    }
}

#[test]
fn import_records_file_plots_like_gpx_ones() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = gbk(TXT);
    std::fs::write(dir.path().join("plots.txt"), &bytes).unwrap();
    let (ok, text, err) = bridge(&["import", "plots.txt", "--land", "cultivated"], dir.path());
    assert!(ok, "{err}");
    assert_eq!(
        text.lines().next(),
        Some(
            "已导入国土坐标TXT文件 plots.txt：1 个地块：王家宅基地（4 个界址点，1 个内环）。运行中的网桥会检查并上传，见 gps-bridge plots"
        )
    );
    let (ok, out, err) = bridge(
        &["import", "plots.txt", "--land", "cultivated", "--json"],
        dir.path(),
    );
    assert!(ok, "{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["format"], "txt");
    assert_eq!(summary["plots"][0]["name"], "王家宅基地");
    assert_eq!(summary["plots"][0]["holes"], 1);
    let id = summary["plot_candidates"][0].as_i64().unwrap();
    let store = SurveyStore::open(&dir.path().join("survey.db")).unwrap();
    let candidate = store.candidate(id).unwrap().unwrap();
    assert_eq!(candidate.source, Source::TxtImport);
    assert_eq!(candidate.land, Some(LandKind::Cultivated));
    assert_eq!(candidate.holes[0][0].raw, ["line 12"]);
    let file = store.imported_file_of(id).unwrap().unwrap();
    assert_eq!((file.format.as_str(), file.content), ("txt", bytes));
    // The candidate as stored checks as the file did: 108 m² on cultivated land is within 130.
    let report = check(&candidate, &settings(), &[]);
    assert!(matches!(report, PlotReport::Checked(_)), "{report:?}");
    assert!(report.findings().is_empty(), "{:?}", report.findings());

    let geojson = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"东院","land":"barren"},
        "geometry":{"type":"Polygon","coordinates":[[[112.7,25.7],[112.7001,25.7],[112.7001,25.7001],[112.7,25.7001],[112.7,25.7]]]}}]}"#;
    std::fs::write(dir.path().join("east.geojson"), geojson).unwrap();
    let (ok, out, err) = bridge(&["import", "east.geojson", "--json"], dir.path());
    assert!(ok, "{err}");
    let summary: Value = serde_json::from_str(&out).unwrap();
    let id = summary["plot_candidates"][0].as_i64().unwrap();
    let candidate = store.candidate(id).unwrap().unwrap();
    assert_eq!(
        (candidate.source, candidate.land),
        (Source::GeojsonImport, Some(LandKind::Barren))
    );
    assert_eq!(
        candidate.corners[2].raw,
        ["features[0]/geometry/coordinates[0][2]"]
    );
}
