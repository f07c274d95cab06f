//! Content items: the JSON inside the blobs of a content release.
//!
//! `kiosk-admin` writes them, kiosks read them; the manifest entry's [`EntryKind`] says which
//! type a blob holds. Every item validates itself the same way on both sides, so a kiosk
//! refuses a release that an older or altered tool let through.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::content::EntryKind;
use crate::devices::DisplaySchedule;

/// The standard sections of a service guide (办事指南), in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuideSection {
    AcceptanceConditions,
    Materials,
    Process,
    TimeLimit,
    Fees,
    LegalBasis,
    Phone,
}

impl GuideSection {
    pub const ALL: [Self; 7] = [
        Self::AcceptanceConditions,
        Self::Materials,
        Self::Process,
        Self::TimeLimit,
        Self::Fees,
        Self::LegalBasis,
        Self::Phone,
    ];

    /// The heading applicants see, and the heading authors write in the Markdown source.
    pub fn label(self) -> &'static str {
        match self {
            Self::AcceptanceConditions => "受理条件",
            Self::Materials => "申请材料",
            Self::Process => "办理流程",
            Self::TimeLimit => "办理时限",
            Self::Fees => "收费标准",
            Self::LegalBasis => "设定依据",
            Self::Phone => "咨询电话",
        }
    }

    pub fn from_label(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.label() == label)
    }
}

/// The text of each standard section, Markdown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuideSections {
    pub acceptance_conditions: String,
    pub materials: String,
    pub process: String,
    pub time_limit: String,
    pub fees: String,
    pub legal_basis: String,
    pub phone: String,
}

impl GuideSections {
    pub fn get(&self, section: GuideSection) -> &str {
        match section {
            GuideSection::AcceptanceConditions => &self.acceptance_conditions,
            GuideSection::Materials => &self.materials,
            GuideSection::Process => &self.process,
            GuideSection::TimeLimit => &self.time_limit,
            GuideSection::Fees => &self.fees,
            GuideSection::LegalBasis => &self.legal_basis,
            GuideSection::Phone => &self.phone,
        }
    }

    pub fn get_mut(&mut self, section: GuideSection) -> &mut String {
        match section {
            GuideSection::AcceptanceConditions => &mut self.acceptance_conditions,
            GuideSection::Materials => &mut self.materials,
            GuideSection::Process => &mut self.process,
            GuideSection::TimeLimit => &mut self.time_limit,
            GuideSection::Fees => &mut self.fees,
            GuideSection::LegalBasis => &mut self.legal_basis,
            GuideSection::Phone => &mut self.phone,
        }
    }
}

/// An image shown with an item: the manifest id of a [`EntryKind::Media`] entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaRef {
    pub media: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

/// 办事指南: how to apply for one procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guide {
    pub title: String,
    /// The browsing category, e.g. `宅基地`, `不动产登记`.
    pub category: String,
    /// The procedure code of the cases it covers (`homestead`), linking progress to guide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub sections: GuideSections,
    /// Shown as a QR code so applicants can take the guide (or the phone number) with them,
    /// e.g. `tel:0735-1234567` or an `https:` page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<MediaRef>,
    pub updated_on: NaiveDate,
}

/// 政策公开: a published policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub title: String,
    pub category: String,
    /// Issuing authority, e.g. `湖南省自然资源厅`.
    pub issuer: String,
    /// Document number, e.g. `湘自然资规〔2025〕3号`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_no: Option<String>,
    pub published_on: NaiveDate,
    /// Markdown.
    pub body: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<MediaRef>,
}

/// One approved case on a publicity list. Names are masked, as everywhere on a kiosk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicityEntry {
    pub case_no: String,
    /// Masked, e.g. `张*三`.
    pub applicant: String,
    /// Where, e.g. `樟市镇和平村3组`.
    pub location: String,
    /// What was approved, e.g. `宅基地 120㎡`.
    pub summary: String,
}

/// 结果公示: a list of approvals on public display for a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicityList {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// Where objections go (异议受理), Markdown.
    #[serde(default)]
    pub body: String,
    pub entries: Vec<PublicityEntry>,
}

