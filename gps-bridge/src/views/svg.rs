//! `gps-bridge show PLOT --svg FILE`: the plot as an officer checks it at a glance, in its
//! zone's Gauss-Krüger plane (north up): the boundary and its holes, each corner labelled with
//! its σ drawn as a circle, the parcels and mining rights it overlaps shaded and labelled, the
//! earlier plots it duplicates or overlaps outlined, a scale bar, a north arrow, and a caption
//! with the area ± its uncertainty. Labels in Chinese, with English where they explain.

use std::fmt::Write;

use crate::outbox::PlotRecord;
use crate::plot::{PlotCorner, PlotReport};

/// Something drawn around the plot, in the plot's plane (easting, northing, metres).
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    pub kind: NeighbourKind,
    pub label: String,
    /// Polygons, each its rings (outer first).
    pub polygons: Vec<Vec<Vec<(f64, f64)>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeighbourKind {
    Parcel,
    MiningRight,
    EarlierPlot,
}

const WIDTH: f64 = 800.0;
/// Below the map: three caption lines, then one legend line per neighbour.
const CAPTION_HEIGHT: f64 = 120.0;
const LEGEND_LINE: f64 = 24.0;
/// The map's frame; the caption goes below it.
const MAP: (f64, f64, f64, f64) = (20.0, 20.0, 760.0, 620.0);
const FONT: &str = "Noto Sans CJK SC, Noto Serif CJK SC, WenQuanYi Zen Hei, sans-serif";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Plane metres to the picture, north up.
struct View {
    min_e: f64,
    max_n: f64,
    scale: f64,
}

impl View {
    fn fit(points: &[(f64, f64)], pad_m: f64) -> Self {
        let (mut min_e, mut max_e, mut min_n, mut max_n) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(e, n) in points {
            min_e = min_e.min(e);
            max_e = max_e.max(e);
            min_n = min_n.min(n);
            max_n = max_n.max(n);
        }
        let size = (max_e - min_e).max(max_n - min_n).max(10.0);
        let pad = pad_m.max(size * 0.25);
        let (width, height) = (max_e - min_e + 2.0 * pad, max_n - min_n + 2.0 * pad);
        let scale = (MAP.2 / width).min(MAP.3 / height);
        // Centred in the frame.
        let min_e = (min_e + max_e) / 2.0 - MAP.2 / scale / 2.0;
        let max_n = (min_n + max_n) / 2.0 + MAP.3 / scale / 2.0;
        View {
            min_e,
            max_n,
            scale,
        }
    }

    fn xy(&self, (e, n): (f64, f64)) -> (f64, f64) {
        (
            MAP.0 + (e - self.min_e) * self.scale,
            MAP.1 + (self.max_n - n) * self.scale,
        )
    }

