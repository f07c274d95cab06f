//! What the checks found, in words an officer reads (Chinese first, then English) and in a
//! form a program reads (a stable snake_case `code` with structured `details`).
//!
//! [`FindingKind`] is one enum variant per kind of finding, carrying its details; its code,
//! severity and texts follow from the variant, so a kind is added in one place: a variant
//! here and its arms in [`FindingKind::code`], [`FindingKind::severity`] and
//! [`FindingKind::texts`]. The layer pre-check (压覆) adds its overlap kinds the same way.
//!
//! Serialized, a finding is `{"code": …, "details": {…}, "severity": "warning"|"refusal",
//! "zh": …, "en": …}`; the texts are stored, so a plot shown later reads as it was checked.

use serde::{Deserialize, Serialize};

use super::LandKind;

/// Whether a finding stops the plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Shown with the plot; the plot goes on to the approval system.
    Warning,
    /// The plot is not delivered; it is kept with its input and the reason.
    Refusal,
}

/// Which ring of a plot: 0 is the outer boundary (shell), 1.. the holes in file order.
pub type RingIndex = usize;

/// One finding's kind and details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", content = "details", rename_all = "snake_case")]
pub enum FindingKind {
    /// Fewer than three distinct corners in a ring.
    TooFewCorners { ring: RingIndex, distinct: usize },
    /// More corners than the approval system takes.
    TooManyCorners { count: usize, limit: usize },
    /// Two consecutive corners at the same point.
    RepeatedCorner {
        ring: RingIndex,
        corners: [String; 2],
    },
    /// Every corner of the ring on one straight line: it encloses nothing.
    Collinear { ring: RingIndex },
    /// The plot encloses less than the smallest plausible area.
    AreaTooSmall { area_m2: f64, limit_m2: f64 },
    /// The boundary goes out to a corner and comes straight back.
    Spike {
        ring: RingIndex,
        corner: String,
        angle_deg: f64,
    },
    /// Two edges of a ring cross (a bow-tie).
    SelfIntersection {
        ring: RingIndex,
        edges: [[String; 2]; 2],
    },
    /// A hole is not inside the outer boundary.
    HoleOutsideShell { ring: RingIndex },
    /// Two holes overlap.
    HolesOverlap { rings: [RingIndex; 2] },
    /// Corners outside China: a wrong datum or a bad fix.
    OutsideChina { corners: Vec<String> },
    /// A ring the input did not close; it was closed.
    RingNotClosed { ring: RingIndex },
    /// The area a file states for the plot is neither the computed area in m² nor in ha.
    StatedAreaDiffers { stated: f64, area_m2: f64 },
    /// Corners whose fixes the receiver marked as estimated (dead reckoning).
    EstimatedFix { corners: Vec<String> },
    /// Corners whose fixes came from the receiver's simulator (demo mode).
    SimulatedFix { corners: Vec<String> },
    /// A corner less accurate than `checks.max_corner_sigma_m`.
    CornerSigmaOverLimit {
        corner: String,
        sigma_m: f64,
        limit_m: f64,
    },
    /// A corner far from the plot's other corners.
    CornerFarFromRest {
        corner: String,
        distance_m: f64,
        limit_m: f64,
    },
    /// The plot lies far from its zone's central meridian (scale error grows).
    FarFromCentralMeridian {
        zone: u8,
        offset_deg: f64,
        limit_deg: f64,
    },
    /// The plot covers at least the duplicate share of an earlier plot, or that plot of it.
    DuplicateOf {
        plot_id: String,
        name: String,
        overlap_m2: f64,
        /// Overlap over this plot's area, and over the earlier plot's.
        share_of_this: f64,
        share_of_other: f64,
    },
    /// The plot overlaps an earlier plot, less than a duplicate would.
    OverlapsPlot {
        plot_id: String,
        name: String,
        overlap_m2: f64,
    },
    /// 压覆: the plot overlaps a registered parcel of the cached layer (the pre-check).
    OverlapParcel {
        feature_id: String,
        name: String,
        holder: String,
        overlap_m2: f64,
    },
    /// 压覆: the plot overlaps a mining-right area of the cached layer (the pre-check).
    OverlapMiningRight {
        feature_id: String,
        name: String,
        holder: String,
        overlap_m2: f64,
    },
    /// The file could not be read (a broken line, the wrong encoding, GeoJSON that is not
    /// polygons): no plot of it goes on; the file is kept as it was, with this reason.
    FileUnreadable {
        /// `txt`, `geojson` or `gpx`.
        format: String,
        /// The line at fault, where the reader knows it (a TXT file's).
        line: Option<usize>,
        reason_zh: String,
        reason_en: String,
    },
    /// The plot's area exceeds the limit for its land kind.
    AreaOverLimit {
        land: LandKind,
        area_m2: f64,
        area_sigma_m2: Option<f64>,
        limit_m2: f64,
    },
}