/// 通知公告: shown only inside its validity window; higher priority first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub title: String,
    /// Markdown.
    pub body: String,
    pub valid_from: DateTime<Utc>,
    /// Open-ended when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// 0 (ordinary) to 9 (urgent, e.g. a closure).
    #[serde(default)]
    pub priority: u8,
}

/// Kiosk settings an administrator publishes with the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Shown in the header, e.g. `郴州市桂阳县政务大厅`.
    pub hall_name: String,
    /// Seconds without a touch before the kiosk clears the screen and goes home.
    pub idle_timeout_s: u32,
    /// The hall's help line, shown on every page.
    pub helpline: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_schedule: Option<DisplaySchedule>,
}

/// Any content item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Guide(Guide),
    Policy(Policy),
    Publicity(PublicityList),
    Notice(Notice),
    Settings(Settings),
}

/// Why an item is not acceptable; `field` names where, for the author.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ItemError {
    pub field: String,
    pub message: String,
}

impl ItemError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Longest text field accepted; keeps one item from filling a kiosk's screen or disk.
const MAX_TEXT: usize = 64 * 1024;

fn required(field: &str, value: &str) -> Result<(), ItemError> {
    if value.trim().is_empty() {
        Err(ItemError::new(field, "must not be empty"))
    } else if value.len() > MAX_TEXT {
        Err(ItemError::new(
            field,
            format!("is longer than {MAX_TEXT} bytes"),
        ))
    } else {
        Ok(())
    }
}

/// A masked name keeps at most the surname and one more character visible: `张*`, `张*三`.
fn is_masked_name(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    (2..=3).contains(&chars.len()) && chars[1] == '*'
}

impl Item {
    pub fn kind(&self) -> EntryKind {
        match self {
            Self::Guide(_) => EntryKind::Guide,
            Self::Policy(_) => EntryKind::Policy,
            Self::Publicity(_) => EntryKind::Publicity,
            Self::Notice(_) => EntryKind::Notice,
            Self::Settings(_) => EntryKind::Settings,
        }
    }

    /// The title shown in lists.
    pub fn title(&self) -> &str {
        match self {
            Self::Guide(g) => &g.title,
            Self::Policy(p) => &p.title,
            Self::Publicity(p) => &p.title,
            Self::Notice(n) => &n.title,
            Self::Settings(s) => &s.hall_name,
        }
    }

    /// The media ids the item refers to.
    pub fn media(&self) -> impl Iterator<Item = &str> {
        let images: &[MediaRef] = match self {
            Self::Guide(g) => &g.images,
            Self::Policy(p) => &p.images,
            _ => &[],
        };
        images.iter().map(|m| m.media.as_str())
    }

    /// Parses a blob of the given kind. Media is not an item.
    pub fn from_json(kind: EntryKind, bytes: &[u8]) -> Result<Self, ItemError> {
        fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ItemError> {
            serde_json::from_slice(bytes).map_err(|e| ItemError::new("json", e.to_string()))
        }
        let item = match kind {
            EntryKind::Guide => Self::Guide(parse(bytes)?),
            EntryKind::Policy => Self::Policy(parse(bytes)?),
            EntryKind::Publicity => Self::Publicity(parse(bytes)?),
            EntryKind::Notice => Self::Notice(parse(bytes)?),
            EntryKind::Settings => Self::Settings(parse(bytes)?),
            EntryKind::Media => return Err(ItemError::new("kind", "media is not an item")),
        };
        item.validate()?;
        Ok(item)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let json = match self {
            Self::Guide(g) => serde_json::to_vec(g),
            Self::Policy(p) => serde_json::to_vec(p),
            Self::Publicity(p) => serde_json::to_vec(p),
            Self::Notice(n) => serde_json::to_vec(n),
            Self::Settings(s) => serde_json::to_vec(s),
        };
        json.expect("items always serialise")
    }

