//! The HTTP face of the simulator: every route of the v1 contract.

mod auth;
mod cases;
mod content;
mod devices;
pub mod error;
mod extract;
mod faults;
mod idempotent;
mod layers;
mod plots;
mod ratings;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode};
use axum::routing::{MethodRouter, delete, get, post, put};
use protocol::{MAX_BLOB_BODY, MAX_JSON_BODY};

use crate::state::AppState;
use error::ApiError;

/// Every route: its method, its path (in OpenAPI's `{param}` form, which axum shares) and
/// its handler. `docs/api.yaml` must describe exactly these; a test holds the two together.
fn routes() -> Vec<(Method, &'static str, MethodRouter<AppState>)> {
    let json_limit = DefaultBodyLimit::max(MAX_JSON_BODY);
    let blob_limit = DefaultBodyLimit::max(MAX_BLOB_BODY);
    vec![
        (Method::GET, "/api/v1/halls", get(cases::halls)),
        (Method::GET, "/api/v1/cases/changes", get(cases::changes)),
        (
            Method::GET,
            "/api/v1/layers/{layer}/changes",
            get(layers::changes),
        ),
        (
            Method::POST,
            "/api/v1/plots",
            post(plots::post).layer(json_limit),
        ),
        (
            Method::POST,
            "/api/v1/ratings",
            post(ratings::post).layer(json_limit),
        ),
        (
            Method::POST,
            "/api/v1/devices/{device_id}/heartbeat",
            post(devices::heartbeat).layer(json_limit),
        ),
        (
            Method::PUT,
            "/api/v1/devices/{device_id}/screenshots/{command_id}",
            put(devices::upload_screenshot).layer(blob_limit),
        ),
        (
            Method::GET,
            "/content/manifest.json",
            get(content::manifest),
        ),
        (
            Method::GET,
            "/content/manifest.json.sig",
            get(content::signature),
        ),
        (Method::GET, "/content/blobs/{sha256}", get(content::blob)),
        (
            Method::PUT,
            "/api/v1/admin/content/blobs/{sha256}",
            put(content::upload_blob).layer(blob_limit),
        ),
        (
            Method::PUT,
            "/api/v1/admin/content/manifest",
            put(content::publish).layer(json_limit),
        ),
        (Method::GET, "/api/v1/admin/devices", get(devices::fleet)),
        (
            Method::POST,
            "/api/v1/admin/devices/{device_id}/commands",
            post(devices::queue_command).layer(json_limit),
        ),
        (
            Method::GET,
            "/api/v1/admin/devices/{device_id}/screenshots/{command_id}",
            get(devices::screenshot),
        ),
        (
            Method::POST,
            "/api/v1/admin/devices/{device_id}/token",
            post(devices::issue_token).layer(json_limit),
        ),
        (
            Method::DELETE,
            "/api/v1/admin/devices/{device_id}/token",
            delete(devices::revoke_token),
        ),
    ]
}

/// `(METHOD, path)` of every route served, for the contract test.
pub fn route_table() -> Vec<(String, String)> {
    routes()
        .into_iter()
        .map(|(method, path, _)| (method.to_string(), path.to_owned()))
        .collect()
}

pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (_, path, handler) in routes() {
        router = router.route(path, handler);
    }
    router
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .with_state(state)
}