    fn path(&self, rings: &[Vec<(f64, f64)>]) -> String {
        let mut d = String::new();
        for ring in rings {
            for (i, &p) in ring.iter().enumerate() {
                let (x, y) = self.xy(p);
                let _ = write!(d, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
            }
            d.push_str("Z ");
        }
        d
    }

    /// Where to put a neighbour's number: inside the part of its bounds within the map, as
    /// far as can be from the plot's corners (and their labels).
    fn label_at(&self, rings: &[Vec<(f64, f64)>], avoid: &[(f64, f64)]) -> Option<(f64, f64)> {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &p in rings.first()? {
            let (x, y) = self.xy(p);
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        let (x0, x1) = (x0.max(MAP.0 + 15.0), x1.min(MAP.0 + MAP.2 - 15.0));
        let (y0, y1) = (y0.max(MAP.1 + 15.0), y1.min(MAP.1 + MAP.3 - 15.0));
        if x0 >= x1 || y0 >= y1 {
            return None;
        }
        let grid = [0.15, 0.5, 0.85];
        let clearance = |(x, y): (f64, f64)| {
            avoid
                .iter()
                .map(|&(ax, ay)| (x - ax).hypot(y - ay))
                .fold(f64::MAX, f64::min)
        };
        grid.iter()
            .flat_map(|fx| {
                grid.iter()
                    .map(move |fy| (x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)))
            })
            .max_by(|a, b| clearance(*a).total_cmp(&clearance(*b)))
    }
}

fn plane_ring(corners: &[PlotCorner]) -> Option<Vec<(f64, f64)>> {
    corners
        .iter()
        .map(|c| c.plane.map(|p| (p.easting_m, p.northing_m)))
        .collect()
}

/// A round length for the scale bar, about `target` metres: 1, 2 or 5 × 10ⁿ.
fn nice_length(target: f64) -> f64 {
    let magnitude = 10f64.powf(target.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|k| k * magnitude)
        .find(|l| *l <= target)
        .unwrap_or(magnitude)
}

/// The drawing, as SVG text.
pub fn draw(record: &PlotRecord, neighbours: &[Neighbour]) -> String {
    let report = &record.checks.report;
    let (shell, holes, refused) = match report {
        PlotReport::Checked(p) => (&p.shell, &p.holes, false),
        PlotReport::Refused(p) => (&p.shell, &p.holes, true),
    };
    let mut svg = String::new();
    let height = MAP.1 + MAP.3 + CAPTION_HEIGHT + LEGEND_LINE * neighbours.len() as f64;
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="{FONT}">"#
    );
    let _ = writeln!(
        svg,
        r##"<defs><clipPath id="map"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath><pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="8" height="8" fill="#e63946" fill-opacity="0.12"/><line x1="0" y1="0" x2="0" y2="8" stroke="#e63946" stroke-width="2" stroke-opacity="0.5"/></pattern></defs>"##,
        MAP.0, MAP.1, MAP.2, MAP.3
    );
    let _ = writeln!(
        svg,
        r##"<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = writeln!(
        svg,
        r##"<rect x="{}" y="{}" width="{}" height="{}" fill="#f8f9fa" stroke="#adb5bd"/>"##,
        MAP.0, MAP.1, MAP.2, MAP.3
    );
    let rings: Option<Vec<Vec<(f64, f64)>>> = std::iter::once(shell)
        .chain(holes.iter())
        .map(|r| plane_ring(r))
        .collect();
    let Some(rings) = rings.filter(|r| r[0].len() >= 2) else {
        nothing_to_draw(&mut svg, record, shell.is_empty());
        caption(&mut svg, record);
        svg.push_str("</svg>\n");
        return svg;
    };
    let max_sigma = shell.iter().filter_map(|c| c.sigma_m).fold(0.0, f64::max);
    let view = View::fit(&rings[0], max_sigma * 1.5);

