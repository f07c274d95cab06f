//! Cases in the mirror: applying feed pages (parsed by [`crate::feed`]), and reading one case
//! back for a lookup.

use chrono::{DateTime, Utc};
use protocol::cases::{CaseResult, CaseStatus, Publicity, Step};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Mirror, from_unix, unix};
use crate::error::{Error, Result};
use crate::feed::{FeedCase, FeedOp, FeedPage};
use crate::masking::mask_applicant;

/// The insert of one case row, in the order [`write_case`] binds; a macro so that
/// [`INSERT`] and [`UPSERT`] share it at compile time.
macro_rules! insert_case {
    () => {
        "INSERT INTO cases (case_no, kind, kind_label, applicant, lookup_digest,
            received_at, due_at, status, steps, result, publicity, updated_at, seq)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    };
}

/// The plain insert, for the bulk-insert baseline of the benchmarks.
pub const INSERT: &str = insert_case!();

const UPSERT: &str = concat!(
    insert_case!(),
    " ON CONFLICT (case_no) DO UPDATE SET kind = excluded.kind, kind_label = excluded.kind_label,
        applicant = excluded.applicant, lookup_digest = excluded.lookup_digest,
        received_at = excluded.received_at, due_at = excluded.due_at, status = excluded.status,
        steps = excluded.steps, result = excluded.result, publicity = excluded.publicity,
        updated_at = excluded.updated_at, seq = excluded.seq"
);

/// The stored code of a status: its wire name.
fn status_code(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Received => "received",
        CaseStatus::InReview => "in_review",
        CaseStatus::AwaitingMaterial => "awaiting_material",
        CaseStatus::Publicity => "publicity",
        CaseStatus::Completed => "completed",
        CaseStatus::Rejected => "rejected",
    }
}

/// Binds one case to `sql` (either [`INSERT`] or the upsert): the one place that maps a feed
/// case to a mirror row, and so the one place the applicant's name is masked and the lookup
/// digest checked (an argon2id PHC string within the contract's bounds, so that no lookup
/// meets one it cannot use or one that would exhaust the kiosk's memory).
pub fn write_case(tx: &Connection, sql: &str, seq: u64, case: &FeedCase<'_>) -> Result<()> {
    protocol::lookup::check_digest(&case.lookup_digest).map_err(|e| {
        Error::Invalid(format!(
            "feed entry {seq}: case {}: lookup_digest: {e}",
            case.case_no
        ))
    })?;
    tx.prepare_cached(sql)?.execute(params![
        case.case_no,
        case.kind,
        case.kind_label,
        mask_applicant(&case.applicant),
        case.lookup_digest,
        unix(case.received_at),
        unix(case.due_at),
        status_code(case.status),
        case.steps,
        case.result,
        case.publicity,
        unix(case.updated_at),
        seq,
    ])?;
    Ok(())
}

/// What one page did to the mirror.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub upserts: usize,
    pub deletes: usize,
    pub cursor: u64,
}

/// Applies one feed page and moves the cursor, inside the caller's transaction: the page
/// and the cursor commit together or not at all, so a crash resumes at a page boundary.
/// `now` is recorded as the time the feed was last read to its end when the page is the last.
pub fn apply_page(tx: &Transaction, page: &FeedPage<'_>, now: DateTime<Utc>) -> Result<Applied> {
    let cursor = cursor(tx)?;
    if page.next_after < cursor {
        return Err(Error::Invalid(format!(
            "feed page ends at {} before the applied cursor {cursor}",
            page.next_after
        )));
    }
    let mut applied = Applied {
        cursor: page.next_after,
        ..Applied::default()
    };
    for change in &page.changes {
        match &change.op {
            FeedOp::Upsert(case) => {
                write_case(tx, UPSERT, change.seq, case)?;
                applied.upserts += 1;
            }
            FeedOp::Delete(case_no) => {
                tx.prepare_cached("DELETE FROM cases WHERE case_no = ?1")?
                    .execute([case_no.as_ref()])?;
                applied.deletes += 1;
            }
        }
    }
    tx.prepare_cached(
        "UPDATE case_sync SET cursor = ?1, last_page_at = ?2, catching_up = ?3,
             caught_up_at = CASE WHEN ?3 THEN caught_up_at ELSE ?2 END
         WHERE id = 1",
    )?
    .execute(params![page.next_after, unix(now), page.has_more])?;
    Ok(applied)
}

