//! The 国土 boundary-point coordinate file (勘测定界界址点坐标交换格式, "国土TXT"):
//!
//! ```text
//! [属性描述]
//! 坐标系=2000国家大地坐标系
//! 几度分带=3
//! 投影类型=高斯克吕格
//! 计量单位=米
//! 带号=38
//! 精度=0.001
//! 转换参数=,,,,,,
//! [地块坐标]
//! 5,0.0109,1,地块1,面,,,,@          points, area (ha), number, name, 面, sheet, use, class, @
//! J1,1,2849751.651,38372576.044     point, ring, X = northing, Y = easting (zone prefixed)
//! ...
//! J1,1,2849751.651,38372576.044     each ring closed by repeating its first point
//! ```
//!
//! The reader takes what real files contain: other sections before `[属性描述]` (ignored),
//! eastings with or without the zone prefix (without: `带号` gives the zone; with, an empty
//! `带号` is taken from the easting), the area in ha or m² (checked against the coordinates),
//! plot lines of any number of fields that end in `@` (8 and 13 are common), several rings
//! per plot (ring 1 the boundary, the others holes) and several plots per file, a ring not
//! closed (closed, with a warning), blank lines and any of the encodings in [`super::encoding`].
//! A line it cannot read is an error with its number: no corner is ever dropped quietly.
//! Rings 2, 3, … are taken as holes; a file that numbers the parts of a multi-part plot that
//! way gives a plot the check refuses (`hole_outside_shell`), with the file kept: a plot here
//! is one polygon.
//!
//! The writer writes the header, one plot line per plot (area in ha, 4 decimals), and its
//! rings as the field convention has them, the boundary clockwise and holes counter-clockwise
//! from their first corner, each closed by repeating its first point; GB18030 with CRLF by
//! default. Commas, `@` and line breaks in names would break the format: they are written as
//! their full-width forms and spaces.

use std::fmt::Write as _;

use super::encoding::{self, TextEncoding, WriteEncoding};
use crate::plot::area::signed_plane_area;
use crate::plot::projection::{GaussKruger, PlanePoint, Zone};
use crate::plot::{CheckedPlot, Finding, FindingKind, PlotCorner};
use crate::survey::{Corner, PlotCandidate, Source};

/// A line of a TXT file that could not be read, and why. Shown Chinese first, as an officer
/// reads it: `第16行：… (line 16: …)`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("第{line}行：{} (line {line}: {})", .kind.zh(), .kind.en())]
pub struct TxtError {
    /// 1-based.
    pub line: usize,
    pub kind: TxtErrorKind,
}

