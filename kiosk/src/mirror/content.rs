//! Content in the mirror: replacing a release in one transaction, and the queries the UI
//! pages through (guides by category, notices at a time, publicity lists, search).

use chrono::{DateTime, Utc};
use protocol::content::EntryKind;
use protocol::items::{GuideSection, Item, Settings};
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};
use serde::Serialize;

use super::{Mirror, from_unix, schedule, search, settings, unix};
use crate::error::{Error, Result};

/// Largest page the UI may ask for.
pub const MAX_PAGE: u32 = 100;

/// A page of results; `total` counts all matches, for "第 2 页，共 5 页".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub offset: u32,
    pub limit: u32,
}

/// Where a page starts and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: u32,
    pub limit: u32,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self { offset: 0, limit }
    }

    fn clamped_limit(self) -> u32 {
        self.limit.clamp(1, MAX_PAGE)
    }
}

/// One row of a list: enough to draw it; [`Mirror::item`] gives the whole item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemSummary {
    pub id: String,
    pub kind: EntryKind,
    pub title: String,
    pub category: Option<String>,
    /// Published / updated / publicity start date, `YYYY-MM-DD`.
    pub date: Option<String>,
    pub priority: u8,
}

/// A media file of the applied release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaRow {
    pub id: String,
    pub sha256: String,
    pub media_type: String,
    pub size: u64,
}

/// Which release the content comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContentStatus {
    /// `None`: the built-in sample content, shown until the first release is applied.
    pub version: Option<u64>,
    pub sample: bool,
    pub manifest_sha256: Option<String>,
    pub etag: Option<String>,
    pub applied_at: DateTime<Utc>,
}

fn kind_code(kind: EntryKind) -> Result<String> {
    match serde_json::to_value(kind)? {
        serde_json::Value::String(code) => Ok(code),
        other => Err(Error::Invalid(format!("kind serialised as {other}"))),
    }
}

fn parse_kind(code: String) -> rusqlite::Result<EntryKind> {
    serde_json::from_value(serde_json::Value::String(code)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// The text search runs over: the title and every text field.
fn search_text(item: &Item) -> String {
    let mut parts: Vec<&str> = vec![item.title()];
    match item {
        Item::Guide(g) => {
            parts.push(&g.category);
            parts.extend(g.summary.as_deref());
            parts.extend(GuideSection::ALL.iter().map(|s| g.sections.get(*s)));
        }
        Item::Policy(p) => {
            parts.extend([p.category.as_str(), p.issuer.as_str(), p.body.as_str()]);
            parts.extend(p.document_no.as_deref());
        }
        Item::Publicity(p) => {
            parts.push(&p.body);
            for e in &p.entries {
                parts.extend([e.case_no.as_str(), e.location.as_str(), e.summary.as_str()]);
            }
        }
        Item::Notice(n) => parts.push(&n.body),
        Item::Settings(_) => {}
    }
    parts.join("\n")
}

fn insert_item(tx: &Transaction, id: &str, item: &Item) -> Result<()> {
    let (category, valid_from, valid_until, priority, date) = match item {
        Item::Guide(g) => (Some(g.category.as_str()), None, None, 0, Some(g.updated_on)),
        Item::Policy(p) => (
            Some(p.category.as_str()),
            None,
            None,
            0,
            Some(p.published_on),
        ),
        Item::Publicity(p) => (p.procedure.as_deref(), None, None, 0, Some(p.starts_on)),
        Item::Notice(n) => (
            None,
            Some(unix(n.valid_from)),
            n.valid_until.map(unix),
            n.priority,
            Some(n.valid_from.date_naive()),
        ),
        Item::Settings(_) => (None, None, None, 0, None),
    };
    tx.prepare_cached(
        "INSERT INTO content_items (id, kind, title, category, body, search_text,
             valid_from, valid_until, priority, sort_date)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id,
        kind_code(item.kind())?,
        item.title(),
        category,
        String::from_utf8(item.to_json()).map_err(|e| Error::Invalid(e.to_string()))?,
        search_text(item),
        valid_from,
        valid_until,
        priority,
        date.map(|d| d.to_string()),
    ])?;
    Ok(())
}

