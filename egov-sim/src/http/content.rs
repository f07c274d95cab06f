//! Content releases: served like a static host (`/content/...`), uploaded by administrators.
//! Blobs live as files named by their SHA-256 under `DATA/content/blobs/`.

use std::path::PathBuf;

use axum::Json as AxumJson;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use protocol::content::{ManifestError, PublishManifest, is_sha256_hex, sha256_hex};
use rusqlite::{OptionalExtension, params};

use super::auth::AdminAuth;
use super::error::{ApiError, ApiResult};
use super::extract::{Body, Json, Path};
use crate::state::AppState;

fn blob_dir(state: &AppState) -> PathBuf {
    state.config.data_dir.join("content").join("blobs")
}

fn checked_sha(sha256: &str) -> Result<(), ApiError> {
    if is_sha256_hex(sha256) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "a blob is named by 64 lowercase hex digits",
        ))
    }
}

/// The current release: `(version, manifest, signature)`.
async fn current(state: &AppState) -> ApiResult<(u64, String, String)> {
    state
        .read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT version, manifest, signature FROM content_releases
                     ORDER BY version DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("no content has been published"))
}

fn etag(version: u64, manifest: &str) -> String {
    format!("\"{version}-{}\"", &sha256_hex(manifest.as_bytes())[..16])
}

pub async fn manifest(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let (version, manifest, _) = current(&state).await?;
    let tag = etag(version, &manifest);
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (header::ETAG, tag),
        ],
        manifest,
    )
        .into_response())
}

pub async fn signature(State(state): State<AppState>) -> ApiResult<Response> {
    let (_, _, signature) = current(&state).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain")], signature).into_response())
}

pub async fn blob(
    State(state): State<AppState>,
    Path(sha256): Path<String>,
) -> ApiResult<Response> {
    checked_sha(&sha256)?;
    match tokio::fs::read(blob_dir(&state).join(&sha256)).await {
        Ok(bytes) => Ok((
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(ApiError::not_found(format!("no blob {sha256}")))
        }
        Err(e) => Err(anyhow::Error::from(e).into()),
    }
}

pub async fn upload_blob(
    _: AdminAuth,
    State(state): State<AppState>,
    Path(sha256): Path<String>,
    Body(bytes): Body,
) -> ApiResult<StatusCode> {
    checked_sha(&sha256)?;
    let actual = sha256_hex(&bytes);
    if actual != sha256 {
        return Err(ApiError::unprocessable(
            "hash_mismatch",
            format!("the body's SHA-256 is {actual}"),
        ));
    }
    let dir = blob_dir(&state);
    let size = bytes.len() as u64;
    state
        .write(move |conn| {
            // Written under a temporary name and renamed, so a blob is whole or absent.
            std::fs::create_dir_all(&dir)?;
            let tmp = dir.join(format!(".{sha256}.tmp"));
            std::fs::write(&tmp, &bytes)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, dir.join(&sha256))?;
            conn.execute(
                "INSERT OR IGNORE INTO content_blobs (sha256, size) VALUES (?1, ?2)",
                params![sha256, size],
            )?;
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn publish(
    _: AdminAuth,
    State(state): State<AppState>,
    Json(publish, _): Json<PublishManifest>,
) -> ApiResult<impl IntoResponse> {
    // Signed by a publisher key first: a release every kiosk would refuse is not published.
    let bytes = publish.manifest.as_bytes();
    let checked = if state.config.publish_unverified {
        protocol::content::decode_signature(&publish.signature)
            .and_then(|_| protocol::content::Manifest::parse(bytes))
    } else {
        protocol::content::verify(bytes, &publish.signature, &state.config.content_keys)
    };
    let manifest = checked.map_err(|e| match e {
        ManifestError::MalformedSignature | ManifestError::BadSignature => {
            ApiError::unprocessable("invalid_signature", e.to_string())
        }
        e => ApiError::unprocessable("invalid_manifest", e.to_string()),
    })?;
    let now = state.clock.now();
    let skew = chrono::Duration::seconds(protocol::content::MAX_VERSION_SKEW_S as i64);
    if manifest.created_at > now + skew {
        return Err(ApiError::unprocessable(
            "invalid_manifest",
            format!(
                "created_at {} is more than a day ahead of the upstream's clock ({now})",
                manifest.created_at
            ),
        ));
    }
    let version = manifest.version;
    state
        .write(move |conn| {
            let tx = conn.transaction()?;
            let latest: Option<u64> =
                tx.query_row("SELECT max(version) FROM content_releases", [], |r| {
                    r.get(0)
                })?;
            if latest.is_some_and(|latest| manifest.version <= latest) {
                return Ok(Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "stale_version",
                    format!(
                        "version {} is not newer than the published {}",
                        manifest.version,
                        latest.unwrap_or_default()
                    ),
                )));
            }
            for entry in &manifest.entries {
                let size: Option<u64> = tx
                    .query_row(
                        "SELECT size FROM content_blobs WHERE sha256 = ?1",
                        [&entry.sha256],
                        |r| r.get(0),
                    )
                    .optional()?;
                if size != Some(entry.size) {
                    return Ok(Err(ApiError::unprocessable(
                        "missing_blob",
                        format!(
                            "entry {} refers to blob {} which was not uploaded",
                            entry.id, entry.sha256
                        ),
                    )));
                }
            }
            tx.execute(
                "INSERT INTO content_releases (version, manifest, signature, published_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    manifest.version,
                    publish.manifest,
                    publish.signature.trim(),
                    now.to_rfc3339()
                ],
            )?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await??;
    Ok((
        StatusCode::CREATED,
        AxumJson(serde_json::json!({ "version": version })),
    ))
}
