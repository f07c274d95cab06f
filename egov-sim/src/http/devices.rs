//! Heartbeats, queued commands and screenshots.

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::devices::{
    Command, CommandAction, DEVICE_ID_RULE, DeviceStatus, DeviceToken, Fleet, Heartbeat,
    HeartbeatReply, IssueDeviceToken, is_device_id,
};
use rusqlite::{Connection, OptionalExtension, params};

use super::auth::{AdminAuth, DeviceAuth};
use super::error::{ApiError, ApiResult};
use super::extract::{Body, Json, Path, stored_int};
use crate::state::AppState;

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

fn checked_device_id(id: &str) -> Result<(), ApiError> {
    if is_device_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "device_id must be {DEVICE_ID_RULE}"
        )))
    }
}

fn queued_commands(conn: &Connection, device_id: &str) -> anyhow::Result<Vec<Command>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, issued_at, action FROM commands
         WHERE device_id = ?1 AND state = 'queued' ORDER BY id",
    )?;
    let rows = stmt.query_map([device_id], |r| {
        Ok((
            r.get::<_, u64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut commands = Vec::new();
    for row in rows {
        let (id, issued_at, action) = row?;
        commands.push(Command {
            id,
            issued_at: issued_at.parse()?,
            action: serde_json::from_str(&action)?,
        });
    }
    Ok(commands)
}

/// Records the heartbeat and the results it reports; answers with the commands still
/// queued. A command stays queued (and is sent again) until the device reports it, so a
/// lost answer loses no command; devices run each command id once.
pub async fn heartbeat(
    device: DeviceAuth,
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    Json(heartbeat, _): Json<Heartbeat>,
) -> ApiResult<AxumJson<HeartbeatReply>> {
    device.owns("device_id", &device_id)?;
    device.in_hall("hall_id", &heartbeat.hall_id)?;
    heartbeat
        .validate()
        .map_err(|m| ApiError::unprocessable("invalid_heartbeat", m))?;
    let now = state.clock.now();
    let commands = state
        .write(move |conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO devices (device_id, last_heartbeat_at, heartbeat) VALUES (?1, ?2, ?3)
                 ON CONFLICT (device_id) DO UPDATE SET
                     last_heartbeat_at = excluded.last_heartbeat_at, heartbeat = excluded.heartbeat",
                params![device_id, now.to_rfc3339(), serde_json::to_string(&heartbeat)?],
            )?;
            for result in &heartbeat.completed {
                tx.execute(
                    "UPDATE commands SET state = ?1, message = ?2
                     WHERE id = ?3 AND device_id = ?4 AND state = 'queued'",
                    params![
                        if result.ok { "done" } else { "failed" },
                        result.message,
                        result.id,
                        device_id
                    ],
                )?;
            }
            let commands = queued_commands(&tx, &device_id)?;
            tx.commit()?;
            Ok(commands)
        })
        .await?;
    Ok(AxumJson(HeartbeatReply {
        server_time: now,
        commands,
    }))
}

pub async fn upload_screenshot(
    device: DeviceAuth,
    State(state): State<AppState>,
    Path((device_id, command_id)): Path<(String, u64)>,
    Body(png): Body,
) -> ApiResult<StatusCode> {
    device.owns("device_id", &device_id)?;
    let command_id = stored_int("command_id", command_id)?;
    if !png.starts_with(PNG_MAGIC) {
        return Err(ApiError::unprocessable(
            "not_png",
            "a screenshot must be a PNG image",
        ));
    }
    state
        .write(move |conn| {
            let action: Option<String> = conn
                .query_row(
                    "SELECT action FROM commands WHERE id = ?1 AND device_id = ?2",
                    params![command_id, device_id],
                    |r| r.get(0),
                )
                .optional()?;
            let is_screenshot = action
                .and_then(|a| serde_json::from_str::<CommandAction>(&a).ok())
                .is_some_and(|a| a == CommandAction::Screenshot);
            if !is_screenshot {
                return Ok(Err(ApiError::not_found(format!(
                    "device {device_id} has no screenshot command {command_id}"
                ))));
            }
            conn.execute(
                "INSERT OR REPLACE INTO screenshots (device_id, command_id, png) VALUES (?1, ?2, ?3)",
                params![device_id, command_id, png.as_ref()],
            )?;
            Ok(Ok(()))
        })
        .await??;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn fleet(_: AdminAuth, State(state): State<AppState>) -> ApiResult<AxumJson<Fleet>> {
    let devices = state
        .read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT d.device_id, d.last_heartbeat_at, d.heartbeat,
                    (SELECT count(*) FROM commands c WHERE c.device_id = d.device_id AND c.state = 'queued'),
                    (SELECT group_concat(command_id) FROM screenshots s WHERE s.device_id = d.device_id)
                 FROM devices d ORDER BY d.device_id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })?;
            let mut devices = Vec::new();
            for row in rows {
                let (device_id, last, heartbeat, pending, shots) = row?;
                devices.push(DeviceStatus {
                    device_id,
                    last_heartbeat_at: last.parse()?,
                    heartbeat: serde_json::from_str(&heartbeat)?,
                    pending_commands: pending,
                    screenshots: shots
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(|s| s.parse().ok())
                        .collect(),
                });
            }
            Ok(devices)
        })
        .await?;
    Ok(AxumJson(Fleet { devices }))
}