    let _ = writeln!(svg, r#"<g clip-path="url(#map)">"#);
    // Shaded layers under the plot; earlier plots (outlines only) over it, so that the one a
    // duplicate repeats, lying on the plot's own boundary, still shows.
    let outline = |svg: &mut String, n: &Neighbour| {
        let (fill, stroke, dash) = style(n.kind);
        for polygon in &n.polygons {
            let _ = writeln!(
                svg,
                r#"<path d="{}" fill="{fill}" fill-rule="evenodd" stroke="{stroke}" stroke-width="1.5"{dash}/>"#,
                view.path(polygon)
            );
        }
    };
    let (earlier, layers): (Vec<&Neighbour>, Vec<&Neighbour>) = neighbours
        .iter()
        .partition(|n| n.kind == NeighbourKind::EarlierPlot);
    for n in layers {
        outline(&mut svg, n);
    }
    let (fill, stroke) = if refused {
        ("none", "#c1121f")
    } else {
        ("#52b788", "#1b4332")
    };
    let _ = writeln!(
        svg,
        r#"<path d="{}" fill="{fill}" fill-opacity="0.35" fill-rule="evenodd" stroke="{stroke}" stroke-width="2.5"/>"#,
        view.path(&rings)
    );
    for n in earlier {
        outline(&mut svg, n);
    }
    for (ring, corners) in rings.iter().zip(std::iter::once(shell).chain(holes.iter())) {
        for (&p, c) in ring.iter().zip(corners) {
            let (x, y) = view.xy(p);
            if let Some(sigma) = c.sigma_m {
                let _ = writeln!(
                    svg,
                    r##"<circle cx="{x:.1}" cy="{y:.1}" r="{:.1}" fill="#457b9d" fill-opacity="0.12" stroke="#457b9d" stroke-dasharray="4 3"/>"##,
                    sigma * view.scale
                );
            }
            let _ = writeln!(
                svg,
                r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#1d3557"/>"##
            );
            let sigma = c
                .sigma_m
                .map_or_else(|| "σ 未知".to_owned(), |s| format!("σ {s:.1} m"));
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="14" fill="#1d3557" stroke="#ffffff" stroke-width="3" paint-order="stroke">{} ({sigma})</text>"##,
                x + 7.0,
                y - 7.0,
                escape(&c.name)
            );
        }
    }
    let _ = writeln!(svg, "</g>");
    // Each neighbour is numbered on the map and named in the legend below it.
    let corners: Vec<(f64, f64)> = rings.iter().flatten().map(|&p| view.xy(p)).collect();
    for (i, n) in neighbours.iter().enumerate() {
        if let Some((x, y)) = n.polygons.first().and_then(|p| view.label_at(p, &corners)) {
            let _ = writeln!(
                svg,
                r##"<g><circle cx="{x:.1}" cy="{y:.1}" r="11" fill="#ffffff" stroke="{}" stroke-width="2"/><text x="{x:.1}" y="{:.1}" font-size="13" font-weight="bold" text-anchor="middle">{}</text></g>"##,
                style(n.kind).1,
                y + 4.5,
                i + 1
            );
        }
    }
    scale_bar(&mut svg, view.scale);
    north_arrow(&mut svg);
    caption(&mut svg, record);
    legend(&mut svg, neighbours);
    svg.push_str("</svg>\n");
    svg
}

/// `text` in lines of about `width` characters: English breaks between words, Chinese
/// between any two characters.
fn wrapped(text: &str, width: usize) -> Vec<String> {
    // Tokens: a word with the space after it, or one character that is not ASCII.
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_ascii() {
            word.push(c);
            if c == ' ' {
                tokens.push(std::mem::take(&mut word));
            }
        } else {
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            tokens.push(c.to_string());
        }
    }
    tokens.push(word);
    let mut lines = Vec::new();
    let mut line = String::new();
    for token in tokens {
        if !line.is_empty() && line.chars().count() + token.trim_end().chars().count() > width {
            lines.push(line.trim_end().to_owned());
            line.clear();
        }
        line.push_str(&token);
    }
    lines.push(line.trim_end().to_owned());
    lines.retain(|l| !l.is_empty());
    lines
}

/// A plot that cannot be drawn (no corners: a file that could not be read; or corners that
/// could not be projected): the map says so, and why the checks refused it.
fn nothing_to_draw(svg: &mut String, record: &PlotRecord, no_corners: bool) {
    let headline = if no_corners {
        "没有界址点可绘制 No corners to draw"
    } else {
        "地块未能投影，无法绘制 The plot could not be projected"
    };
    let mut lines = vec![(headline.to_owned(), 20, "#c1121f")];
    for finding in record
        .checks
        .report
        .findings()
        .iter()
        .filter(|f| f.is_refusal())
    {
        lines.extend(
            wrapped(&finding.zh, 38)
                .into_iter()
                .map(|l| (l, 16, "#212529")),
        );
        lines.extend(
            wrapped(&finding.en, 80)
                .into_iter()
                .map(|l| (l, 14, "#495057")),
        );
    }
    for (i, (line, size, colour)) in lines.iter().enumerate() {
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" font-size="{size}" fill="{colour}">{}</text>"##,
            MAP.0 + 24.0,
            MAP.1 + 60.0 + 28.0 * i as f64,
            escape(line)
        );
    }
}

