//! Device tokens: each device has its own bearer token, bound to the device and its hall.
//!
//! Tokens are 32 random bytes from the operating system; the store keeps only their SHA-256.
//! A plain hash is enough here (unlike for the 4-digit lookup codes): a token has 256 bits
//! of entropy, so its hash cannot be searched back to it. A request's token is hashed and
//! looked up by that hash on every request, so a token issued or revoked by another process
//! (`egov-sim device revoke`) holds from the next request on.

use chrono::{DateTime, Utc};
use protocol::devices::{DEVICE_ID_RULE, is_device_id};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// Who a device token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub device_id: String,
    pub hall_id: String,
}

/// Why a token could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("device_id: must be {DEVICE_ID_RULE}")]
    BadDeviceId,
    #[error("hall_id: no hall {0:?}")]
    UnknownHall(String),
    #[error(transparent)]
    Store(#[from] rusqlite::Error),
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Issues a new token for `device_id` in `hall_id`, replacing the device's previous token
/// (which stops working at once). Returns the token; it is not stored.
pub fn issue(
    conn: &Connection,
    device_id: &str,
    hall_id: &str,
    now: DateTime<Utc>,
) -> Result<String, IssueError> {
    if !is_device_id(device_id) {
        return Err(IssueError::BadDeviceId);
    }
    let known: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM halls WHERE id = ?1)",
        [hall_id],
        |r| r.get(0),
    )?;
    if !known {
        return Err(IssueError::UnknownHall(hall_id.to_owned()));
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("the OS random source is available");
    let token = format!("lhdev-{}", hex::encode(secret));
    conn.execute(
        "INSERT INTO device_tokens (device_id, hall_id, token_sha256, issued_at)
         VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (device_id) DO UPDATE SET hall_id = excluded.hall_id,
             token_sha256 = excluded.token_sha256, issued_at = excluded.issued_at",
        params![device_id, hall_id, token_hash(&token), now.to_rfc3339()],
    )?;
    Ok(token)
}

/// Revokes the device's token; `false` when it had none.
pub fn revoke(conn: &Connection, device_id: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM device_tokens WHERE device_id = ?1",
        [device_id],
    )? > 0)
}

/// The device a token belongs to, if any. The lookup is by the token's hash, so timing
/// tells an attacker at most how a hash of their guess sorts, nothing about a real token.
pub fn authenticate(conn: &Connection, token: &str) -> rusqlite::Result<Option<Device>> {
    conn.prepare_cached("SELECT device_id, hall_id FROM device_tokens WHERE token_sha256 = ?1")?
        .query_row([token_hash(token)], |r| {
            Ok(Device {
                device_id: r.get(0)?,
                hall_id: r.get(1)?,
            })
        })
        .optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::migrations().to_latest(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO halls (id, body) VALUES ('hn-czs-gyx', '{}')",
            [],
        )
        .unwrap();
        conn
    }

    #[test]
    fn a_token_authenticates_its_device_until_replaced_or_revoked() {
        let conn = store();
        let now = Utc::now();
        let first = issue(&conn, "kiosk-1", "hn-czs-gyx", now).unwrap();
        let other = issue(&conn, "kiosk-2", "hn-czs-gyx", now).unwrap();
        assert_ne!(first, other);
        let device = authenticate(&conn, &first).unwrap().unwrap();
        assert_eq!(device.device_id, "kiosk-1");
        assert_eq!(device.hall_id, "hn-czs-gyx");

        let second = issue(&conn, "kiosk-1", "hn-czs-gyx", now).unwrap();
        assert_eq!(authenticate(&conn, &first).unwrap(), None, "replaced");
        assert!(authenticate(&conn, &second).unwrap().is_some());

        assert!(revoke(&conn, "kiosk-1").unwrap());
        assert_eq!(authenticate(&conn, &second).unwrap(), None, "revoked");
        assert!(!revoke(&conn, "kiosk-1").unwrap());
        assert!(authenticate(&conn, &other).unwrap().is_some());
    }

    #[test]
    fn only_a_hash_of_the_token_is_stored() {
        let conn = store();
        let token = issue(&conn, "kiosk-1", "hn-czs-gyx", Utc::now()).unwrap();
        let stored: String = conn
            .query_row("SELECT token_sha256 FROM device_tokens", [], |r| r.get(0))
            .unwrap();
        assert_ne!(stored, token);
        assert!(!stored.contains(&token[6..]));
    }

    #[test]
    fn bad_ids_and_unknown_halls_are_refused() {
        let conn = store();
        let now = Utc::now();
        assert!(matches!(
            issue(&conn, "", "hn-czs-gyx", now),
            Err(IssueError::BadDeviceId)
        ));
        assert!(matches!(
            issue(&conn, "a/b", "hn-czs-gyx", now),
            Err(IssueError::BadDeviceId)
        ));
        let err = issue(&conn, "k", "nowhere", now).unwrap_err();
        assert_eq!(err.to_string(), "hall_id: no hall \"nowhere\"");
    }
}