/// The feed cursor the mirror has applied up to.
pub fn cursor(conn: &Connection) -> Result<u64> {
    Ok(
        conn.query_row("SELECT cursor FROM case_sync WHERE id = 1", [], |r| {
            r.get(0)
        })?,
    )
}

/// How current the case data is, for the UI's banner (数据更新于 …, 正在同步 …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Freshness {
    /// When the whole feed had last been read; `None` before the first complete sync.
    pub caught_up_at: Option<DateTime<Utc>>,
    /// Seconds since then, at the time asked.
    pub lag_s: Option<i64>,
    /// When a page was last applied, the feed read to its end or not.
    pub last_page_at: Option<DateTime<Utc>>,
    /// The last page applied said more follow: the mirror is working through the feed (the
    /// first sync, or a backlog after an outage) or stopped partway, so it is behind even if
    /// `last_page_at` is recent.
    pub catching_up: bool,
    pub cursor: u64,
}

/// The `case_sync` columns [`Freshness::from_row`] reads, in its order.
macro_rules! freshness_columns {
    () => {
        "cursor, caught_up_at, last_page_at, catching_up"
    };
}
pub(crate) use freshness_columns;

impl Freshness {
    /// From [`freshness_columns!`] starting at column `first` of `row`.
    pub(crate) fn from_row(
        row: &rusqlite::Row,
        first: usize,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<Self> {
        let caught_up_at = row.get::<_, Option<i64>>(first + 1)?.map(from_unix);
        Ok(Self {
            caught_up_at,
            lag_s: caught_up_at.map(|t| (now - t).num_seconds().max(0)),
            last_page_at: row.get::<_, Option<i64>>(first + 2)?.map(from_unix),
            catching_up: row.get(first + 3)?,
            cursor: row.get(first)?,
        })
    }

    /// Whether the UI should warn that progress may be out of date.
    pub fn is_stale(&self, max_lag_s: i64) -> bool {
        self.lag_s.is_none_or(|lag| lag > max_lag_s)
    }
}

pub fn freshness(conn: &Connection, now: DateTime<Utc>) -> Result<Freshness> {
    Ok(conn
        .prepare_cached(concat!(
            "SELECT ",
            freshness_columns!(),
            " FROM case_sync WHERE id = 1"
        ))?
        .query_row([], |r| Freshness::from_row(r, 0, now))?)
}

/// A case as the kiosk shows it: no digest, no code, a masked name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseView {
    pub case_no: String,
    pub kind: String,
    pub kind_label: String,
    pub applicant: String,
    pub status: CaseStatus,
    pub status_label: &'static str,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// 超期: open past its due time, at the time of the lookup.
    pub overdue: bool,
    pub steps: Vec<Step>,
    pub result: Option<CaseResult>,
    pub publicity: Option<Publicity>,
    pub updated_at: DateTime<Utc>,
}

/// A stored case with its digest.
pub struct StoredCase {
    pub lookup_digest: String,
    pub view: CaseView,
}

/// An optional JSON column, parsed from the bytes SQLite holds (no copy, no separate UTF-8 pass:
/// serde_json checks the strings it takes).
fn json_column<T: serde::de::DeserializeOwned>(value: ValueRef<'_>) -> Result<Option<T>> {
    match value {
        ValueRef::Null => Ok(None),
        value => Ok(Some(serde_json::from_slice(
            value.as_bytes().map_err(rusqlite::Error::from)?,
        )?)),
    }
}

fn status(text: &str) -> Result<CaseStatus> {
    CaseStatus::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text))
        .map_err(|e| Error::Invalid(format!("case status {text:?}: {e}")))
}