/// Why a TXT file could not be read; [`TxtErrorKind::zh`] and [`TxtErrorKind::en`] say it.
#[derive(Debug, Clone, PartialEq)]
pub enum TxtErrorKind {
    NotText,
    NoCoordinates,
    NoPlots,
    OutsideSection(String),
    NotKeyValue(String),
    PointFields(usize),
    PointBeforePlot,
    NotANumber { field: &'static str, value: String },
    BadRing(String),
    RingOrder { ring: usize, after: usize },
    FirstRing(usize),
    PlotFields(usize),
    NotAPolygon(String),
    PointCount { stated: usize, found: usize },
    EmptyPlot,
    NotCgcs2000(String),
    ZoneWidth(String),
    NotMetres(String),
    BadZone(String),
    ZoneMismatch { header: u8, easting: u8 },
    NoZone,
    OutsideZone(u8),
}

impl TxtErrorKind {
    /// What an officer reads.
    pub fn zh(&self) -> String {
        match self {
            TxtErrorKind::NotText => "文件编码无法识别（不是UTF-8或GBK/GB18030文本）".to_owned(),
            TxtErrorKind::NoCoordinates => "文件缺少[地块坐标]部分".to_owned(),
            TxtErrorKind::NoPlots => "文件中没有地块".to_owned(),
            TxtErrorKind::OutsideSection(text) => {
                format!("“{text}”不在[属性描述]或[地块坐标]之下")
            }
            TxtErrorKind::NotKeyValue(text) => format!("属性行“{text}”不是“名称=值”的格式"),
            TxtErrorKind::PointFields(n) => {
                format!("界址点行应有点号、圈号、X、Y共4项，此行有{n}项")
            }
            TxtErrorKind::PointBeforePlot => "界址点行之前缺少地块行（以@结尾）".to_owned(),
            TxtErrorKind::NotANumber { field, value } => format!("{field}“{value}”不是数字"),
            TxtErrorKind::BadRing(ring) => format!("圈号“{ring}”应为1、2、3……"),
            TxtErrorKind::RingOrder { ring, after } => {
                format!("第{ring}圈的点在第{after}圈之后又出现，圈号顺序错误")
            }
            TxtErrorKind::FirstRing(ring) => format!("地块应从第1圈开始，此处是第{ring}圈"),
            TxtErrorKind::PlotFields(n) => format!("地块行在@之前至少应有5项，此行有{n}项"),
            TxtErrorKind::NotAPolygon(shape) => format!("地块图形是“{shape}”，不是“面”"),
            TxtErrorKind::PointCount { stated, found } => {
                format!("地块行写有{stated}个界址点，实际有{found}个")
            }
            TxtErrorKind::EmptyPlot => "地块没有界址点".to_owned(),
            TxtErrorKind::NotCgcs2000(crs) => {
                format!("坐标系是“{crs}”，不是2000国家大地坐标系")
            }
            TxtErrorKind::ZoneWidth(width) => format!("只支持3度分带，此文件是{width}度分带"),
            TxtErrorKind::NotMetres(unit) => format!("计量单位是“{unit}”，不是米"),
            TxtErrorKind::BadZone(zone) => format!("带号“{zone}”不是中国的3度带（25至45）"),
            TxtErrorKind::ZoneMismatch { header, easting } => {
                format!("Y坐标前的带号是{easting}，与文件头的带号{header}不符")
            }
            TxtErrorKind::NoZone => {
                "Y坐标前没有带号，文件头的带号也是空的，无法确定带号".to_owned()
            }
            TxtErrorKind::OutsideZone(zone) => format!("坐标超出第{zone}带的范围"),
        }
    }

    pub fn en(&self) -> String {
        match self {
            TxtErrorKind::NotText => {
                "these bytes are neither UTF-8 nor GBK/GB18030 text".to_owned()
            }
            TxtErrorKind::NoCoordinates => "the file has no [地块坐标] section".to_owned(),
            TxtErrorKind::NoPlots => "the file has no plots".to_owned(),
            TxtErrorKind::OutsideSection(text) => format!("{text:?} is outside any section"),
            TxtErrorKind::NotKeyValue(text) => format!("{text:?} is not key=value"),
            TxtErrorKind::PointFields(n) => {
                format!("a point line needs point, ring, X, Y; this one has {n} fields")
            }
            TxtErrorKind::PointBeforePlot => "a point before any plot line".to_owned(),
            TxtErrorKind::NotANumber { field, value } => {
                format!("{field} {value:?} is not a number")
            }
            TxtErrorKind::BadRing(ring) => format!("ring {ring:?} is not a ring number 1, 2, …"),
            TxtErrorKind::RingOrder { ring, after } => {
                format!("ring {ring} comes again after ring {after}")
            }
            TxtErrorKind::FirstRing(ring) => format!("the plot's first ring is {ring}, not 1"),
            TxtErrorKind::PlotFields(n) => {
                format!("a plot line needs at least 5 fields before the @, this one has {n}")
            }
            TxtErrorKind::NotAPolygon(shape) => {
                format!("the plot is a {shape}, not a polygon (面)")
            }
            TxtErrorKind::PointCount { stated, found } => {
                format!("the plot line says {stated} points, {found} follow")
            }
            TxtErrorKind::EmptyPlot => "the plot has no points".to_owned(),
            TxtErrorKind::NotCgcs2000(crs) => {
                format!("the coordinate system is {crs:?}, not CGCS2000")
            }
            TxtErrorKind::ZoneWidth(width) => {
                format!("zones of {width}° are not supported, only 3°")
            }
            TxtErrorKind::NotMetres(unit) => format!("the unit is {unit:?}, not metres"),
            TxtErrorKind::BadZone(zone) => {
                format!("带号 {zone:?} is not a 3° zone of China, 25 to 45")
            }
            TxtErrorKind::ZoneMismatch { header, easting } => {
                format!("the easting carries zone {easting}, 带号 says {header}")
            }
            TxtErrorKind::NoZone => {
                "the easting carries no zone prefix and 带号 is empty".to_owned()
            }
            TxtErrorKind::OutsideZone(zone) => {
                format!("the coordinates are not in zone {zone}")
            }
        }
    }
}

fn at(line: usize, kind: TxtErrorKind) -> TxtError {
    TxtError { line, kind }
}

/// One plot of a file, as a candidate, with what the file says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TxtPlot {
    /// 地块编号.
    pub number: String,
    /// Where its plot line is.
    pub line: usize,
    /// 地块面积 as written.
    pub stated_area: Option<f64>,
    pub candidate: PlotCandidate,
}

