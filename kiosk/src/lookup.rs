//! The case lookup: case number + verification code → the case as the UI shows it.
//!
//! The code is checked against the case's stored argon2id digest ([`protocol::lookup`]) and
//! is never stored or logged. A lookup costs one argon2id computation, tens of milliseconds:
//! call it off the UI thread. An unknown case number and a wrong code give the same answer
//! after the same work — one row read, one argon2id computation (for an unknown number,
//! against another case's digest, at the hall's cost), nothing parsed — so the kiosk reveals
//! neither by its answer nor by its timing which case numbers exist.

use chrono::{DateTime, Utc};
use std::sync::OnceLock;

use protocol::lookup::{STANDARD_COST, lookup_digest, verify};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::Result;
use crate::mirror::cases::{self, CaseView, Freshness, freshness_columns};
use crate::mirror::{Mirror, from_unix, unix};
use crate::throttle::{PER_CASE, PER_KIOSK};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Lookup {
    Found {
        case: Box<CaseView>,
        freshness: Freshness,
    },
    /// 查询信息有误: no such case, or not this code.
    NoMatch { attempts_left: usize },
    /// 尝试次数过多: locked until the given time.
    CoolingDown { until: DateTime<Utc> },
    /// The mirror has not yet received the hall's data.
    NotReady,
}

/// The digest an unknown number's guess is spent on, so that it costs what a wrong code
/// costs: any stored case's (a hall's cases share their cost), or in a mirror without cases
/// one made once at the standard cost. It cannot open anything: the typed case number is
/// part of what is hashed, and an unknown number is never accepted anyway.
fn decoy_digest(conn: &Connection) -> Result<String> {
    static EMPTY_MIRROR: OnceLock<String> = OnceLock::new();
    let stored: Option<String> = conn
        .prepare_cached("SELECT lookup_digest FROM cases LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    Ok(stored.unwrap_or_else(|| {
        EMPTY_MIRROR
            .get_or_init(|| {
                lookup_digest("", "", &[0; 16], STANDARD_COST)
                    .expect("the standard cost is within the contract")
            })
            .clone()
    }))
}

/// Receipts print case numbers in upper case; scanners and hands vary.
fn normalise_case_no(input: &str) -> String {
    input.trim().to_ascii_uppercase()
}

/// Recent failed lookups in one statement: `(of this case number, of the whole kiosk)`,
/// newest first, as many of each as its limit can use.
fn recent_failures(conn: &Connection, case_no: &str, at: i64) -> Result<(Vec<i64>, Vec<i64>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1, at FROM (SELECT at FROM lookup_failures
                            WHERE case_no = ?1 AND at > ?2 ORDER BY at DESC LIMIT ?3)
         UNION ALL
         SELECT 0, at FROM (SELECT at FROM lookup_failures
                            WHERE at > ?4 ORDER BY at DESC LIMIT ?5)",
    )?;
    let rows = stmt.query_map(
        params![
            case_no,
            at - PER_CASE.window_s,
            PER_CASE.max_failures as i64,
            at - PER_KIOSK.window_s,
            PER_KIOSK.max_failures as i64
        ],
        |r| Ok((r.get::<_, bool>(0)?, r.get::<_, i64>(1)?)),
    )?;
    let (mut per_case, mut per_kiosk) = (Vec::new(), Vec::new());
    for row in rows {
        let (this_case, time) = row?;
        if this_case {
            &mut per_case
        } else {
            &mut per_kiosk
        }
        .push(time);
    }
    Ok((per_case, per_kiosk))
}

/// Whether the hall is known (synced) and where the case feed stands, in one statement.
fn hall_and_freshness(conn: &Connection, now: DateTime<Utc>) -> Result<(bool, Freshness)> {
    Ok(conn
        .prepare_cached(concat!(
            "SELECT EXISTS (SELECT 1 FROM hall), ",
            freshness_columns!(),
            " FROM case_sync WHERE id = 1"
        ))?
        .query_row([], |r| Ok((r.get(0)?, Freshness::from_row(r, 1, now)?)))?)
}

/// What the reads of a lookup decided, before anything is written or logged.
enum Checked {
    Locked(i64),
    NotReady,
    Match(Box<CaseView>, Freshness, bool),
    NoMatch(Vec<i64>),
}

/// The reads of one lookup.
fn check(conn: &Connection, case_no: &str, code: &str, now: DateTime<Utc>) -> Result<Checked> {
    let at = unix(now);
    let (per_case, per_kiosk) = recent_failures(conn, case_no, at)?;
    let locked = [
        PER_CASE.locked_until(&per_case, at),
        PER_KIOSK.locked_until(&per_kiosk, at),
    ];
    if let Some(until) = locked.into_iter().flatten().max() {
        return Ok(Checked::Locked(until));
    }
    let (true, freshness) = hall_and_freshness(conn, now)? else {
        return Ok(Checked::NotReady);
    };
    let found = if case_no.len() <= 64 && code.len() <= 32 {
        let decoy = decoy_digest(conn)?;
        cases::get_if(conn, case_no, now, |stored| {
            // Computed first and always, for known and unknown numbers alike.
            verify(stored.unwrap_or(&decoy), case_no, code) && stored.is_some()
        })?
    } else {
        None
    };
    Ok(match found {
        Some(view) => Checked::Match(Box::new(view), freshness, !per_case.is_empty()),
        None => Checked::NoMatch(per_case),
    })
}