/// What a release puts into the mirror.
pub struct ReleaseRows<'a> {
    pub version: Option<u64>,
    pub manifest_sha256: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub items: &'a [(String, Item)],
    pub media: &'a [MediaRow],
}

/// Replaces all content with `release`, inside the caller's transaction: readers see the old
/// release or the new one, never a mix.
pub fn replace(tx: &Transaction, release: &ReleaseRows, now: DateTime<Utc>) -> Result<()> {
    let published_schedule = schedule::published(tx)?;
    tx.execute_batch("DELETE FROM content_items; DELETE FROM media;")?;
    for (id, item) in release.items {
        insert_item(tx, id, item)?;
    }
    schedule::on_release(tx, published_schedule)?;
    tx.execute(
        "INSERT INTO content_fts (content_fts) VALUES ('rebuild')",
        [],
    )?;
    for m in release.media {
        tx.prepare_cached(
            "INSERT INTO media (id, sha256, media_type, size) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![m.id, m.sha256, m.media_type, m.size])?;
    }
    tx.execute(
        "INSERT INTO content_state (id, version, manifest_sha256, etag, applied_at)
         VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET version = excluded.version,
             manifest_sha256 = excluded.manifest_sha256, etag = excluded.etag,
             applied_at = excluded.applied_at",
        params![
            release.version,
            release.manifest_sha256,
            release.etag,
            unix(now)
        ],
    )?;
    Ok(())
}

pub fn status(conn: &Connection) -> Result<Option<ContentStatus>> {
    Ok(conn
        .query_row(
            "SELECT version, manifest_sha256, etag, applied_at FROM content_state WHERE id = 1",
            [],
            |r| {
                let version: Option<u64> = r.get(0)?;
                Ok(ContentStatus {
                    version,
                    sample: version.is_none(),
                    manifest_sha256: r.get(1)?,
                    etag: r.get(2)?,
                    applied_at: from_unix(r.get(3)?),
                })
            },
        )
        .optional()?)
}

const SUMMARY_COLUMNS: &str = "id, kind, title, category, sort_date, priority";

fn summary(r: &rusqlite::Row) -> rusqlite::Result<ItemSummary> {
    Ok(ItemSummary {
        id: r.get(0)?,
        kind: parse_kind(r.get(1)?)?,
        title: r.get(2)?,
        category: r.get(3)?,
        date: r.get(4)?,
        priority: r.get(5)?,
    })
}

/// Runs `SELECT … WHERE {filter} ORDER BY {order}` as a page, with its total.
fn paged(
    conn: &Connection,
    filter: &str,
    order: &str,
    args: &[rusqlite::types::Value],
    page: PageRequest,
) -> Result<Page<ItemSummary>> {
    let total: u64 = conn.query_row(
        &format!("SELECT count(*) FROM content_items WHERE {filter}"),
        params_from_iter(args),
        |r| r.get(0),
    )?;
    let limit = page.clamped_limit();
    // Limit and offset are bound, not formatted in: one cached statement serves every page.
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS} FROM content_items WHERE {filter} ORDER BY {order}
         LIMIT ?{} OFFSET ?{}",
        args.len() + 1,
        args.len() + 2
    );
    let bounds = [limit, page.offset].map(|n| rusqlite::types::Value::Integer(n.into()));
    let mut stmt = conn.prepare_cached(&sql)?;
    let items = stmt
        .query_map(params_from_iter(args.iter().chain(&bounds)), summary)?
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        total,
        offset: page.offset,
        limit,
    })
}

/// Notices are current from `valid_from` (inclusive) until `valid_until` (exclusive).
const CURRENT_NOTICE: &str =
    "(kind <> 'notice' OR (valid_from <= ?1 AND (valid_until IS NULL OR valid_until > ?1)))";