/// A file read.
#[derive(Debug, Clone, PartialEq)]
pub struct TxtFile {
    pub encoding: TextEncoding,
    pub zone: Zone,
    pub plots: Vec<TxtPlot>,
}

/// The header keys the reader uses.
#[derive(Debug, Default)]
struct Header {
    crs: Option<String>,
    zone_width: Option<String>,
    unit: Option<String>,
    zone: Option<String>,
}

/// A point line as read.
#[derive(Debug, Clone)]
struct Point {
    name: String,
    line: usize,
    northing: f64,
    /// As written: with or without the zone prefix.
    easting: f64,
}

/// A plot being read: its plot line's fields and its rings so far.
#[derive(Debug)]
struct PendingPlot {
    line: usize,
    stated_points: Option<usize>,
    stated_area: Option<f64>,
    number: String,
    name: String,
    /// Ring number and points, in file order.
    rings: Vec<(usize, Vec<Point>)>,
}

fn number(line: usize, field: &'static str, value: &str) -> Result<f64, TxtError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            at(
                line,
                TxtErrorKind::NotANumber {
                    field,
                    value: value.to_owned(),
                },
            )
        })
}

/// The text in the header's value, if not blank.
fn filled(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Header {
    /// Refuses what the reader cannot turn into CGCS2000 3° plane coordinates.
    fn check(&self, line: usize) -> Result<Option<Zone>, TxtError> {
        if let Some(crs) = filled(&self.crs)
            && !(crs.contains("2000") || crs.to_ascii_uppercase().contains("CGCS"))
        {
            return Err(at(line, TxtErrorKind::NotCgcs2000(crs.to_owned())));
        }
        if let Some(width) = filled(&self.zone_width)
            && width != "3"
        {
            return Err(at(line, TxtErrorKind::ZoneWidth(width.to_owned())));
        }
        if let Some(unit) = filled(&self.unit)
            && !(unit == "米" || unit.eq_ignore_ascii_case("m"))
        {
            return Err(at(line, TxtErrorKind::NotMetres(unit.to_owned())));
        }
        filled(&self.zone)
            .map(|z| {
                z.parse::<u8>()
                    .ok()
                    .and_then(|n| Zone::new(n).ok())
                    .ok_or_else(|| at(line, TxtErrorKind::BadZone(z.to_owned())))
            })
            .transpose()
    }
}

/// The zone a point is in, and its easting without the prefix.
fn zone_of(point: &Point, header: Option<Zone>) -> Result<(Zone, f64), TxtError> {
    if point.easting >= 1e7 {
        let prefix = (point.easting / 1e6).floor();
        let zone = Zone::of_prefixed_easting(point.easting)
            .ok_or_else(|| at(point.line, TxtErrorKind::BadZone(format!("{prefix}"))))?;
        if let Some(header) = header
            && header != zone
        {
            return Err(at(
                point.line,
                TxtErrorKind::ZoneMismatch {
                    header: header.number(),
                    easting: zone.number(),
                },
            ));
        }
        Ok((zone, point.easting - zone.easting_prefix()))
    } else {
        let zone = header.ok_or_else(|| at(point.line, TxtErrorKind::NoZone))?;
        Ok((zone, point.easting))
    }
}

/// Points closer than this are the same point, metres (files carry millimetres).
const SAME_POINT_M: f64 = 0.0005;

fn split_plot_line(line: usize, text: &str) -> Result<PendingPlot, TxtError> {
    let body = text.trim_end_matches('@').trim_end();
    let body = body.strip_suffix(',').unwrap_or(body);
    let fields: Vec<&str> = body.split(',').map(str::trim).collect();
    if fields.len() < 5 {
        return Err(at(line, TxtErrorKind::PlotFields(fields.len())));
    }
    let shape = fields[4];
    if !(shape.is_empty() || shape == "面") {
        return Err(at(line, TxtErrorKind::NotAPolygon(shape.to_owned())));
    }
    let stated_points = match fields[0] {
        "" => None,
        count => Some(count.parse::<usize>().map_err(|_| {
            at(
                line,
                TxtErrorKind::NotANumber {
                    field: "界址点数",
                    value: count.to_owned(),
                },
            )
        })?),
    };
    let stated_area = match fields[1] {
        "" => None,
        area => Some(number(line, "地块面积", area)?),
    };
    Ok(PendingPlot {
        line,
        stated_points,
        stated_area,
        number: fields[2].to_owned(),
        name: fields[3].to_owned(),
        rings: Vec::new(),
    })
}

fn split_point_line(line: usize, text: &str) -> Result<(usize, Point), TxtError> {
    let fields: Vec<&str> = text.split(',').map(str::trim).collect();
    let [name, ring, x, y] = fields[..] else {
        return Err(at(line, TxtErrorKind::PointFields(fields.len())));
    };
    let ring = ring
        .parse::<usize>()
        .ok()
        .filter(|r| *r >= 1)
        .ok_or_else(|| at(line, TxtErrorKind::BadRing(ring.to_owned())))?;
    Ok((
        ring,
        Point {
            name: name.to_owned(),
            line,
            northing: number(line, "X", x)?,
            easting: number(line, "Y", y)?,
        },
    ))
}

impl PendingPlot {
    fn push(&mut self, ring: usize, point: Point) -> Result<(), TxtError> {
        match self.rings.last_mut() {
            Some((current, points)) if *current == ring => points.push(point),
            last => {
                if let Some(after) = last.map(|(r, _)| *r) {
                    if self.rings.iter().any(|(r, _)| *r == ring) {
                        return Err(at(point.line, TxtErrorKind::RingOrder { ring, after }));
                    }
                } else if ring != 1 {
                    return Err(at(point.line, TxtErrorKind::FirstRing(ring)));
                }
                self.rings.push((ring, vec![point]));
            }
        }
        Ok(())
    }

    /// The plot as a candidate from `device`, its points projected back from `zone`'s plane.
    fn finish(self, header: Option<Zone>, device: &str) -> Result<(TxtPlot, Zone), TxtError> {
        let first = self
            .rings
            .first()
            .and_then(|(_, points)| points.first())
            .ok_or_else(|| at(self.line, TxtErrorKind::EmptyPlot))?;
        let (zone, _) = zone_of(first, header)?;
        let gk = GaussKruger::new(zone);
        let mut findings = Vec::new();
        let (mut lines, mut closings) = (0, 0);
        let mut rings: Vec<(Vec<Corner>, Vec<PlanePoint>)> = Vec::new();
        for (index, (_, points)) in self.rings.iter().enumerate() {
            lines += points.len();
            let mut plane = Vec::with_capacity(points.len());
            for point in points {
                let (point_zone, easting) = zone_of(point, Some(zone))?;
                debug_assert_eq!(point_zone, zone);
                plane.push(PlanePoint::new(point.northing, easting));
            }
            let closed =
                plane.len() > 1 && plane[0].distance_to(plane[plane.len() - 1]) < SAME_POINT_M;
            let kept = if closed {
                closings += 1;
                plane.len() - 1
            } else {
                if plane.len() >= 3 {
                    findings.push(Finding::new(FindingKind::RingNotClosed { ring: index }));
                }
                plane.len()
            };
            let corners = points[..kept]
                .iter()
                .zip(&plane)
                .map(|(point, p)| {
                    let (lon, lat) = gk
                        .inverse(*p)
                        .map_err(|_| at(point.line, TxtErrorKind::OutsideZone(zone.number())))?;
                    Ok(Corner {
                        name: point.name.clone(),
                        lon,
                        lat,
                        sigma_m: None,
                        fixes: 1,
                        raw: vec![format!("line {}", point.line)],
                    })
                })
                .collect::<Result<Vec<_>, TxtError>>()?;
            plane.truncate(kept);
            rings.push((corners, plane));
        }
        if let Some(stated) = self.stated_points
            && stated != lines
            && stated != lines - closings
        {
            return Err(at(
                self.line,
                TxtErrorKind::PointCount {
                    stated,
                    found: lines,
                },
            ));
        }
        if let Some(stated) = self.stated_area {
            let area_m2 = rings
                .iter()
                .enumerate()
                .map(|(i, (_, p))| {
                    let a = signed_plane_area(p).abs();
                    if i == 0 { a } else { -a }
                })
                .sum::<f64>();
            if !stated_area_fits(stated, area_m2) {
                findings.push(Finding::new(FindingKind::StatedAreaDiffers {
                    stated,
                    area_m2,
                }));
            }
        }
        let name = match (self.name.as_str(), self.number.as_str()) {
            ("", "") => format!("地块(第{}行)", self.line),
            ("", number) => format!("地块{number}"),
            (name, _) => name.to_owned(),
        };
        let mut rings = rings.into_iter().map(|(corners, _)| corners);
        let mut candidate = PlotCandidate::new(
            name,
            Source::TxtImport,
            device,
            rings.next().unwrap_or_default(),
            Vec::new(),
        );
        candidate.holes = rings.collect();
        candidate.findings = findings;
        Ok((
            TxtPlot {
                number: self.number,
                line: self.line,
                stated_area: self.stated_area,
                candidate,
            },
            zone,
        ))
    }
}

/// Whether a stated area is the computed one in ha (the format's unit) or in m² (what many
/// tools write), to its written precision: 4 decimals of a ha are ±0.5 m².
fn stated_area_fits(stated: f64, area_m2: f64) -> bool {
    let as_ha = (stated - area_m2 / 10_000.0).abs() <= 0.000_06_f64.max(0.005 * area_m2 / 10_000.0);
    let as_m2 = (stated - area_m2).abs() <= 0.6_f64.max(0.005 * area_m2);
    as_ha || as_m2
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Attributes,
    Coordinates,
    Other,
}

/// Reads a TXT file's plots; `device` is what the candidates say they came from (the path).
pub fn read(bytes: &[u8], device: &str) -> Result<TxtFile, TxtError> {
    let (text, encoding) =
        encoding::decode(bytes).map_err(|e| at(e.line, TxtErrorKind::NotText))?;
    let mut header = Header::default();
    let mut header_zone = None;
    let mut section = Section::None;
    let mut seen_coordinates = false;
    let mut pending: Option<PendingPlot> = None;
    let mut plots = Vec::new();
    let mut file_zone = None;
    let mut finish = |plot: PendingPlot, header_zone: Option<Zone>| -> Result<(), TxtError> {
        let (plot, zone) = plot.finish(header_zone, device)?;
        file_zone.get_or_insert(zone);
        plots.push(plot);
        Ok(())
    };
    let mut last_line = 0;
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        last_line = line;
        let text = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if text.is_empty() {
            continue;
        }
        if text.starts_with('[') && text.ends_with(']') {
            section = match &text[1..text.len() - 1] {
                "属性描述" => Section::Attributes,
                "地块坐标" => {
                    header_zone = header.check(line)?;
                    seen_coordinates = true;
                    Section::Coordinates
                }
                _ => Section::Other,
            };
            continue;
        }
        match section {
            Section::None => return Err(at(line, TxtErrorKind::OutsideSection(text.to_owned()))),
            Section::Other => {}
            Section::Attributes => {
                let (key, value) = text
                    .split_once('=')
                    .ok_or_else(|| at(line, TxtErrorKind::NotKeyValue(text.to_owned())))?;
                let slot = match key.trim() {
                    "坐标系" => &mut header.crs,
                    "几度分带" => &mut header.zone_width,
                    "计量单位" => &mut header.unit,
                    "带号" => &mut header.zone,
                    _ => continue,
                };
                *slot = Some(value.trim().to_owned());
            }
            Section::Coordinates if text.ends_with('@') => {
                if let Some(plot) = pending.take() {
                    finish(plot, header_zone)?;
                }
                pending = Some(split_plot_line(line, text)?);
            }
            Section::Coordinates => {
                let (ring, point) = split_point_line(line, text)?;
                pending
                    .as_mut()
                    .ok_or_else(|| at(line, TxtErrorKind::PointBeforePlot))?
                    .push(ring, point)?;
            }
        }
    }
    if let Some(plot) = pending.take() {
        finish(plot, header_zone)?;
    }
    if !seen_coordinates {
        return Err(at(last_line, TxtErrorKind::NoCoordinates));
    }
    let zone = file_zone.ok_or_else(|| at(last_line, TxtErrorKind::NoPlots))?;
    Ok(TxtFile {
        encoding,
        zone,
        plots,
    })
}