/// Reads one case by number for a lookup. `accept` is called once, with the stored digest
/// (`None` for an unknown number), before anything else of the row is read: the steps JSON,
/// most of a lookup's work, is parsed only for an accepted case, so a wrong code costs what an
/// unknown number costs (see [`crate::lookup`]). The row is read in place and its JSON columns
/// parsed from SQLite's own buffer.
pub fn get_if(
    conn: &Connection,
    case_no: &str,
    now: DateTime<Utc>,
    accept: impl FnOnce(Option<&str>) -> bool,
) -> Result<Option<CaseView>> {
    let mut stmt = conn.prepare_cached(
        "SELECT lookup_digest, kind, kind_label, applicant, received_at, due_at, status,
                steps, result, publicity, updated_at
         FROM cases WHERE case_no = ?1",
    )?;
    let mut rows = stmt.query([case_no])?;
    let row = rows.next()?;
    let digest = row
        .map(|r| r.get_ref(0)?.as_str().map_err(rusqlite::Error::from))
        .transpose()?;
    let (Some(r), true) = (row, accept(digest)) else {
        return Ok(None);
    };
    let status = status(r.get_ref(6)?.as_str().map_err(rusqlite::Error::from)?)?;
    let due_at = from_unix(r.get(5)?);
    Ok(Some(CaseView {
        case_no: case_no.to_owned(),
        kind: r.get(1)?,
        kind_label: r.get(2)?,
        applicant: r.get(3)?,
        status,
        status_label: status.label(),
        received_at: from_unix(r.get(4)?),
        due_at,
        overdue: status.is_open() && now > due_at,
        steps: serde_json::from_slice(r.get_ref(7)?.as_bytes().map_err(rusqlite::Error::from)?)?,
        result: json_column(r.get_ref(8)?)?,
        publicity: json_column(r.get_ref(9)?)?,
        updated_at: from_unix(r.get(10)?),
    }))
}

/// Reads one case with its digest, for support tools and tests (no code is checked).
pub fn get(conn: &Connection, case_no: &str, now: DateTime<Utc>) -> Result<Option<StoredCase>> {
    let mut digest = None;
    let view = get_if(conn, case_no, now, |stored| {
        digest = stored.map(str::to_owned);
        stored.is_some()
    })?;
    Ok(view.zip(digest).map(|(view, lookup_digest)| StoredCase {
        lookup_digest,
        view,
    }))
}

/// Number of cases in the mirror.
pub fn count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT count(*) FROM cases", [], |r| r.get(0))?)
}

impl Mirror {
    /// Applies one page in its own transaction.
    pub fn apply_page(&mut self, page: &FeedPage<'_>, now: DateTime<Utc>) -> Result<Applied> {
        let tx = self.conn.transaction()?;
        let applied = apply_page(&tx, page, now)?;
        tx.commit()?;
        Ok(applied)
    }

    pub fn cursor(&self) -> Result<u64> {
        cursor(&self.conn)
    }

    /// Stores the hall whose feed this mirror follows (from `GET /api/v1/halls`); lookups
    /// answer "not ready" until it is known.
    pub fn set_hall(&self, hall: &protocol::halls::Hall) -> Result<()> {
        self.conn.execute(
            "INSERT INTO hall (id, name) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![hall.id, hall.name],
        )?;
        self.conn
            .execute("DELETE FROM hall WHERE id <> ?1", [&hall.id])?;
        Ok(())
    }