    /// Checks what the types alone cannot: required text, date order, masked names.
    pub fn validate(&self) -> Result<(), ItemError> {
        match self {
            Self::Guide(g) => {
                required("title", &g.title)?;
                required("category", &g.category)?;
                for section in GuideSection::ALL {
                    required(section.label(), g.sections.get(section))?;
                }
                if let Some(url) = &g.phone_url
                    && !(url.starts_with("tel:") || url.starts_with("https://"))
                {
                    return Err(ItemError::new(
                        "phone_url",
                        "must start with tel: or https://",
                    ));
                }
            }
            Self::Policy(p) => {
                required("title", &p.title)?;
                required("category", &p.category)?;
                required("issuer", &p.issuer)?;
                required("body", &p.body)?;
            }
            Self::Publicity(p) => {
                required("title", &p.title)?;
                if p.ends_on < p.starts_on {
                    return Err(ItemError::new("ends_on", "is before starts_on"));
                }
                if p.entries.is_empty() {
                    return Err(ItemError::new("entries", "a publicity list needs entries"));
                }
                for (i, entry) in p.entries.iter().enumerate() {
                    required(&format!("entries[{i}].case_no"), &entry.case_no)?;
                    if !is_masked_name(&entry.applicant) {
                        return Err(ItemError::new(
                            format!("entries[{i}].applicant"),
                            "must be a masked name such as 张*三 (privacy)",
                        ));
                    }
                }
            }
            Self::Notice(n) => {
                required("title", &n.title)?;
                required("body", &n.body)?;
                if n.valid_until.is_some_and(|until| until <= n.valid_from) {
                    return Err(ItemError::new("valid_until", "is not after valid_from"));
                }
                if n.priority > 9 {
                    return Err(ItemError::new("priority", "must be 0 to 9"));
                }
            }
            Self::Settings(s) => {
                required("hall_name", &s.hall_name)?;
                required("helpline", &s.helpline)?;
                if !(15..=3600).contains(&s.idle_timeout_s) {
                    return Err(ItemError::new("idle_timeout_s", "must be 15 to 3600"));
                }
                if let Some(schedule) = &s.display_schedule {
                    schedule
                        .validate()
                        .map_err(|e| ItemError::new("display_schedule", e))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Notice {
        Notice {
            title: "国庆假期办公安排".into(),
            body: "10月1日至7日暂停窗口服务。".into(),
            valid_from: "2026-09-25T00:00:00Z".parse().unwrap(),
            valid_until: Some("2026-10-08T00:00:00Z".parse().unwrap()),
            priority: 5,
        }
    }

    #[test]
    fn items_round_trip_through_their_blob() {
        let item = Item::Notice(notice());
        let back = Item::from_json(EntryKind::Notice, &item.to_json()).unwrap();
        assert_eq!(back, item);
        assert!(Item::from_json(EntryKind::Guide, &item.to_json()).is_err());
        assert!(Item::from_json(EntryKind::Media, b"{}").is_err());
    }

    #[test]
    fn notice_window_must_be_ordered() {
        let mut n = notice();
        n.valid_until = Some(n.valid_from);
        let err = Item::Notice(n).validate().unwrap_err();
        assert_eq!(err.field, "valid_until");
    }

    #[test]
    fn publicity_names_must_be_masked() {
        let list = PublicityList {
            title: "宅基地审批结果公示".into(),
            procedure: Some("homestead".into()),
            starts_on: "2026-11-01".parse().unwrap(),
            ends_on: "2026-11-07".parse().unwrap(),
            body: String::new(),
            entries: vec![PublicityEntry {
                case_no: "GY2026-ZJD-000001".into(),
                applicant: "张三丰".into(),
                location: "和平村".into(),
                summary: "宅基地 120㎡".into(),
            }],
        };
        let err = Item::Publicity(list.clone()).validate().unwrap_err();
        assert_eq!(err.field, "entries[0].applicant");
        let mut ok = list;
        ok.entries[0].applicant = "张*丰".into();
        assert!(Item::Publicity(ok).validate().is_ok());
    }

    #[test]
    fn section_labels_round_trip() {
        for section in GuideSection::ALL {
            assert_eq!(GuideSection::from_label(section.label()), Some(section));
        }
        assert_eq!(GuideSection::from_label("其他"), None);
    }
}
