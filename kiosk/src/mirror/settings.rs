//! The settings item of the applied release, read by the content queries and by the
//! display schedule.

use protocol::items::Settings;
use rusqlite::{Connection, OptionalExtension};

use crate::error::Result;

/// The settings item of the applied release, if it has one.
pub(crate) fn published(conn: &Connection) -> Result<Option<Settings>> {
    let body: Option<String> = conn
        .query_row(
            "SELECT body FROM content_items WHERE kind = 'settings'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
}