/// Fill, stroke and dash of a neighbour.
fn style(kind: NeighbourKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        NeighbourKind::Parcel => ("#f4a261\" fill-opacity=\"0.35", "#e76f51", ""),
        NeighbourKind::MiningRight => ("url(#hatch)", "#c1121f", ""),
        NeighbourKind::EarlierPlot => ("none", "#1d3557", " stroke-dasharray=\"8 5\""),
    }
}

fn legend(svg: &mut String, neighbours: &[Neighbour]) {
    let top = MAP.1 + MAP.3 + CAPTION_HEIGHT;
    for (i, n) in neighbours.iter().enumerate() {
        let y = top + LEGEND_LINE * i as f64;
        let (fill, stroke, dash) = style(n.kind);
        let _ = writeln!(
            svg,
            r#"<g><rect x="{}" y="{:.1}" width="22" height="14" fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/><text x="{}" y="{:.1}" font-size="14">{}. {}</text></g>"#,
            MAP.0,
            y - 12.0,
            MAP.0 + 30.0,
            y,
            i + 1,
            escape(&n.label)
        );
    }
}

fn scale_bar(svg: &mut String, scale: f64) {
    let metres = nice_length(160.0 / scale);
    let length = metres * scale;
    let (x, y) = (MAP.0 + 20.0, MAP.1 + MAP.3 - 25.0);
    let label = if metres >= 1000.0 {
        format!("{} km", metres / 1000.0)
    } else {
        format!("{metres} m")
    };
    let _ = writeln!(
        svg,
        r##"<g><rect x="{x}" y="{y}" width="{length:.1}" height="6" fill="#212529"/><rect x="{x}" y="{y}" width="{:.1}" height="6" fill="#ffffff" stroke="#212529"/><text x="{x}" y="{}" font-size="13">0</text><text x="{:.1}" y="{}" font-size="13" text-anchor="middle">{label}</text><text x="{x}" y="{}" font-size="12" fill="#495057">比例尺 scale</text></g>"##,
        length / 2.0,
        y - 4.0,
        x + length,
        y - 4.0,
        y + 20.0
    );
}

fn north_arrow(svg: &mut String) {
    let (x, y) = (MAP.0 + MAP.2 - 40.0, MAP.1 + 25.0);
    let _ = writeln!(
        svg,
        r##"<g><path d="M{x},{y} l-10,34 l10,-8 l10,8 Z" fill="#212529"/><text x="{x}" y="{}" font-size="15" text-anchor="middle" font-weight="bold">北 N</text></g>"##,
        y + 52.0
    );
}

fn caption(svg: &mut String, record: &PlotRecord) {
    let s = &record.summary;
    let (zh, en) = match record.checks.report.areas() {
        Some(a) => {
            let shown = a.shown();
            (shown.zh, shown.en)
        }
        None => ("未能计算".to_owned(), "not computed".to_owned()),
    };
    let warnings = record.checks.report.findings().len();
    let lines = [
        format!("地块 {}（编号 {}）：面积 {zh}", s.name, s.id),
        format!("Plot {} (no. {}): area {en}", s.name, s.id),
        format!("状态 {}；检查发现 {warnings} 项 findings", s.state.label()),
    ];
    for (i, line) in lines.iter().enumerate() {
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="{}" font-size="{}" fill="#212529">{}</text>"##,
            MAP.0,
            MAP.1 + MAP.3 + 32.0 + 28.0 * i as f64,
            if i == 0 { 20 } else { 16 },
            escape(line)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scale_bar_is_a_round_length() {
        assert_eq!(nice_length(160.0 / 10.0), 10.0);
        assert_eq!(nice_length(37.0), 20.0);
        assert_eq!(nice_length(5.5), 5.0);
        assert_eq!(nice_length(1800.0), 1000.0);
    }

    #[test]
    fn long_reasons_wrap_between_words_or_chinese_characters() {
        assert_eq!(
            wrapped("The file cannot be read at line 16.", 16),
            ["The file cannot", "be read at line", "16."]
        );
        assert_eq!(
            wrapped("国土坐标TXT文件第16行无法读取", 8),
            ["国土坐标TXT文", "件第16行无法读", "取"]
        );
        assert!(wrapped("", 10).is_empty());
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape("A & <B>"), "A &amp; &lt;B&gt;");
    }
}