    pub fn freshness(&self, now: DateTime<Utc>) -> Result<Freshness> {
        freshness(&self.conn, now)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::feed::parse_page;
    use protocol::cases::{Case, Change, ChangesPage, StepState};

    /// The digest of `code` for `case_no`, at the demo cost (tests make many).
    pub(crate) fn digest(case_no: &str, code: &str) -> String {
        protocol::lookup::lookup_digest(
            case_no,
            code,
            b"test salt 16 byt",
            protocol::lookup::DEMO_COST,
        )
        .unwrap()
    }

    pub(crate) fn case(case_no: &str, code: &str) -> Case {
        let t: DateTime<Utc> = "2026-11-01T08:00:00Z".parse().unwrap();
        Case {
            case_no: case_no.into(),
            hall_id: "hn-czs-gyx".into(),
            kind: "homestead".into(),
            kind_label: "农村宅基地审批".into(),
            applicant: "张*三".into(),
            lookup_digest: digest(case_no, code),
            received_at: t,
            due_at: t + chrono::Duration::days(30),
            status: CaseStatus::InReview,
            steps: vec![Step {
                code: "accept".into(),
                label: "受理".into(),
                division: Some("政务服务窗口".into()),
                group: 0,
                state: StepState::Done,
                started_at: Some(t),
                finished_at: Some(t),
                note: None,
            }],
            result: None,
            publicity: None,
            updated_at: t,
        }
    }

    /// A typed page as the feed sends it, parsed as the sync parses it.
    pub(crate) fn page(changes: Vec<Change>, next_after: u64, has_more: bool) -> FeedPage<'static> {
        let typed = ChangesPage {
            changes,
            next_after,
            has_more,
        };
        // Leaked: a test's page lives as long as the test anyway.
        parse_page(serde_json::to_vec(&typed).unwrap().leak()).unwrap()
    }

    fn upsert(seq: u64, case: Case) -> Change {
        Change::Upsert {
            seq,
            case: Box::new(case),
        }
    }