pub async fn queue_command(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    Json(action, _): Json<CommandAction>,
) -> ApiResult<(StatusCode, AxumJson<Command>)> {
    checked_device_id(&device_id)?;
    if let CommandAction::SetDisplaySchedule { schedule } = &action {
        schedule
            .validate()
            .map_err(|m| ApiError::unprocessable("invalid_schedule", m))?;
    }
    let now = state.clock.now();
    let command = state
        .write(move |conn| {
            conn.execute(
                "INSERT INTO commands (device_id, issued_at, action, state) VALUES (?1, ?2, ?3, 'queued')",
                params![device_id, now.to_rfc3339(), serde_json::to_string(&action)?],
            )?;
            Ok(Command {
                id: conn.last_insert_rowid() as u64,
                issued_at: now,
                action,
            })
        })
        .await?;
    Ok((StatusCode::CREATED, AxumJson(command)))
}

pub async fn screenshot(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((device_id, command_id)): Path<(String, u64)>,
) -> ApiResult<Response> {
    let command_id = stored_int("command_id", command_id)?;
    let png: Option<Vec<u8>> = state
        .read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT png FROM screenshots WHERE device_id = ?1 AND command_id = ?2",
                    params![device_id, command_id],
                    |r| r.get(0),
                )
                .optional()?)
        })
        .await?;
    let png = png.ok_or_else(|| ApiError::not_found("no such screenshot"))?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// Issues a token for the device (replacing its previous one) and answers it, once.
pub async fn issue_token(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    Json(issue, _): Json<IssueDeviceToken>,
) -> ApiResult<(StatusCode, AxumJson<DeviceToken>)> {
    checked_device_id(&device_id)?;
    let now = state.clock.now();
    let (id, hall) = (device_id.clone(), issue.hall_id.clone());
    let token = state
        .write(move |conn| Ok(crate::tokens::issue(conn, &id, &hall, now)))
        .await?
        .map_err(|e| match e {
            crate::tokens::IssueError::Store(e) => ApiError::from(e),
            refused => ApiError::unprocessable("invalid_device", refused.to_string()),
        })?;
    Ok((
        StatusCode::CREATED,
        AxumJson(DeviceToken {
            device_id,
            hall_id: issue.hall_id,
            token,
        }),
    ))
}

/// Revokes the device's token: its next request is refused.
pub async fn revoke_token(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(device_id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = device_id.clone();
    if state
        .write(move |conn| Ok(crate::tokens::revoke(conn, &id)?))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "device {device_id} has no token"
        )))
    }
}