impl Mirror {
    pub fn content_status(&self) -> Result<Option<ContentStatus>> {
        status(self.conn())
    }

    /// The whole item, for its detail page.
    pub fn item(&self, id: &str) -> Result<Option<Item>> {
        let row: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT kind, body FROM content_items WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(kind, body)| {
            let kind = parse_kind(kind)?;
            Item::from_json(kind, body.as_bytes()).map_err(|cause| Error::Item {
                id: id.to_owned(),
                cause,
            })
        })
        .transpose()
    }

    /// Guide categories with their number of guides, for the category buttons.
    pub fn guide_categories(&self) -> Result<Vec<(String, u64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT category, count(*) FROM content_items WHERE kind = 'guide'
             GROUP BY category ORDER BY category",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Guides, of one category or all.
    pub fn guides(&self, category: Option<&str>, page: PageRequest) -> Result<Page<ItemSummary>> {
        let args = [category.map_or(rusqlite::types::Value::Null, |c| c.to_owned().into())];
        paged(
            self.conn(),
            "kind = 'guide' AND (?1 IS NULL OR category = ?1)",
            "title, id",
            &args,
            page,
        )
    }

    /// Policies, newest first.
    pub fn policies(&self, page: PageRequest) -> Result<Page<ItemSummary>> {
        paged(
            self.conn(),
            "kind = 'policy'",
            "sort_date DESC, id",
            &[],
            page,
        )
    }

    /// Publicity lists, newest first.
    pub fn publicity(&self, page: PageRequest) -> Result<Page<ItemSummary>> {
        paged(
            self.conn(),
            "kind = 'publicity'",
            "sort_date DESC, id",
            &[],
            page,
        )
    }

    /// Notices valid at `now`, most urgent first.
    pub fn notices_at(&self, now: DateTime<Utc>, page: PageRequest) -> Result<Page<ItemSummary>> {
        paged(
            self.conn(),
            &format!("kind = 'notice' AND {CURRENT_NOTICE}"),
            "priority DESC, valid_from DESC, id",
            &[unix(now).into()],
            page,
        )
    }

    /// Full-text search over guides, policies, publicity and current notices.
    pub fn search(
        &self,
        query: &str,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<ItemSummary>> {
        let plan = search::plan(query);
        if plan.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
                offset: page.offset,
                limit: page.clamped_limit(),
            });
        }
        let mut filter = format!("kind <> 'settings' AND {CURRENT_NOTICE}");
        let mut args: Vec<rusqlite::types::Value> = vec![unix(now).into()];
        if let Some(fts) = plan.fts {
            args.push(fts.into());
            filter.push_str(&format!(
                " AND rowid IN (SELECT rowid FROM content_fts WHERE content_fts MATCH ?{})",
                args.len()
            ));
        }
        for pattern in plan.like {
            args.push(pattern.into());
            filter.push_str(&format!(
                " AND search_text LIKE ?{} ESCAPE '\\'",
                args.len()
            ));
        }
        paged(
            self.conn(),
            &filter,
            "kind, sort_date DESC, id",
            &args,
            page,
        )
    }

    /// The published settings, if the release carries them.
    pub fn content_settings(&self) -> Result<Option<Settings>> {
        settings::published(self.conn())
    }

    /// Media of the applied release by id.
    pub fn media(&self, id: &str) -> Result<Option<MediaRow>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, sha256, media_type, size FROM media WHERE id = ?1",
                [id],
                |r| {
                    Ok(MediaRow {
                        id: r.get(0)?,
                        sha256: r.get(1)?,
                        media_type: r.get(2)?,
                        size: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_mirror(dir: &std::path::Path) -> Mirror {
        let mut mirror = Mirror::open(&dir.join("m.db")).unwrap();
        let store = crate::content::store::BlobStore::open(&dir.join("blobs")).unwrap();
        assert!(crate::content::install_sample_if_empty(&mut mirror, &store, Utc::now()).unwrap());
        mirror
    }

    /// The sample plus more notices, policies and publicity lists, so that every list the
    /// UI pages through has several pages of two.
    fn larger_mirror(dir: &std::path::Path) -> Mirror {
        use protocol::items::{Notice, Policy, PublicityList};
        let mut mirror = Mirror::open(&dir.join("m.db")).unwrap();
        let mut compiled = crate::content::sample::builtin();
        for n in 1..=4u32 {
            let day: chrono::NaiveDate = format!("2026-0{n}-15").parse().unwrap();
            compiled.items.push((
                format!("notices/extra-{n}"),
                Item::Notice(Notice {
                    title: format!("宅基地业务通知 第{n}号"),
                    body: "宅基地审批业务安排。".into(),
                    valid_from: "2026-01-01T00:00:00Z".parse().unwrap(),
                    valid_until: None,
                    priority: (n % 3) as u8,
                }),
            ));
            compiled.items.push((
                format!("policies/extra-{n}"),
                Item::Policy(Policy {
                    title: format!("宅基地管理补充规定 第{n}号"),
                    category: "宅基地".into(),
                    issuer: "桂阳县自然资源局".into(),
                    document_no: None,
                    published_on: day,
                    body: "宅基地管理。".into(),
                    images: Vec::new(),
                }),
            ));
            compiled.items.push((
                format!("publicity/extra-{n}"),
                Item::Publicity(PublicityList {
                    title: format!("宅基地审批结果公示 第{n}批"),
                    procedure: Some("homestead".into()),
                    starts_on: day,
                    ends_on: day + chrono::Duration::days(7),
                    body: String::new(),
                    entries: Vec::new(),
                }),
            ));
        }
        let media = crate::content::verify::media_rows(&compiled);
        let tx = mirror.conn_mut().transaction().unwrap();
        let release = ReleaseRows {
            version: Some(1),
            manifest_sha256: None,
            etag: None,
            items: &compiled.items,
            media: &media,
        };
        replace(&tx, &release, Utc::now()).unwrap();
        tx.commit().unwrap();
        mirror
    }

    /// Reading a list two at a time gives the whole list, in order, with the same total.
    fn assert_pages_make_the_list(what: &str, fetch: impl Fn(PageRequest) -> Page<ItemSummary>) {
        let all = fetch(PageRequest::first(MAX_PAGE));
        assert!(
            all.total > 2,
            "{what}: {} items, not enough pages",
            all.total
        );
        assert_eq!(all.total as usize, all.items.len(), "{what}");
        let mut paged = Vec::new();
        for offset in (0..all.total as u32).step_by(2) {
            let page = fetch(PageRequest { offset, limit: 2 });
            assert_eq!((page.total, page.offset), (all.total, offset), "{what}");
            assert!(!page.items.is_empty(), "{what}: page at {offset} is empty");
            paged.extend(page.items);
        }
        assert_eq!(ids(&paged), ids(&all.items), "{what}");
        let past_the_end = fetch(PageRequest {
            offset: all.total as u32,
            limit: 2,
        });
        assert!(past_the_end.items.is_empty(), "{what}");
    }

    #[test]
    fn every_list_pages() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = larger_mirror(dir.path());
        let now: DateTime<Utc> = "2026-11-15T00:00:00Z".parse().unwrap();
        assert_pages_make_the_list("guides", |p| mirror.guides(None, p).unwrap());
        assert_pages_make_the_list("policies", |p| mirror.policies(p).unwrap());
        assert_pages_make_the_list("publicity", |p| mirror.publicity(p).unwrap());
        assert_pages_make_the_list("notices", |p| mirror.notices_at(now, p).unwrap());
        // A short (LIKE) term and a long (trigram) one.
        assert_pages_make_the_list("search 宅基", |p| mirror.search("宅基", now, p).unwrap());
        assert_pages_make_the_list("search 宅基地审批", |p| {
            mirror.search("宅基地审批", now, p).unwrap()
        });
    }

    fn ids(items: &[ItemSummary]) -> Vec<&str> {
        items.iter().map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn two_character_chinese_words_find_what_they_should() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = sample_mirror(dir.path());
        let now: DateTime<Utc> = "2026-11-15T00:00:00Z".parse().unwrap();
        let all = PageRequest::first(MAX_PAGE);
        let hits = mirror.search("宅基", now, all).unwrap();
        assert!(ids(&hits.items).contains(&"guides/homestead"), "{hits:?}");
        assert!(!ids(&hits.items).contains(&"guides/mining-right"));
        let hits = mirror.search("采矿", now, all).unwrap();
        assert!(
            ids(&hits.items).contains(&"guides/mining-right"),
            "{hits:?}"
        );
        assert!(!ids(&hits.items).contains(&"guides/real-estate"));
        let hits = mirror.search("登记", now, all).unwrap();
        assert!(ids(&hits.items).contains(&"guides/real-estate"), "{hits:?}");
        // Three or more characters go through the trigram index.
        let hits = mirror.search("一户一宅", now, all).unwrap();
        assert!(ids(&hits.items).contains(&"guides/homestead"), "{hits:?}");
        assert!(
            mirror
                .search("量子计算机", now, all)
                .unwrap()
                .items
                .is_empty()
        );
        assert_eq!(mirror.search("  ", now, all).unwrap().total, 0);
    }

    #[test]
    fn guides_are_listed_by_category() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = sample_mirror(dir.path());
        let categories = mirror.guide_categories().unwrap();
        assert!(
            categories.iter().any(|(c, _)| c == "宅基地"),
            "{categories:?}"
        );
        let homestead = mirror
            .guides(Some("宅基地"), PageRequest::first(10))
            .unwrap();
        assert!(
            homestead
                .items
                .iter()
                .all(|g| g.category.as_deref() == Some("宅基地"))
        );
        assert_eq!(homestead.total as usize, homestead.items.len());
        assert!(
            mirror
                .guides(None, PageRequest::first(MAX_PAGE))
                .unwrap()
                .total
                >= 4
        );
    }

    #[test]
    fn notices_are_shown_only_inside_their_window_most_urgent_first() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = sample_mirror(dir.path());
        let all = PageRequest::first(MAX_PAGE);
        let during: DateTime<Utc> = "2026-11-15T00:00:00Z".parse().unwrap();
        let current = mirror.notices_at(during, all).unwrap();
        assert!(current.total >= 2, "{current:?}");
        let priorities: Vec<u8> = current.items.iter().map(|n| n.priority).collect();
        assert!(
            priorities.windows(2).all(|w| w[0] >= w[1]),
            "{priorities:?}"
        );
        // The holiday notice ends before this; nothing from the far future is shown.
        let ids_now = ids(&current.items);
        assert!(!ids_now.contains(&"notices/national-day"));
        let holiday: DateTime<Utc> = "2026-10-03T00:00:00Z".parse().unwrap();
        assert!(
            ids(&mirror.notices_at(holiday, all).unwrap().items).contains(&"notices/national-day")
        );
        let long_ago: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(mirror.notices_at(long_ago, all).unwrap().total, 0);
    }

    #[test]
    fn publicity_and_policies_list_newest_first_and_items_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = sample_mirror(dir.path());
        let all = PageRequest::first(MAX_PAGE);
        for page in [
            mirror.publicity(all).unwrap(),
            mirror.policies(all).unwrap(),
        ] {
            assert!(page.total >= 1);
            let dates: Vec<_> = page.items.iter().map(|i| i.date.clone()).collect();
            assert!(dates.windows(2).all(|w| w[0] >= w[1]), "{dates:?}");
            let first = mirror.item(&page.items[0].id).unwrap().unwrap();
            assert_eq!(first.title(), page.items[0].title);
        }
        assert!(mirror.item("nope").unwrap().is_none());
        assert!(mirror.content_settings().unwrap().is_some());
    }
}