    #[test]
    fn an_unmasked_applicant_name_is_masked_before_it_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = Mirror::open(&dir.path().join("m.db")).unwrap();
        let mut unmasked = case("A-1", "1111");
        unmasked.applicant = "张小三".into();
        let mut masked = case("A-2", "2222");
        masked.applicant = "李*".into();
        let now = Utc::now();
        mirror
            .apply_page(
                &page(vec![upsert(1, unmasked), upsert(2, masked)], 2, false),
                now,
            )
            .unwrap();
        let stored: Vec<String> = mirror
            .conn()
            .prepare("SELECT applicant FROM cases ORDER BY case_no")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(stored, ["张*三", "李*"]);
    }

    #[test]
    fn pages_upsert_delete_and_move_the_cursor_together() {
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = Mirror::open(&dir.path().join("m.db")).unwrap();
        let now: DateTime<Utc> = "2026-11-02T00:00:00Z".parse().unwrap();
        let first = page(
            vec![
                upsert(1, case("A-1", "1111")),
                upsert(2, case("A-2", "2222")),
            ],
            2,
            true,
        );
        let applied = mirror.apply_page(&first, now).unwrap();
        assert_eq!((applied.upserts, applied.cursor), (2, 2));
        // Not caught up yet: the first page said there is more.
        let partway = mirror.freshness(now).unwrap();
        assert_eq!(
            (
                partway.caught_up_at,
                partway.last_page_at,
                partway.catching_up
            ),
            (None, Some(now), true)
        );

        let mut changed = case("A-1", "1111");
        changed.status = CaseStatus::Completed;
        let second = page(
            vec![
                upsert(3, changed),
                Change::Delete {
                    seq: 4,
                    case_no: "A-2".into(),
                },
            ],
            4,
            false,
        );
        mirror.apply_page(&second, now).unwrap();
        assert_eq!(count(mirror.conn()).unwrap(), 1);
        let got = get(mirror.conn(), "A-1", now).unwrap().unwrap();
        assert_eq!(got.view.status, CaseStatus::Completed);
        assert_eq!(got.view.steps.len(), 1);
        let later = now + chrono::Duration::seconds(90);
        let fresh = mirror.freshness(later).unwrap();
        assert_eq!(
            (fresh.cursor, fresh.lag_s, fresh.catching_up),
            (4, Some(90), false)
        );
        assert_eq!(fresh.caught_up_at, fresh.last_page_at);
        assert!(fresh.is_stale(60) && !fresh.is_stale(120));
        // A backlog after that: the last page is newer than the last complete read.
        let backlog = page(vec![upsert(5, case("A-3", "3"))], 5, true);
        mirror.apply_page(&backlog, later).unwrap();
        let behind = mirror.freshness(later).unwrap();
        assert_eq!(
            (behind.caught_up_at, behind.last_page_at, behind.catching_up),
            (Some(now), Some(later), true)
        );
    }

    #[test]
    fn a_page_with_a_digest_outside_the_contract_is_refused_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = Mirror::open(&dir.path().join("m.db")).unwrap();
        let good = case("A-1", "1111");
        let mut weak = case("A-2", "2222");
        // The old scheme's SHA-256 hex, and a cost that would take 4 GiB per lookup.
        weak.lookup_digest = "ab".repeat(32);
        let mut greedy = case("A-3", "3333");
        greedy.lookup_digest = greedy.lookup_digest.replace("m=64", "m=4194304");
        for bad in [weak, greedy] {
            let case_no = bad.case_no.clone();
            let err = mirror
                .apply_page(
                    &page(vec![upsert(1, good.clone()), upsert(2, bad)], 2, false),
                    Utc::now(),
                )
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("case {case_no}: lookup_digest")),
                "{err}"
            );
            assert_eq!(
                count(mirror.conn()).unwrap(),
                0,
                "nothing of the page stays"
            );
            assert_eq!(mirror.cursor().unwrap(), 0);
        }
    }

    #[test]
    fn a_page_behind_the_cursor_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = Mirror::open(&dir.path().join("m.db")).unwrap();
        let now = Utc::now();
        mirror
            .apply_page(&page(vec![upsert(5, case("A-1", "1"))], 5, false), now)
            .unwrap();
        let stale = page(vec![upsert(3, case("A-9", "9"))], 3, false);
        assert!(mirror.apply_page(&stale, now).is_err());
        assert_eq!(mirror.cursor().unwrap(), 5);
        assert!(get(mirror.conn(), "A-9", now).unwrap().is_none());
    }

    #[test]
    fn overdue_is_computed_at_lookup_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = Mirror::open(&dir.path().join("m.db")).unwrap();
        let c = case("A-1", "1");
        let due = c.due_at;
        mirror
            .apply_page(&page(vec![upsert(1, c)], 1, false), due)
            .unwrap();
        let before = get(mirror.conn(), "A-1", due).unwrap().unwrap();
        let after = get(mirror.conn(), "A-1", due + chrono::Duration::seconds(1))
            .unwrap()
            .unwrap();
        assert!(!before.view.overdue && after.view.overdue);
    }

    #[test]
    fn feed_rows_follow_the_typed_contract() {
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = Mirror::open(&dir.path().join("m.db")).unwrap();
        let mut full = case("A-1", "1");
        full.status = CaseStatus::Publicity;
        full.result = Some(CaseResult {
            outcome: protocol::cases::Outcome::Approved,
            decided_at: full.updated_at,
            document_no: Some("桂自然资宅批〔2026〕1号".into()),
            reason: None,
        });
        full.publicity = Some(Publicity {
            starts_on: "2026-11-02".parse().unwrap(),
            ends_on: "2026-11-09".parse().unwrap(),
        });
        let now = full.updated_at;
        mirror
            .apply_page(&page(vec![upsert(1, full.clone())], 1, false), now)
            .unwrap();
        let view = get(mirror.conn(), "A-1", now).unwrap().unwrap().view;
        assert_eq!(
            (
                view.status,
                &view.steps,
                &view.result,
                &view.publicity,
                view.received_at,
                view.due_at
            ),
            (
                full.status,
                &full.steps,
                &full.result,
                &full.publicity,
                full.received_at,
                full.due_at
            )
        );
        for status in [
            CaseStatus::Received,
            CaseStatus::InReview,
            CaseStatus::AwaitingMaterial,
            CaseStatus::Publicity,
            CaseStatus::Completed,
            CaseStatus::Rejected,
        ] {
            assert_eq!(serde_json::to_value(status).unwrap(), status_code(status));
        }
        assert!(parse_page(br#"{"changes":[{"op":"merge","seq":1,"case_no":"X"}],"next_after":1,"has_more":false}"#).is_err());
    }
}