/// How a TXT file is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtOptions {
    /// Eastings with the zone in front (`projection.easting_prefix`).
    pub zone_prefix: bool,
    pub encoding: WriteEncoding,
    /// 数据产生日期, `YYYY-MM-DD` (the caller's clock).
    pub date: String,
    /// 数据产生单位.
    pub producer: String,
}

/// A name as the format can carry it: no field separators, no `@`, on one line.
fn field(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ',' => '，',
            '@' => '＠',
            '\r' | '\n' => ' ',
            c => c,
        })
        .collect()
}

/// The ring in the file's zone, in the field's order: the boundary clockwise, holes
/// counter-clockwise, from their first corner.
fn file_ring(
    ring: &[PlotCorner],
    zone: Zone,
    theirs: Zone,
    boundary: bool,
) -> Vec<(String, PlanePoint)> {
    let gk = (zone != theirs).then(|| GaussKruger::new(zone));
    let mut points: Vec<(String, PlanePoint)> = ring
        .iter()
        .map(|c| {
            let plane = match &gk {
                // Corners in China project in every zone of China.
                Some(gk) => gk
                    .forward(c.lon, c.lat)
                    .expect("a checked corner projects in any zone of China"),
                None => c
                    .plane
                    .expect("every corner of a checked plot is projected"),
            };
            (c.name.clone(), plane)
        })
        .collect();
    let ccw = signed_plane_area(&points.iter().map(|(_, p)| *p).collect::<Vec<_>>()) > 0.0;
    if ccw == boundary {
        points[1..].reverse();
    }
    points
}