/// A finding as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    #[serde(flatten)]
    pub kind: FindingKind,
    pub severity: Severity,
    pub zh: String,
    pub en: String,
}

impl Finding {
    pub fn new(kind: FindingKind) -> Self {
        let (zh, en) = kind.texts();
        Finding {
            severity: kind.severity(),
            kind,
            zh,
            en,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    pub fn is_refusal(&self) -> bool {
        self.severity == Severity::Refusal
    }
}

impl From<FindingKind> for Finding {
    fn from(kind: FindingKind) -> Self {
        Finding::new(kind)
    }
}

/// The ring as an officer calls it.
fn ring_zh(ring: RingIndex) -> String {
    match ring {
        0 => "外边界".to_owned(),
        n => format!("第{n}个内环（扣除部分）"),
    }
}

fn ring_en(ring: RingIndex) -> String {
    match ring {
        0 => "the outer boundary".to_owned(),
        n => format!("hole {n}"),
    }
}

/// Corner names for a sentence, at most ten of them.
fn names(corners: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = corners
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if corners.len() > SHOWN {
        text.push_str(&format!(" (+{})", corners.len() - SHOWN));
    }
    text
}

/// "Corner J3 is" or "Corners J1, J2 are": the names with the verb that agrees.
fn corners_en(corners: &[String], one: &str, many: &str) -> String {
    match corners {
        [_] => format!("Corner {} {one}", names(corners)),
        _ => format!("Corners {} {many}", names(corners)),
    }
}

/// A distance as shown, Chinese and English: whole metres from 100 m, kilometres from 10 km.
fn distance(m: f64) -> (String, String) {
    let (value, zh, en) = if m >= 10_000.0 {
        (format!("{:.0}", m / 1000.0), "公里", "km")
    } else if m >= 100.0 {
        (format!("{m:.0}"), "米", "m")
    } else {
        (format!("{m:.1}"), "米", "m")
    };
    (format!("{value}{zh}"), format!("{value} {en}"))
}

fn percent(share: f64) -> String {
    format!("{:.0}%", share * 100.0)
}

impl FindingKind {
    /// The stable snake_case code (as serialized).
    pub fn code(&self) -> &'static str {
        match self {
            FindingKind::TooFewCorners { .. } => "too_few_corners",
            FindingKind::TooManyCorners { .. } => "too_many_corners",
            FindingKind::RepeatedCorner { .. } => "repeated_corner",
            FindingKind::Collinear { .. } => "collinear",
            FindingKind::AreaTooSmall { .. } => "area_too_small",
            FindingKind::Spike { .. } => "spike",
            FindingKind::SelfIntersection { .. } => "self_intersection",
            FindingKind::HoleOutsideShell { .. } => "hole_outside_shell",
            FindingKind::HolesOverlap { .. } => "holes_overlap",
            FindingKind::OutsideChina { .. } => "outside_china",
            FindingKind::RingNotClosed { .. } => "ring_not_closed",
            FindingKind::StatedAreaDiffers { .. } => "stated_area_differs",
            FindingKind::EstimatedFix { .. } => "estimated_fix",
            FindingKind::SimulatedFix { .. } => "simulated_fix",
            FindingKind::CornerSigmaOverLimit { .. } => "corner_sigma_over_limit",
            FindingKind::CornerFarFromRest { .. } => "corner_far_from_rest",
            FindingKind::FarFromCentralMeridian { .. } => "far_from_central_meridian",
            FindingKind::DuplicateOf { .. } => "duplicate_of",
            FindingKind::OverlapsPlot { .. } => "overlaps_plot",
            FindingKind::OverlapParcel { .. } => "overlap_parcel",
            FindingKind::OverlapMiningRight { .. } => "overlap_mining_right",
            FindingKind::AreaOverLimit { .. } => "area_over_limit",
            FindingKind::FileUnreadable { .. } => "file_unreadable",
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            FindingKind::RingNotClosed { .. }
            | FindingKind::StatedAreaDiffers { .. }
            | FindingKind::CornerSigmaOverLimit { .. }
            | FindingKind::FarFromCentralMeridian { .. }
            | FindingKind::OverlapsPlot { .. }
            | FindingKind::OverlapParcel { .. }
            | FindingKind::OverlapMiningRight { .. }
            | FindingKind::AreaOverLimit { .. } => Severity::Warning,
            FindingKind::TooFewCorners { .. }
            | FindingKind::TooManyCorners { .. }
            | FindingKind::RepeatedCorner { .. }
            | FindingKind::Collinear { .. }
            | FindingKind::AreaTooSmall { .. }
            | FindingKind::Spike { .. }
            | FindingKind::SelfIntersection { .. }
            | FindingKind::HoleOutsideShell { .. }
            | FindingKind::HolesOverlap { .. }
            | FindingKind::OutsideChina { .. }
            | FindingKind::EstimatedFix { .. }
            | FindingKind::SimulatedFix { .. }
            | FindingKind::CornerFarFromRest { .. }
            | FindingKind::DuplicateOf { .. }
            | FindingKind::FileUnreadable { .. } => Severity::Refusal,
        }
    }

    /// What an officer reads: Chinese, English.
    pub fn texts(&self) -> (String, String) {
        match self {
            FindingKind::TooFewCorners { ring, distinct } => (
                format!(
                    "{}只有{distinct}个不同的界址点，至少需要3个。",
                    ring_zh(*ring)
                ),
                format!(
                    "{} has {distinct} distinct corners; at least 3 are needed.",
                    capitalized(&ring_en(*ring))
                ),
            ),
            FindingKind::TooManyCorners { count, limit } => (
                format!("地块有{count}个界址点，审批系统最多接受{limit}个。"),
                format!("The plot has {count} corners; the approval system takes at most {limit}."),
            ),
            FindingKind::RepeatedCorner {
                ring,
                corners: [a, b],
            } => (
                format!(
                    "{}的界址点{a}和{b}是同一个点，请删除重复点。",
                    ring_zh(*ring)
                ),
                format!(
                    "Corners {a} and {b} of {} are the same point; remove the repeat.",
                    ring_en(*ring)
                ),
            ),
            FindingKind::Collinear { ring } => (
                format!("{}的所有界址点在一条直线上，围不成地块。", ring_zh(*ring)),
                format!(
                    "All corners of {} lie on one straight line; they enclose no plot.",
                    ring_en(*ring)
                ),
            ),
            FindingKind::AreaTooSmall { area_m2, limit_m2 } => (
                format!("地块面积只有{area_m2:.2}平方米（不足{limit_m2}平方米），请检查界址点。"),
                format!(
                    "The plot encloses only {area_m2:.2} m² (less than {limit_m2} m²); check the corners."
                ),
            ),
            FindingKind::Spike {
                ring,
                corner,
                angle_deg,
            } => (
                format!(
                    "{}在界址点{corner}处折返成尖刺（夹角{angle_deg:.1}°），请复测该点。",
                    ring_zh(*ring)
                ),
                format!(
                    "{} turns back at corner {corner} in a spike ({angle_deg:.1}°); survey that corner again.",
                    capitalized(&ring_en(*ring))
                ),
            ),
            FindingKind::SelfIntersection {
                ring,
                edges: [[a, b], [c, d]],
            } => (
                format!(
                    "{}自相交：边{a}–{b}与边{c}–{d}交叉，请检查界址点顺序。",
                    ring_zh(*ring)
                ),
                format!(
                    "{} crosses itself: edge {a}–{b} crosses edge {c}–{d}; check the order of the corners.",
                    capitalized(&ring_en(*ring))
                ),
            ),
            FindingKind::HoleOutsideShell { ring } => (
                format!("{}不完全在外边界之内。", ring_zh(*ring)),
                format!(
                    "{} is not entirely inside the outer boundary.",
                    capitalized(&ring_en(*ring))
                ),
            ),
            FindingKind::HolesOverlap { rings: [a, b] } => (
                format!("{}与{}相互重叠。", ring_zh(*a), ring_zh(*b)),
                format!("{} and {} overlap.", capitalized(&ring_en(*a)), ring_en(*b)),
            ),
            FindingKind::OutsideChina { corners } => (
                format!(
                    "界址点{}不在中国境内，可能是坐标系错误或定位错误。",
                    names(corners)
                ),
                format!(
                    "{} outside China: a wrong coordinate system or a bad fix.",
                    corners_en(corners, "is", "are")
                ),
            ),
            FindingKind::RingNotClosed { ring } => (
                format!("文件中{}未闭合，已自动闭合。", ring_zh(*ring)),
                format!(
                    "{} was not closed in the file; it has been closed.",
                    capitalized(&ring_en(*ring))
                ),
            ),
            FindingKind::StatedAreaDiffers { stated, area_m2 } => (
                format!(
                    "文件中的地块面积{stated}与按坐标计算的{area_m2:.2}平方米（{:.4}公顷）不符。",
                    area_m2 / 10_000.0
                ),
                format!(
                    "The file states an area of {stated}, but the coordinates give {area_m2:.2} m² ({:.4} ha).",
                    area_m2 / 10_000.0
                ),
            ),
            FindingKind::EstimatedFix { corners } => (
                format!(
                    "界址点{}来自推算定位（非实测），不能作为界址点，请重新实测。",
                    names(corners)
                ),
                format!(
                    "{} from estimated (dead-reckoning) fixes, not measurements; survey {} again.",
                    corners_en(corners, "comes", "come"),
                    if corners.len() == 1 { "it" } else { "them" }
                ),
            ),
            FindingKind::SimulatedFix { corners } => (
                format!(
                    "界址点{}来自接收机的模拟（演示）模式，不是实测位置。",
                    names(corners)
                ),
                format!(
                    "{} from the receiver's simulator (demo mode), not from real fixes.",
                    corners_en(corners, "comes", "come")
                ),
            ),
            FindingKind::CornerSigmaOverLimit {
                corner,
                sigma_m,
                limit_m,
            } => (
                format!(
                    "界址点{corner}的定位误差约{sigma_m:.1}米，超过限值{limit_m:.1}米，面积可能不准。"
                ),
                format!(
                    "Corner {corner} is only accurate to about {sigma_m:.1} m (limit {limit_m:.1} m); the area may be off."
                ),
            ),
            FindingKind::CornerFarFromRest {
                corner,
                distance_m,
                limit_m,
            } => {
                let ((far_zh, far_en), (limit_zh, limit_en)) =
                    (distance(*distance_m), distance(*limit_m));
                (
                    format!(
                        "界址点{corner}距其他界址点{far_zh}，超过{limit_zh}，可能是错误定位，请复测该点。"
                    ),
                    format!(
                        "Corner {corner} is {far_en} from the other corners (more than {limit_en}): probably a bad fix; survey it again."
                    ),
                )
            }
            FindingKind::FarFromCentralMeridian {
                zone,
                offset_deg,
                limit_deg,
            } => (
                format!(
                    "地块距第{zone}带中央经线{offset_deg:.2}°（超过{limit_deg}°），投影变形增大，请确认带号。"
                ),
                format!(
                    "The plot is {offset_deg:.2}° from the central meridian of zone {zone} (more than {limit_deg}°); check the zone."
                ),
            ),
            FindingKind::DuplicateOf {
                plot_id,
                name,
                share_of_this,
                share_of_other,
                ..
            } => (
                format!(
                    "与已有地块“{name}”（编号{plot_id}）重复：重叠部分占本地块{}、占该地块{}，疑为同一宅基地重复测量，不会上传。",
                    percent(*share_of_this),
                    percent(*share_of_other)
                ),
                format!(
                    "Duplicate of plot {name} (no. {plot_id}): the overlap is {} of this plot and {} of that one, likely the same homestead surveyed twice; it is not sent.",
                    percent(*share_of_this),
                    percent(*share_of_other)
                ),
            ),
            FindingKind::OverlapsPlot {
                plot_id,
                name,
                overlap_m2,
            } => (
                format!("与已有地块“{name}”（编号{plot_id}）重叠约{overlap_m2:.0}平方米。"),
                format!("Overlaps plot {name} (no. {plot_id}) by about {overlap_m2:.0} m²."),
            ),
            FindingKind::OverlapParcel {
                feature_id,
                name,
                holder,
                overlap_m2,
            } => (
                format!(
                    "压覆已登记宗地{name}（{feature_id}，权利人{holder}）约{overlap_m2:.1}平方米。"
                ),
                format!(
                    "Overlaps registered parcel {name} ({feature_id}, held by {holder}) by about {overlap_m2:.1} m²."
                ),
            ),
            FindingKind::OverlapMiningRight {
                feature_id,
                name,
                holder,
                overlap_m2,
            } => (
                format!(
                    "压覆采矿权{name}（{feature_id}，权利人{holder}）约{overlap_m2:.1}平方米。"
                ),
                format!(
                    "Overlaps mining right {name} ({feature_id}, held by {holder}) by about {overlap_m2:.1} m²."
                ),
            ),
            FindingKind::FileUnreadable {
                format,
                line,
                reason_zh,
                reason_en,
            } => {
                let (kind_zh, kind_en) = match format.as_str() {
                    "txt" => ("国土坐标TXT文件", "国土 TXT file"),
                    "geojson" => ("GeoJSON文件", "GeoJSON file"),
                    "gpx" => ("GPX文件", "GPX file"),
                    _ => ("文件", "file"),
                };
                let (at_zh, at_en) = line.map_or((String::new(), String::new()), |l| {
                    (format!("第{l}行"), format!(" at line {l}"))
                });
                (
                    format!(
                        "{kind_zh}{at_zh}无法读取：{reason_zh}。文件已原样保存，不会上传；请改正后重新导入。"
                    ),
                    format!(
                        "The {kind_en} cannot be read{at_en}: {reason_en}. It is kept as it was and not uploaded; correct it and import it again."
                    ),
                )
            }
            FindingKind::AreaOverLimit {
                land,
                area_m2,
                area_sigma_m2,
                limit_m2,
            } => {
                let shown = super::area::shown_m2(*area_m2, *area_sigma_m2);
                let (zh_doubt, en_doubt) = match area_sigma_m2 {
                    // A file's plot: its coordinates say nothing of how well they were surveyed.
                    None => ("（测量误差未知）", " (the survey's uncertainty is unknown)"),
                    Some(s) if area_m2 - 2.0 * s > *limit_m2 => ("", ""),
                    Some(_) => (
                        "，但在测量误差范围内，建议用更精确的方法复测",
                        ", but within the survey's uncertainty; a more accurate survey is advised",
                    ),
                };
                (
                    format!(
                        "面积{}，超过{}宅基地限额{limit_m2:.0}平方米{zh_doubt}。",
                        shown.zh,
                        land.zh()
                    ),
                    format!(
                        "The area {} exceeds the limit of {limit_m2:.0} m² for a homestead on {}{en_doubt}.",
                        shown.en,
                        land.en()
                    ),
                )
            }
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_serializes_with_its_code_details_and_texts_and_reads_back() {
        let finding = Finding::new(FindingKind::Spike {
            ring: 0,
            corner: "J3".to_owned(),
            angle_deg: 0.44,
        });
        let json = serde_json::to_value(&finding).unwrap();
        assert_eq!(json["code"], "spike");
        assert_eq!(json["details"]["corner"], "J3");
        assert_eq!(json["severity"], "refusal");
        assert_eq!(
            json["zh"],
            "外边界在界址点J3处折返成尖刺（夹角0.4°），请复测该点。"
        );
        assert_eq!(
            json["en"],
            "The outer boundary turns back at corner J3 in a spike (0.4°); survey that corner again."
        );
        let back: Finding = serde_json::from_value(json).unwrap();
        assert_eq!(back, finding);
        assert_eq!(back.code(), "spike");
    }

    #[test]
    fn the_code_is_the_serialized_tag() {
        let kinds = [
            FindingKind::RingNotClosed { ring: 2 },
            FindingKind::OutsideChina {
                corners: (1..=12).map(|i| format!("J{i}")).collect(),
            },
            FindingKind::AreaOverLimit {
                land: LandKind::Cultivated,
                area_m2: 150.0,
                area_sigma_m2: Some(20.0),
                limit_m2: 130.0,
            },
        ];
        for kind in kinds {
            let json = serde_json::to_value(Finding::new(kind.clone())).unwrap();
            assert_eq!(json["code"], kind.code());
        }
        let many = Finding::new(FindingKind::OutsideChina {
            corners: (1..=12).map(|i| format!("J{i}")).collect(),
        });
        assert!(many.en.contains("J10 (+2)"), "{}", many.en);
        assert!(many.en.starts_with("Corners J1, J2,") && many.en.contains(" are outside"));
        let one = Finding::new(FindingKind::EstimatedFix {
            corners: vec!["J3".to_owned()],
        });
        assert!(
            one.en.starts_with("Corner J3 comes from estimated") && one.en.contains("survey it"),
            "{}",
            one.en
        );
        // In Chinese, distances in 米 and 公里.
        let far = Finding::new(FindingKind::CornerFarFromRest {
            corner: "J4".to_owned(),
            distance_m: 502_000.0,
            limit_m: 1000.0,
        });
        assert_eq!(
            far.zh,
            "界址点J4距其他界址点502公里，超过1000米，可能是错误定位，请复测该点。"
        );
        assert_eq!(
            Finding::new(FindingKind::RingNotClosed { ring: 2 }).severity,
            Severity::Warning
        );
    }
}
