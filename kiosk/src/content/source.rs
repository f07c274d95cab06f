//! Compiling a content folder (TOML and Markdown with images) into items, pure.
//!
//! Layout, by folder (the file name without extension is the item's name):
//!
//! | path | item |
//! |---|---|
//! | `settings.toml` | kiosk settings |
//! | `guides/*.md` | 办事指南: `+++` TOML front matter, then one `## 受理条件`… section per standard heading |
//! | `policies/*.md` | 政策公开: front matter, then the body |
//! | `notices/*.md` | 通知公告: front matter (`valid_from`, `valid_until`, `priority`), then the body |
//! | `publicity/*.toml` | 结果公示 with `[[entries]]` |
//! | `media/*.{png,jpg,jpeg,svg}` | images, referred to as `media = "media/name.png"` |
//!
//! Every problem is reported with its file and line, all at once, so an author fixes a
//! folder in one pass.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use protocol::items::{
    Guide, GuideSection, GuideSections, Item, ItemError, Notice, Policy, PublicityList,
};
use serde::Deserialize;
use toml::value::Datetime;

/// One file of a content folder, by its path relative to the folder (`/`-separated).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// A problem in a content folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub file: String,
    /// 1-based; `None` when the problem is the file as a whole.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// An image of the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub id: String,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// A compiled folder: items by id (`guides/homestead`), and media.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    pub items: Vec<(String, Item)>,
    pub media: Vec<MediaFile>,
}

fn media_type(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

/// A text file split into TOML front matter and a Markdown body, with their first lines.
struct Document<'a> {
    front: &'a str,
    front_line: usize,
    body: Vec<(usize, &'a str)>,
}

const FENCE: &str = "+++";

fn split_front_matter<'a>(file: &str, text: &'a str) -> Result<Document<'a>, SourceError> {
    let at = |line, message: &str| SourceError {
        file: file.to_owned(),
        line: Some(line),
        message: message.to_owned(),
    };
    let mut lines = text.split_inclusive('\n').enumerate();
    match lines.next() {
        Some((_, first)) if first.trim_end() == FENCE => {}
        _ => {
            return Err(at(
                1,
                "must start with a +++ line opening the TOML front matter",
            ));
        }
    }
    let front_start = text.find('\n').map_or(text.len(), |i| i + 1);
    let mut front_end = None;
    let mut offset = front_start;
    for (_, line) in lines.by_ref() {
        if line.trim_end() == FENCE {
            front_end = Some(offset);
            break;
        }
        offset += line.len();
    }
    let Some(end) = front_end else {
        return Err(at(1, "the front matter is not closed by a +++ line"));
    };
    let body = lines
        .map(|(i, l)| (i + 1, l.trim_end_matches(['\n', '\r'])))
        .collect();
    Ok(Document {
        front: &text[front_start..end],
        front_line: 2,
        body,
    })
}