/// Writes checked plots as one TXT file, in the first plot's zone.
pub fn write(plots: &[CheckedPlot], options: &TxtOptions) -> Vec<u8> {
    let zone = plots
        .first()
        .map_or(Zone::new(38).expect("38 is a zone"), |p| p.zone);
    let mut text = String::new();
    // `write!` to a String cannot fail.
    let _ = write!(
        text,
        "[属性描述]\n格式版本号=1.01\n数据产生单位={}\n数据产生日期={}\n\
         坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n\
         带号={zone}\n精度=0.001\n转换参数=,,,,,,\n[地块坐标]\n",
        field(&options.producer),
        field(&options.date),
    );
    for (n, plot) in (1..).zip(plots) {
        let rings: Vec<Vec<(String, PlanePoint)>> = std::iter::once(&plot.shell)
            .chain(&plot.holes)
            .enumerate()
            .map(|(r, ring)| file_ring(ring, zone, plot.zone, r == 0))
            .collect();
        let lines: usize = rings.iter().map(|r| r.len() + 1).sum();
        let _ = writeln!(
            text,
            "{lines},{:.4},{n},{},面,,,,@",
            plot.areas.area_ha,
            field(&plot.name)
        );
        for (r, ring) in (1..).zip(&rings) {
            for (name, p) in ring.iter().chain(ring.first()) {
                let easting = if options.zone_prefix {
                    p.prefixed_easting(zone)
                } else {
                    p.easting_m
                };
                let _ = writeln!(text, "{},{r},{:.3},{easting:.3}", field(name), p.northing_m);
            }
        }
    }
    encoding::encode(&text, options.encoding)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's sample (Windr07/Txt-ShpConverter), plot 1: area in m², zone 37.
    const SAMPLE: &str = "[属性描述]\n格式版本号=\n数据产生单位=\n数据产生日期=\n\
        坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号=37\n\
        精度=0.001\n转换参数=,,,,,,\n[地块坐标]\n5,109.43,1,,面,,,,@\n\
        J1,1,2369625.708,37465566.598\nJ2,1,2369635.954,37465579.173\n\
        J3,1,2369628.036,37465584.762\nJ4,1,2369623.845,37465578.707\n\
        J5,1,2369625.708,37465566.598\n";

    fn read_str(text: &str) -> Result<TxtFile, TxtError> {
        read(text.as_bytes(), "plots.txt")
    }

    #[test]
    fn the_reference_sample_reads_with_its_area_in_square_metres() {
        let file = read_str(SAMPLE).unwrap();
        assert_eq!(file.zone.number(), 37);
        assert_eq!(file.encoding, TextEncoding::Utf8);
        let [plot] = &file.plots[..] else {
            panic!("{file:?}")
        };
        assert_eq!((plot.number.as_str(), plot.line), ("1", 13));
        let candidate = &plot.candidate;
        assert_eq!(candidate.name, "地块1");
        assert_eq!(candidate.source, Source::TxtImport);
        // The closing J5 repeats J1 and is dropped; 109.43 m² matches the coordinates.
        let names: Vec<&str> = candidate.corners.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["J1", "J2", "J3", "J4"]);
        assert!(candidate.findings.is_empty(), "{:?}", candidate.findings);
        assert_eq!(candidate.corners[1].raw, ["line 15"]);
        // 37465566.598 is 465566.598 m east in zone 37 (111°E): about 110.66°E.
        assert!((candidate.corners[0].lon - 110.66).abs() < 0.01);
        assert!((candidate.corners[0].lat - 21.42).abs() < 0.01);
    }

    #[test]
    fn variants_real_files_contain_are_read() {
        // GBK with CRLF, a BOM-less UTF-8 free section first, no zone prefix but 带号, an
        // area in ha, a 13-field plot line, a hole, an unclosed ring, blank lines.
        let text = "[项目信息]\r\n项目名称=樟市镇\r\n\r\n[属性描述]\r\n坐标系=2000国家大地坐标系\r\n\
            带号=37\r\n[地块坐标]\r\n\
            9,0.0108,7,王家宅基地,面,,宅基地,0702,,,,,,@\r\n\
            J1,1,2369625.708,465566.598\r\nJ2,1,2369635.954,465579.173\r\n\
            J3,1,2369628.036,465584.762\r\nJ4,1,2369623.845,465578.707\r\n\
            J1,1,2369625.708,465566.598\r\n\r\n\
            K1,2,2369627.0,465572.0\r\nK2,2,2369628.0,465572.0\r\nK3,2,2369628.0,465573.0\r\n\
            K4,2,2369627.0,465573.0\r\n";
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        let file = read(&bytes, "plots.txt").unwrap();
        assert_eq!(file.encoding, TextEncoding::Gb18030);
        let plot = &file.plots[0].candidate;
        assert_eq!(plot.name, "王家宅基地");
        assert_eq!(plot.corners.len(), 4);
        assert_eq!(plot.holes.len(), 1);
        assert_eq!(plot.holes[0].len(), 4);
        // 109.44 m² less the 1 m² hole is 0.0108 ha, as stated; the hole was not closed.
        let codes: Vec<&str> = plot.findings.iter().map(Finding::code).collect();
        assert_eq!(codes, ["ring_not_closed"]);
        assert_eq!(plot.holes[0][2].raw, ["line 17"]);
    }

    #[test]
    fn the_stated_area_may_be_ha_or_square_metres_but_must_be_the_area() {
        assert!(stated_area_fits(0.0109, 109.44));
        assert!(stated_area_fits(109.43, 109.44));
        assert!(!stated_area_fits(0.0111, 109.44));
        assert!(!stated_area_fits(120.0, 109.44));
        let text = SAMPLE.replace("5,109.43,", "5,120.5,");
        let plot = &read_str(&text).unwrap().plots[0];
        assert_eq!(plot.candidate.findings[0].code(), "stated_area_differs");
        assert_eq!(plot.stated_area, Some(120.5));
    }

    #[test]
    fn the_zone_comes_from_the_easting_when_the_header_has_none() {
        let text = SAMPLE.replace("带号=37", "带号=");
        assert_eq!(read_str(&text).unwrap().zone.number(), 37);
        let text = SAMPLE.replace("带号=37", "带号=38");
        assert_eq!(
            read_str(&text).unwrap_err(),
            at(
                14,
                TxtErrorKind::ZoneMismatch {
                    header: 38,
                    easting: 37
                }
            )
        );
        let unprefixed = SAMPLE.replace(",37465", ",465").replace("带号=37", "带号=");
        assert_eq!(
            read_str(&unprefixed).unwrap_err(),
            at(14, TxtErrorKind::NoZone)
        );
    }

    #[test]
    fn several_plots_per_file() {
        let second = "4,109.43,2,东邻,面,,,,@\nJ1,1,2369625.708,37465566.598\n\
            J2,1,2369635.954,37465579.173\nJ3,1,2369628.036,37465584.762\n\
            J4,1,2369623.845,37465578.707\n";
        let file = read_str(&format!("{SAMPLE}{second}")).unwrap();
        let names: Vec<&str> = file
            .plots
            .iter()
            .map(|p| p.candidate.name.as_str())
            .collect();
        assert_eq!(names, ["地块1", "东邻"]);
        // 4 points, not closed: the count is the lines, and the ring is closed with a warning.
        assert_eq!(
            file.plots[1].candidate.findings[0].code(),
            "ring_not_closed"
        );
    }

    #[test]
    fn a_broken_line_is_an_error_with_its_number() {
        let cases: Vec<(String, TxtError)> = vec![
            (
                SAMPLE.replace("J3,1,2369628.036,37465584.762", "J3,1,2369628.036"),
                at(16, TxtErrorKind::PointFields(3)),
            ),
            (
                SAMPLE.replace("J3,1,2369628.036,", "J3,1,2369628.O36,"),
                at(
                    16,
                    TxtErrorKind::NotANumber {
                        field: "X",
                        value: "2369628.O36".to_owned(),
                    },
                ),
            ),
            (
                SAMPLE.replace("J3,1,2369628.036,", "J3,1,NaN,"),
                at(
                    16,
                    TxtErrorKind::NotANumber {
                        field: "X",
                        value: "NaN".to_owned(),
                    },
                ),
            ),
            (
                SAMPLE.replace("J3,1,", "J3,x,"),
                at(16, TxtErrorKind::BadRing("x".to_owned())),
            ),
            (
                SAMPLE.replace("5,109.43,1,,面,,,,@", "5,109.43,1,,线,,,,@"),
                at(13, TxtErrorKind::NotAPolygon("线".to_owned())),
            ),
            (
                SAMPLE.replace("5,109.43,1,,面,,,,@", "7,109.43,1,,面,,,,@"),
                at(
                    13,
                    TxtErrorKind::PointCount {
                        stated: 7,
                        found: 5,
                    },
                ),
            ),
            (
                SAMPLE.replace("5,109.43,1,,面,,,,@\n", ""),
                at(13, TxtErrorKind::PointBeforePlot),
            ),
            (
                SAMPLE.replace("2000国家大地坐标系", "1980西安坐标系"),
                at(12, TxtErrorKind::NotCgcs2000("1980西安坐标系".to_owned())),
            ),
            (
                SAMPLE.replace("几度分带=3", "几度分带=6"),
                at(12, TxtErrorKind::ZoneWidth("6".to_owned())),
            ),
            (
                SAMPLE.replace("[地块坐标]\n", ""),
                at(
                    12,
                    TxtErrorKind::NotKeyValue("5,109.43,1,,面,,,,@".to_owned()),
                ),
            ),
            (
                SAMPLE.replace("J4,1,", "J4,2,"),
                at(18, TxtErrorKind::RingOrder { ring: 1, after: 2 }),
            ),
            (
                "no header\n".to_owned(),
                at(1, TxtErrorKind::OutsideSection("no header".to_owned())),
            ),
            (
                "[属性描述]\n带号=37\n[地块坐标]\n".to_owned(),
                at(4, TxtErrorKind::NoPlots),
            ),
            (
                "[属性描述]\n带号=37\n".to_owned(),
                at(3, TxtErrorKind::NoCoordinates),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(read_str(&text).unwrap_err(), expected, "{text}");
        }
        // The wrong encoding: not text at all, at its line.
        let mut bytes = SAMPLE.as_bytes().to_vec();
        bytes.extend_from_slice(b"J6,1,\xff\xfe\x00,1\n");
        assert_eq!(
            read(&bytes, "x").unwrap_err(),
            at(19, TxtErrorKind::NotText)
        );
        assert_eq!(
            at(16, TxtErrorKind::PointFields(3)).to_string(),
            "第16行：界址点行应有点号、圈号、X、Y共4项，此行有3项 \
             (line 16: a point line needs point, ring, X, Y; this one has 3 fields)"
        );
    }
}