impl Mirror {
    /// When the kiosk-wide lock ends, if lookups are locked at `now` (read only: the screen
    /// shows the countdown to the next person before they try).
    pub fn kiosk_locked_until(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let at = unix(now);
        let mut stmt = self.conn().prepare_cached(
            "SELECT at FROM lookup_failures WHERE at > ?1 ORDER BY at DESC LIMIT ?2",
        )?;
        let times = stmt
            .query_map(
                params![at - PER_KIOSK.window_s, PER_KIOSK.max_failures as i64],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(PER_KIOSK.locked_until(&times, at).map(from_unix))
    }

    /// Whether the mirror holds any case whose number starts with `prefix` (the letters
    /// before the year, GY for GY2026-…): a number with another prefix belongs to another
    /// hall, which the screen says instead of counting a failed try. Prefixes are printed on
    /// every receipt, so the answer reveals nothing about any case.
    pub fn holds_case_prefix(&self, prefix: &str) -> Result<bool> {
        let prefix = normalise_case_no(prefix);
        // The case numbers from `prefix` up to the next prefix: a range of the primary key.
        let mut end = prefix.clone().into_bytes();
        match end.last_mut() {
            Some(last) if *last < 0x7f => *last += 1,
            _ => return Ok(false),
        }
        let end = String::from_utf8(end).map_err(|e| crate::Error::Invalid(e.to_string()))?;
        Ok(self.conn().query_row(
            "SELECT EXISTS (SELECT 1 FROM cases WHERE case_no >= ?1 AND case_no < ?2)",
            [&prefix, &end],
            |r| r.get(0),
        )?)
    }

    /// Looks a case up, throttled: see [`crate::throttle`].
    pub fn lookup(&self, case_no: &str, code: &str, now: DateTime<Utc>) -> Result<Lookup> {
        let case_no = normalise_case_no(case_no);
        let conn = self.conn();
        let at = unix(now);
        let checked = self.read_snapshot(|conn| check(conn, &case_no, code.trim(), now))?;
        match checked {
            Checked::Locked(until) => {
                tracing::info!(case_no, outcome = "cooling_down", "case lookup");
                Ok(Lookup::CoolingDown {
                    until: from_unix(until),
                })
            }
            Checked::NotReady => Ok(Lookup::NotReady),
            Checked::Match(case, freshness, had_failures) => {
                if had_failures {
                    conn.execute("DELETE FROM lookup_failures WHERE case_no = ?1", [&case_no])?;
                }
                tracing::info!(case_no, outcome = "found", "case lookup");
                Ok(Lookup::Found { case, freshness })
            }
            Checked::NoMatch(mut tried) => {
                conn.execute(
                    "INSERT INTO lookup_failures (case_no, at) VALUES (?1, ?2)",
                    params![case_no, at],
                )?;
                conn.execute(
                    "DELETE FROM lookup_failures WHERE at <= ?1",
                    [at - PER_CASE.window_s.max(PER_KIOSK.window_s)],
                )?;
                tracing::info!(case_no, outcome = "no_match", "case lookup");
                tried.push(at);
                Ok(Lookup::NoMatch {
                    attempts_left: PER_CASE.remaining(&tried, at),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::cases::tests::{case, page};
    use protocol::cases::Change;
    use protocol::halls::Hall;

    fn mirror_with_case(dir: &std::path::Path) -> Mirror {
        let mut mirror = Mirror::open(&dir.join("m.db")).unwrap();
        mirror
            .set_hall(&Hall {
                id: "hn-czs-gyx".into(),
                name: "郴州市桂阳县政务大厅".into(),
                division_code: "431021".into(),
                lon: 0.0,
                lat: 0.0,
            })
            .unwrap();
        let changes = vec![Change::Upsert {
            seq: 1,
            case: Box::new(case("GY2026-ZJD-000001", "4321")),
        }];
        mirror
            .apply_page(&page(changes, 1, false), Utc::now())
            .unwrap();
        mirror
    }

    #[test]
    fn right_code_finds_the_case_and_wrong_code_or_case_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = mirror_with_case(dir.path());
        let now = Utc::now();
        let found = mirror.lookup(" gy2026-zjd-000001 ", "4321", now).unwrap();
        let Lookup::Found { case, .. } = found else {
            panic!("expected the case, got {found:?}");
        };
        assert_eq!(case.applicant, "张*三");
        // Wrong code and unknown case give the same answer.
        assert_eq!(
            mirror.lookup("GY2026-ZJD-000001", "4320", now).unwrap(),
            Lookup::NoMatch { attempts_left: 4 }
        );
        assert_eq!(
            mirror.lookup("GY2026-ZJD-999999", "4321", now).unwrap(),
            Lookup::NoMatch { attempts_left: 4 }
        );
    }

    #[test]
    fn a_wrong_code_is_refused_before_the_case_is_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = mirror_with_case(dir.path());
        // Steps the parser would choke on: only a lookup that gets past the digest reads them.
        mirror
            .conn()
            .execute("UPDATE cases SET steps = 'not json'", [])
            .unwrap();
        let now = Utc::now();
        assert_eq!(
            mirror.lookup("GY2026-ZJD-000001", "4320", now).unwrap(),
            Lookup::NoMatch { attempts_left: 4 }
        );
        assert!(mirror.lookup("GY2026-ZJD-000001", "4321", now).is_err());
    }

    #[test]
    fn five_failures_lock_the_case_even_for_the_right_code() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = mirror_with_case(dir.path());
        let now = Utc::now();
        for _ in 0..5 {
            assert!(matches!(
                mirror.lookup("GY2026-ZJD-000001", "0000", now).unwrap(),
                Lookup::NoMatch { .. }
            ));
        }
        let locked = mirror.lookup("GY2026-ZJD-000001", "4321", now).unwrap();
        assert_eq!(
            locked,
            Lookup::CoolingDown {
                until: from_unix(unix(now) + PER_CASE.cool_down_s)
            }
        );
        // Another case is not locked by these five.
        assert!(matches!(
            mirror.lookup("GY2026-ZJD-000002", "1", now).unwrap(),
            Lookup::NoMatch { .. }
        ));
        let later = now + chrono::Duration::seconds(PER_CASE.cool_down_s);
        assert!(matches!(
            mirror.lookup("GY2026-ZJD-000001", "4321", later).unwrap(),
            Lookup::Found { .. }
        ));
    }

    #[test]
    fn thirty_failures_across_case_numbers_lock_every_lookup_on_the_kiosk() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = mirror_with_case(dir.path());
        let now = Utc::now();
        // Someone walking through case numbers: one try each, never five on one case.
        for n in 0..PER_KIOSK.max_failures {
            let case_no = format!("GY2026-ZJD-9{n:05}");
            assert_eq!(
                mirror.lookup(&case_no, "4321", now).unwrap(),
                Lookup::NoMatch { attempts_left: 4 },
                "{case_no}"
            );
        }
        let until = from_unix(unix(now) + PER_KIOSK.cool_down_s);
        assert_eq!(
            mirror.lookup("GY2026-ZJD-000001", "4321", now).unwrap(),
            Lookup::CoolingDown { until },
            "the right code for a real case waits too"
        );
        let later = now + chrono::Duration::seconds(PER_KIOSK.cool_down_s);
        assert!(matches!(
            mirror.lookup("GY2026-ZJD-000001", "4321", later).unwrap(),
            Lookup::Found { .. }
        ));
    }

    #[test]
    fn the_kiosk_lock_is_read_without_a_try() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = mirror_with_case(dir.path());
        let now = Utc::now();
        assert_eq!(mirror.kiosk_locked_until(now).unwrap(), None);
        for n in 0..PER_KIOSK.max_failures {
            mirror
                .lookup(&format!("GY2026-ZJD-8{n:05}"), "1", now)
                .unwrap();
        }
        let until = from_unix(unix(now) + PER_KIOSK.cool_down_s);
        assert_eq!(mirror.kiosk_locked_until(now).unwrap(), Some(until));
        // Asking again records nothing: the lock ends when it said.
        assert_eq!(mirror.kiosk_locked_until(now).unwrap(), Some(until));
        assert_eq!(mirror.kiosk_locked_until(until).unwrap(), None);
    }

    #[test]
    fn case_number_prefixes_tell_this_hall_from_others() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = mirror_with_case(dir.path());
        assert!(mirror.holds_case_prefix("GY").unwrap());
        assert!(mirror.holds_case_prefix("gy").unwrap());
        assert!(!mirror.holds_case_prefix("CZ").unwrap());
        assert!(
            mirror.holds_case_prefix("G").unwrap(),
            "a prefix is a range of numbers"
        );
        assert!(!mirror.holds_case_prefix("").unwrap());
    }

    #[test]
    fn the_code_is_stored_nowhere() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = mirror_with_case(dir.path());
        mirror
            .lookup("GY2026-ZJD-000001", "97531", Utc::now())
            .unwrap();
        drop(mirror);
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            assert!(!bytes.windows(5).any(|w| w == b"97531"));
        }
    }

    #[test]
    fn a_mirror_without_hall_data_is_not_ready() {
        let dir = tempfile::tempdir().unwrap();
        let mirror = Mirror::open(&dir.path().join("m.db")).unwrap();
        assert_eq!(
            mirror.lookup("X", "1", Utc::now()).unwrap(),
            Lookup::NotReady
        );
    }
}