/// The line where the front matter sets `key`, for pointing at a field's error.
fn key_line(text: &str, first_line: usize, key: &str) -> Option<usize> {
    let top = key.split(['.', '[']).next().unwrap_or(key);
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(top)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || l.starts_with(&format!("[[{top}]]"))
                || l.starts_with(&format!("[{top}]"))
        })
        .map(|i| first_line + i)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GuideFront {
    title: String,
    category: String,
    procedure: Option<String>,
    summary: Option<String>,
    phone_url: Option<String>,
    #[serde(default)]
    images: Vec<protocol::items::MediaRef>,
    updated_on: Datetime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFront {
    title: String,
    category: String,
    issuer: String,
    document_no: Option<String>,
    published_on: Datetime,
    #[serde(default)]
    images: Vec<protocol::items::MediaRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeFront {
    title: String,
    valid_from: Datetime,
    valid_until: Option<Datetime>,
    #[serde(default)]
    priority: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicityFile {
    title: String,
    procedure: Option<String>,
    starts_on: Datetime,
    ends_on: Datetime,
    #[serde(default)]
    body: String,
    entries: Vec<protocol::items::PublicityEntry>,
}

/// The TOML text of an item — its front matter, or the whole file — with the line of the
/// file it starts on: parsed, with TOML's own date values (unquoted `2026-10-08`) converted,
/// and errors pointed at the line of their key.
#[derive(Clone, Copy)]
struct TomlText<'a> {
    file: &'a str,
    text: &'a str,
    first_line: usize,
}

impl TomlText<'_> {
    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, SourceError> {
        toml::from_str(self.text).map_err(|e| SourceError {
            file: self.file.to_owned(),
            line: Some(crate::toml_line::of_error(self.text, &e, self.first_line)),
            message: e.message().to_owned(),
        })
    }

    fn error(&self, key: &str, message: &str) -> SourceError {
        SourceError {
            file: self.file.to_owned(),
            line: key_line(self.text, self.first_line, key).or(Some(self.first_line)),
            message: format!("{key}: {message}"),
        }
    }

    /// A validation error of the item, at the line of its field if that can be found.
    fn item_error(&self, err: &ItemError) -> SourceError {
        SourceError {
            file: self.file.to_owned(),
            line: key_line(self.text, self.first_line, &err.field),
            message: err.to_string(),
        }
    }

    fn day(&self, key: &str, value: &Datetime) -> Result<chrono::NaiveDate, SourceError> {
        match (value.date, value.time) {
            (Some(d), None) => chrono::NaiveDate::from_ymd_opt(
                i32::from(d.year),
                u32::from(d.month),
                u32::from(d.day),
            )
            .ok_or_else(|| self.error(key, "is not a valid date")),
            _ => Err(self.error(key, "must be a date such as 2026-10-08")),
        }
    }

    fn instant(
        &self,
        key: &str,
        value: &Datetime,
    ) -> Result<chrono::DateTime<chrono::Utc>, SourceError> {
        if value.offset.is_none() {
            return Err(self.error(
                key,
                "must be a date and time with its zone, e.g. 2026-10-01T08:00:00+08:00",
            ));
        }
        chrono::DateTime::parse_from_rfc3339(&value.to_string())
            .map(|t| t.to_utc())
            .map_err(|e| self.error(key, &e.to_string()))
    }
}

fn body_text(body: &[(usize, &str)]) -> String {
    body.iter()
        .map(|(_, l)| *l)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

/// Splits a guide body at its `## ` headings into the standard sections.
fn guide_sections(file: &str, body: &[(usize, &str)]) -> Result<GuideSections, Vec<SourceError>> {
    let mut errors = Vec::new();
    let mut texts: BTreeMap<&'static str, (usize, Vec<&str>)> = BTreeMap::new();
    let mut current: Option<&'static str> = None;
    for &(line, text) in body {
        if let Some(heading) = text.strip_prefix("## ") {
            match GuideSection::from_label(heading.trim()) {
                Some(section) if texts.contains_key(section.label()) => errors.push(SourceError {
                    file: file.to_owned(),
                    line: Some(line),
                    message: format!("section {} appears twice", section.label()),
                }),
                Some(section) => {
                    texts.insert(section.label(), (line, Vec::new()));
                    current = Some(section.label());
                }
                None => errors.push(SourceError {
                    file: file.to_owned(),
                    line: Some(line),
                    message: format!(
                        "unknown section {:?}; a guide has {}",
                        heading.trim(),
                        GuideSection::ALL.map(GuideSection::label).join("、")
                    ),
                }),
            }
        } else if let Some(label) = current {
            texts
                .get_mut(label)
                .expect("current section was inserted")
                .1
                .push(text);
        } else if !text.trim().is_empty() {
            errors.push(SourceError {
                file: file.to_owned(),
                line: Some(line),
                message: "text before the first ## section heading".into(),
            });
        }
    }
    let last_line = body.last().map_or(1, |(l, _)| *l);
    let mut sections = GuideSections {
        acceptance_conditions: String::new(),
        materials: String::new(),
        process: String::new(),
        time_limit: String::new(),
        fees: String::new(),
        legal_basis: String::new(),
        phone: String::new(),
    };
    for section in GuideSection::ALL {
        match texts.get(section.label()) {
            Some((line, lines)) => {
                let text = lines.join("\n").trim().to_owned();
                if text.is_empty() {
                    errors.push(SourceError {
                        file: file.to_owned(),
                        line: Some(*line),
                        message: format!("section {} is empty", section.label()),
                    });
                }
                *sections.get_mut(section) = text;
            }
            None => errors.push(SourceError {
                file: file.to_owned(),
                line: Some(last_line),
                message: format!("missing section ## {}", section.label()),
            }),
        }
    }
    if errors.is_empty() {
        Ok(sections)
    } else {
        Err(errors)
    }
}

/// A Markdown item file: its front matter parsed as `T`, and its body lines.
type Markdown<'a, T> = (T, TomlText<'a>, Vec<(usize, &'a str)>);

fn markdown<'a, T: serde::de::DeserializeOwned>(
    file: &'a str,
    text: &'a str,
) -> Result<Markdown<'a, T>, SourceError> {
    let doc = split_front_matter(file, text)?;
    let front = TomlText {
        file,
        text: doc.front,
        first_line: doc.front_line,
    };
    Ok((front.parse()?, front, doc.body))
}

/// Parses one item file; errors carry their line. The item comes with the TOML text it was
/// read from, to point its validation errors at a key.
fn parse_item<'a>(
    file: &'a str,
    folder: &str,
    text: &'a str,
) -> Result<(Item, TomlText<'a>), Vec<SourceError>> {
    let one = |e: SourceError| vec![e];
    let whole = TomlText {
        file,
        text,
        first_line: 1,
    };
    match folder {
        "guides" => {
            let (front, toml, body) = markdown::<GuideFront>(file, text).map_err(one)?;
            let guide = Guide {
                updated_on: toml.day("updated_on", &front.updated_on).map_err(one)?,
                sections: guide_sections(file, &body)?,
                title: front.title,
                category: front.category,
                procedure: front.procedure,
                summary: front.summary,
                phone_url: front.phone_url,
                images: front.images,
            };
            Ok((Item::Guide(guide), toml))
        }
        "policies" => {
            let (front, toml, body) = markdown::<PolicyFront>(file, text).map_err(one)?;
            let policy = Policy {
                published_on: toml.day("published_on", &front.published_on).map_err(one)?,
                body: body_text(&body),
                title: front.title,
                category: front.category,
                issuer: front.issuer,
                document_no: front.document_no,
                images: front.images,
            };
            Ok((Item::Policy(policy), toml))
        }
        "notices" => {
            let (front, toml, body) = markdown::<NoticeFront>(file, text).map_err(one)?;
            let notice = Notice {
                valid_from: toml.instant("valid_from", &front.valid_from).map_err(one)?,
                valid_until: front
                    .valid_until
                    .map(|t| toml.instant("valid_until", &t))
                    .transpose()
                    .map_err(one)?,
                body: body_text(&body),
                title: front.title,
                priority: front.priority,
            };
            Ok((Item::Notice(notice), toml))
        }
        "publicity" => {
            let list: PublicityFile = whole.parse().map_err(one)?;
            let publicity = PublicityList {
                starts_on: whole.day("starts_on", &list.starts_on).map_err(one)?,
                ends_on: whole.day("ends_on", &list.ends_on).map_err(one)?,
                title: list.title,
                procedure: list.procedure,
                body: list.body,
                entries: list.entries,
            };
            Ok((Item::Publicity(publicity), whole))
        }
        _ => Ok((Item::Settings(whole.parse().map_err(one)?), whole)),
    }
}