#[cfg(test)]
mod drawing_tests {
    use super::*;
    use crate::outbox::PlotState;
    use crate::plot::testing::{candidate, rectangle, settings};
    use crate::views::testing::{record, unreadable};

    #[test]
    fn the_drawing_has_each_corners_sigma_the_neighbours_and_the_area_with_its_uncertainty() {
        let report = crate::plot::check(
            &candidate(rectangle(112.73, 25.75, 12.0, 10.0)),
            &settings(),
            &[],
        );
        let areas = *report.areas().unwrap();
        let record = record(3, "王 & 李", PlotState::Pending, report.clone());
        let shell = &report.checked().unwrap().shell;
        let p = |i: usize| shell[i].plane.map(|p| (p.easting_m, p.northing_m)).unwrap();
        let neighbours = [
            Neighbour {
                kind: NeighbourKind::MiningRight,
                label: "采矿权 某矿 压覆 12.0 m²".into(),
                polygons: vec![vec![vec![p(0), p(1), p(2)]]],
            },
            Neighbour {
                kind: NeighbourKind::EarlierPlot,
                label: "重复 地块 1 王家".into(),
                polygons: vec![vec![
                    shell
                        .iter()
                        .map(|c| c.plane.map(|p| (p.easting_m, p.northing_m)).unwrap())
                        .collect(),
                ]],
            },
        ];
        let svg = draw(&record, &neighbours);
        // The mining right is shaded under the plot; the earlier plot a duplicate repeats
        // lies on the plot's own boundary, so it is drawn over it.
        let at = |needle: &str| {
            svg.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {svg}"))
        };
        assert!(at("url(#hatch)\" fill-rule") < at(r#"stroke-width="2.5""#));
        assert!(at(r#"stroke-width="2.5""#) < at(r#"stroke-dasharray="8 5"/>"#));
        // Four corners at σ = 3 m: four dashed circles, and four labels saying so.
        assert_eq!(
            svg.matches(r##"stroke="#457b9d" stroke-dasharray"##)
                .count(),
            4
        );
        assert_eq!(svg.matches("(σ 3.0 m)").count(), 4);
        assert!(svg.contains("url(#hatch)"), "the mining right is hatched");
        assert!(
            svg.contains("1. 采矿权 某矿 压覆 12.0 m²"),
            "and named in the legend"
        );
        assert!(svg.contains("王 &amp; 李"), "names are escaped");
        assert!(svg.contains(&format!("面积 {}", areas.shown().zh)));
        assert!(areas.shown().zh.contains('±'));
        assert!(svg.contains("北 N") && svg.contains("比例尺"));
        assert!(svg.trim_end().ends_with("</svg>"));
    }

    #[test]
    fn a_file_that_could_not_be_read_is_drawn_as_its_reason() {
        let svg = draw(
            &record(1, "broken.txt", PlotState::Refused, unreadable()),
            &[],
        );
        assert!(svg.contains("没有界址点可绘制 No corners to draw"), "{svg}");
        assert!(
            svg.contains("国土坐标TXT文件第16行无法读取：界址点行应有点号"),
            "{svg}"
        );
        assert!(
            svg.contains("The 国土 TXT file cannot be read at line 16"),
            "{svg}"
        );
        assert!(svg.contains("面积 未能计算"), "{svg}");
    }
}
