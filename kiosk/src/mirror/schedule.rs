//! The display schedule: when the screen is on (the UI blanks it outside). It has two
//! sources, the settings published with the content and an administrator's
//! `set_display_schedule` command, and this precedence:
//!
//! * the command's schedule wins — it is how one hall is kept open for an evening or dark
//!   for a day without a new release for every kiosk;
//! * until a content release changes the published schedule: that is the bureau's newer
//!   decision, so the command's schedule is dropped in the same transaction. A release that
//!   leaves the published schedule as it was keeps the command's.

use protocol::devices::DisplaySchedule;
use rusqlite::{Connection, OptionalExtension, Transaction};
use serde::Serialize;

use super::Mirror;
use crate::error::Result;

/// Settings key of the schedule a command set.
const COMMANDED: &str = "display_schedule";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleSource {
    /// Set by a `set_display_schedule` command.
    Command,
    /// Published with the content release (or the built-in sample).
    Published,
}

/// The schedule in force, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveSchedule {
    pub schedule: DisplaySchedule,
    pub source: ScheduleSource,
}

fn commanded(conn: &Connection) -> Result<Option<DisplaySchedule>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [COMMANDED],
            |r| r.get(0),
        )
        .optional()?;
    Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
}

/// The schedule of the published settings.
pub(crate) fn published(conn: &Connection) -> Result<Option<DisplaySchedule>> {
    Ok(super::settings::published(conn)?.and_then(|s| s.display_schedule))
}

/// Applies the precedence rule inside the transaction that replaces the content, after the
/// new items are in: `published_before` is the published schedule of the replaced release.
pub(crate) fn on_release(
    tx: &Transaction,
    published_before: Option<DisplaySchedule>,
) -> Result<()> {
    if published(tx)? != published_before {
        tx.execute("DELETE FROM settings WHERE key = ?1", [COMMANDED])?;
    }
    Ok(())
}

impl Mirror {
    /// Stores the schedule of a `set_display_schedule` command; it overrides the published
    /// one (see the module documentation).
    pub fn set_display_schedule(&self, schedule: &DisplaySchedule) -> Result<()> {
        self.conn().execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [COMMANDED, &serde_json::to_string(schedule)?],
        )?;
        Ok(())
    }

    /// Drops the schedule a command set (a `clear_display_schedule` command): the published
    /// one is in force again. Returns whether there was one.
    pub fn clear_display_schedule(&self) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM settings WHERE key = ?1", [COMMANDED])?
            == 1)
    }

    /// The schedule the screen follows; `None`: no schedule, the screen stays on.
    pub fn display_schedule(&self) -> Result<Option<EffectiveSchedule>> {
        if let Some(schedule) = commanded(self.conn())? {
            return Ok(Some(EffectiveSchedule {
                schedule,
                source: ScheduleSource::Command,
            }));
        }
        Ok(published(self.conn())?.map(|schedule| EffectiveSchedule {
            schedule,
            source: ScheduleSource::Published,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::{sample, verify};
    use crate::mirror::content::{ReleaseRows, replace};
    use protocol::items::Item;

    fn schedule(on: &str, off: &str) -> DisplaySchedule {
        DisplaySchedule {
            on: on.into(),
            off: off.into(),
            weekdays: vec![1, 2, 3, 4, 5],
        }
    }

    /// Applies the sample as release `version`, publishing `published` as its schedule.
    fn apply(mirror: &mut Mirror, version: u64, published: Option<DisplaySchedule>) {
        let mut compiled = sample::builtin();
        for (_, item) in &mut compiled.items {
            if let Item::Settings(settings) = item {
                settings.display_schedule = published.clone();
            }
        }
        let media = verify::media_rows(&compiled);
        let tx = mirror.conn_mut().transaction().unwrap();
        let release = ReleaseRows {
            version: Some(version),
            manifest_sha256: None,
            etag: None,
            items: &compiled.items,
            media: &media,
        };
        replace(&tx, &release, chrono::Utc::now()).unwrap();
        tx.commit().unwrap();
    }

    fn effective(schedule: DisplaySchedule, source: ScheduleSource) -> Option<EffectiveSchedule> {
        Some(EffectiveSchedule { schedule, source })
    }

    #[test]
    fn a_command_overrides_until_a_release_changes_the_published_schedule() {
        let dir = tempfile::tempdir().unwrap();
        let mut mirror = Mirror::open(&dir.path().join("m.db")).unwrap();
        assert_eq!(mirror.display_schedule().unwrap(), None);
        let office = schedule("08:00", "18:00");
        apply(&mut mirror, 1, Some(office.clone()));
        assert_eq!(
            mirror.display_schedule().unwrap(),
            effective(office.clone(), ScheduleSource::Published)
        );

        let evening = schedule("08:00", "21:00");
        mirror.set_display_schedule(&evening).unwrap();
        assert_eq!(
            mirror.display_schedule().unwrap(),
            effective(evening.clone(), ScheduleSource::Command)
        );
        // A release with the same published schedule keeps the command's.
        apply(&mut mirror, 2, Some(office));
        assert_eq!(
            mirror.display_schedule().unwrap(),
            effective(evening.clone(), ScheduleSource::Command)
        );
        // Cleared by a command, the published one is in force again.
        mirror.set_display_schedule(&evening).unwrap();
        assert!(mirror.clear_display_schedule().unwrap());
        assert!(!mirror.clear_display_schedule().unwrap());
        assert_eq!(
            mirror.display_schedule().unwrap(),
            effective(schedule("08:00", "18:00"), ScheduleSource::Published)
        );
        mirror.set_display_schedule(&evening).unwrap();
        // One that changes it takes over.
        let winter = schedule("08:30", "17:30");
        apply(&mut mirror, 3, Some(winter.clone()));
        assert_eq!(
            mirror.display_schedule().unwrap(),
            effective(winter, ScheduleSource::Published)
        );
        // Removing the published schedule is a change too: no schedule, the screen stays on.
        mirror
            .set_display_schedule(&schedule("07:00", "19:00"))
            .unwrap();
        apply(&mut mirror, 4, None);
        assert_eq!(mirror.display_schedule().unwrap(), None);
    }
}