/// Where an item file belongs: `(folder, extension it must have)`.
fn item_folder(path: &str) -> Option<(&str, &str)> {
    if path == "settings.toml" {
        return Some(("settings", "toml"));
    }
    let (folder, name) = path.split_once('/')?;
    if name.contains('/') {
        return None;
    }
    match folder {
        "guides" | "policies" | "notices" => Some((folder, "md")),
        "publicity" => Some((folder, "toml")),
        _ => None,
    }
}

/// Every file becomes one blob of the release, and the contract takes blobs of at most
/// [`protocol::MAX_BLOB_BODY`] bytes: a larger one is refused here, by its file's name, rather
/// than when it is published. (An item's JSON stays far below: its fields are bounded by
/// [`Item::validate`].)
fn within_blob_limit(size: usize) -> Result<(), String> {
    if size > protocol::MAX_BLOB_BODY {
        Err(format!(
            "{size} bytes, over the contract's blob limit of {} bytes ({} MiB)",
            protocol::MAX_BLOB_BODY,
            protocol::MAX_BLOB_BODY >> 20
        ))
    } else {
        Ok(())
    }
}

/// Compiles a content folder.
pub fn compile(files: &[SourceFile]) -> Result<Compiled, Vec<SourceError>> {
    let mut errors = Vec::new();
    let mut compiled = Compiled::default();
    let mut referenced: Vec<(String, String)> = Vec::new();
    let whole = |file: &str, message: String| SourceError {
        file: file.to_owned(),
        line: None,
        message,
    };
    for file in files {
        let path = file.path.as_str();
        if path
            .rsplit('/')
            .next()
            .is_some_and(|name| name.starts_with('.') || name == "README.md")
        {
            continue;
        }
        if let Err(message) = within_blob_limit(file.bytes.len()) {
            errors.push(whole(path, message));
            continue;
        }
        if let Some(name) = path.strip_prefix("media/") {
            match media_type(path) {
                Some(media_type) if !name.contains('/') => compiled.media.push(MediaFile {
                    id: path.to_owned(),
                    media_type,
                    bytes: file.bytes.clone(),
                }),
                _ => errors.push(whole(
                    path,
                    "media must be .png, .jpg or .svg directly in media/".into(),
                )),
            }
            continue;
        }
        let Some((folder, ext)) = item_folder(path) else {
            errors.push(whole(
                path,
                "unexpected file; see the content folder layout".into(),
            ));
            continue;
        };
        let Some(stem) = path.strip_suffix(&format!(".{ext}")) else {
            errors.push(whole(path, format!("files in this folder end in .{ext}")));
            continue;
        };
        let Ok(text) = std::str::from_utf8(&file.bytes) else {
            errors.push(whole(path, "is not UTF-8 text".into()));
            continue;
        };
        match parse_item(path, folder, text) {
            Ok((item, toml)) => match item.validate() {
                Ok(()) => {
                    referenced.extend(item.media().map(|m| (path.to_owned(), m.to_owned())));
                    compiled.items.push((stem.to_owned(), item));
                }
                Err(e) => errors.push(toml.item_error(&e)),
            },
            Err(mut e) => errors.append(&mut e),
        }
    }
    let media: BTreeSet<&str> = compiled.media.iter().map(|m| m.id.as_str()).collect();
    for (file, media_id) in &referenced {
        if !media.contains(media_id.as_str()) {
            errors.push(SourceError {
                file: file.clone(),
                line: None,
                message: format!("refers to {media_id}, which is not in media/"),
            });
        }
    }
    if compiled
        .items
        .iter()
        .filter(|(_, i)| matches!(i, Item::Settings(_)))
        .count()
        > 1
    {
        errors.push(whole("settings.toml", "only one settings file".into()));
    }
    if errors.is_empty() {
        compiled.items.sort_by(|a, b| a.0.cmp(&b.0));
        compiled.media.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(compiled)
    } else {
        errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    const GUIDE: &str = "+++\ntitle = \"农村宅基地审批办事指南\"\ncategory = \"宅基地\"\nupdated_on = 2026-10-01\n+++\n\
## 受理条件\n本集体经济组织成员。\n## 申请材料\n申请表。\n## 办理流程\n受理、审查、审批。\n\
## 办理时限\n20个工作日。\n## 收费标准\n不收费。\n## 设定依据\n《土地管理法》。\n## 咨询电话\n0735-1234567\n";

    #[test]
    fn a_guide_compiles_into_its_sections() {
        let compiled = compile(&[file("guides/homestead.md", GUIDE)]).unwrap();
        let (id, Item::Guide(guide)) = &compiled.items[0] else {
            panic!("not a guide");
        };
        assert_eq!(id, "guides/homestead");
        assert_eq!(guide.sections.fees, "不收费。");
    }

    #[test]
    fn errors_name_file_and_line() {
        let missing = GUIDE.replace("## 收费标准\n不收费。\n", "");
        let bad_toml = GUIDE.replace("category = \"宅基地\"", "category = 宅基地");
        let unknown = GUIDE.replace("## 咨询电话", "## 联系我们");
        let errors = compile(&[
            file("guides/a.md", &missing),
            file("guides/b.md", &bad_toml),
            file("guides/c.md", &unknown),
            file("notes.txt", "x"),
        ])
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|e| e.starts_with("guides/a.md:") && e.contains("missing section ## 收费标准")), "{text:?}");
        assert!(
            text.iter().any(|e| e.starts_with("guides/b.md:3:")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|e| e.starts_with("guides/c.md:18:") && e.contains("联系我们")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|e| e.starts_with("notes.txt: unexpected")),
            "{text:?}"
        );
    }

    #[test]
    fn validation_errors_point_at_the_field() {
        let notice = "+++\ntitle = \"停电通知\"\nvalid_from = 2026-11-02T00:00:00Z\nvalid_until = 2026-11-01T00:00:00Z\n+++\n正文\n";
        let errors = compile(&[file("notices/power.md", notice)]).unwrap_err();
        assert_eq!(errors[0].line, Some(4), "{errors:?}");
        assert!(errors[0].message.contains("valid_until"));
    }

    #[test]
    fn missing_media_is_reported() {
        let with_image = GUIDE.replace(
            "updated_on",
            "images = [{ media = \"media/flow.svg\" }]\nupdated_on",
        );
        let errors = compile(&[file("guides/h.md", &with_image)]).unwrap_err();
        assert!(errors[0].message.contains("media/flow.svg"));
        let ok = compile(&[
            file("guides/h.md", &with_image),
            file("media/flow.svg", "<svg/>"),
        ])
        .unwrap();
        assert_eq!(ok.media[0].media_type, "image/svg+xml");
    }

    #[test]
    fn a_file_over_the_blob_limit_is_refused_by_name() {
        let huge = SourceFile {
            path: "media/scan.png".into(),
            bytes: vec![0; protocol::MAX_BLOB_BODY + 1],
        };
        let body = "很长的正文。".repeat(protocol::MAX_BLOB_BODY / 18 + 1);
        let long_guide = file("guides/long.md", &format!("{GUIDE}{body}"));
        let errors = compile(&[huge, long_guide]).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        for name in ["media/scan.png", "guides/long.md"] {
            assert!(
                text.iter()
                    .any(|e| e.starts_with(&format!("{name}: ")) && e.contains("blob limit")),
                "{text:?}"
            );
        }
    }
}
