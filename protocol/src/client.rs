//! The HTTP client for the upstream contract: reqwest over rustls (ring), bearer token,
//! timeouts, bounded response bodies, and errors that say whether a retry can help.

use std::sync::Once;
use std::time::Duration;

pub use reqwest::Method;
use reqwest::{RequestBuilder, Response, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::cases::ChangesPage;
use crate::content::PublishManifest;
use crate::devices::{
    Command, CommandAction, DeviceToken, Fleet, Heartbeat, HeartbeatReply, IssueDeviceToken,
};
use crate::error::ErrorBody;
use crate::halls::HallList;
use crate::layers::{Layer, LayerChangesPage};
use crate::plots::{PlotReceipt, PlotSubmission};
use crate::ratings::{Rating, RatingReceipt};
use crate::{IDEMPOTENCY_KEY, MAX_BLOB_BODY, MAX_JSON_BODY};

/// Largest JSON answer read from the upstream (a feed page of 5,000 cases fits easily).
const MAX_RESPONSE_JSON: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A 4xx: the request itself is wrong; sending it again gives the same answer.
    #[error("upstream refused the request ({status}): {code}: {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// A 5xx, 408 or 429: the upstream could not serve now.
    #[error("upstream failed ({status}): {message}")]
    Unavailable { status: u16, message: String },
    #[error("request timed out")]
    Timeout,
    /// Refused, reset or dropped connection, or a body cut short.
    #[error("connection failed: {0}")]
    Connection(String),
    /// A complete answer that does not follow the contract.
    #[error("answer does not follow the contract: {0}")]
    Contract(String),
    /// (The cause is in the message, so it is not a `source` too: `{:#}` would say it twice.)
    #[error("invalid URL: {0}")]
    Url(url::ParseError),
}

impl From<url::ParseError> for ClientError {
    fn from(e: url::ParseError) -> Self {
        Self::Url(e)
    }
}

impl ClientError {
    /// Whether sending the same request later may succeed. Final errors (4xx, contract
    /// violations) are kept with their reason instead of being retried forever.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable { .. } | Self::Timeout | Self::Connection(_)
        )
    }

    fn from_transport(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            Self::Timeout
        } else if err.is_builder() {
            Self::Contract(err.to_string())
        } else {
            // Connect, request and body errors: the connection failed somewhere.
            Self::Connection(error_chain(&err))
        }
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether the upstream made something new or recognised a repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Created,
    Replayed,
}

/// The outcome of a conditional manifest fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestFetch {
    NotModified,
    /// No release has been published yet (a 404 for the manifest): a state, not a failure.
    NotPublished,
    Fetched {
        manifest: Vec<u8>,
        signature: String,
        etag: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The upstream's base URL, e.g. `http://127.0.0.1:8080/`.
    pub base_url: Url,
    /// Where content releases are served; defaults to `{base_url}content/`.
    pub content_url: Option<Url>,
    pub token: Option<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Sent as `User-Agent`, e.g. `land-hall-kiosk/0.1.0`.
    pub user_agent: String,
}

impl ClientConfig {
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            content_url: None,
            token: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            user_agent: concat!("land-hall/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    content: Url,
    token: Option<String>,
}

/// Ensures a trailing slash so that `join` appends instead of replacing the last segment.
fn as_directory(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent)
            .build()
            .map_err(|e| ClientError::Contract(e.to_string()))?;
        let base = as_directory(config.base_url);
        let content = match config.content_url {
            Some(url) => as_directory(url),
            None => base.join("content/")?,
        };
        Ok(Self {
            http,
            base,
            content,
            token: config.token,
        })
    }

    /// A client for `base_url` with a token and default timeouts.
    pub fn with_token(base_url: &str, token: Option<&str>) -> Result<Self, ClientError> {
        let mut config = ClientConfig::new(Url::parse(base_url)?);
        config.token = token.map(str::to_owned);
        Self::new(config)
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn request(&self, method: Method, url: Url) -> RequestBuilder {
        let builder = self.http.request(method, url);
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    fn api(&self, path: &str) -> Result<Url, ClientError> {
        Ok(self.base.join(&format!("api/v1/{path}"))?)
    }

    async fn send(&self, builder: RequestBuilder) -> Result<Response, ClientError> {
        let response = builder.send().await.map_err(ClientError::from_transport)?;
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let body = read_limited(response, MAX_JSON_BODY)
            .await
            .unwrap_or_default();
        let (code, message) = match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(parsed) => (parsed.error.code, parsed.error.message),
            Err(_) => (
                "unknown".to_owned(),
                String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned(),
            ),
        };
        if status.is_server_error()
            || status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
        {
            Err(ClientError::Unavailable {
                status: status.as_u16(),
                message: format!("{code}: {message}"),
            })
        } else {
            Err(ClientError::Rejected {
                status: status.as_u16(),
                code,
                message,
            })
        }
    }

    async fn json<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, ClientError> {
        let response = self.send(builder).await?;
        decode(&read_limited(response, MAX_RESPONSE_JSON).await?)
    }

    async fn json_delivery<T: DeserializeOwned>(
        &self,
        builder: RequestBuilder,
    ) -> Result<(Delivery, T), ClientError> {
        let response = self.send(builder).await?;
        let delivery = if response.status() == StatusCode::CREATED {
            Delivery::Created
        } else {
            Delivery::Replayed
        };
        Ok((
            delivery,
            decode(&read_limited(response, MAX_RESPONSE_JSON).await?)?,
        ))
    }

    /// `GET /api/v1/halls`.
    pub async fn halls(&self) -> Result<HallList, ClientError> {
        self.json(self.request(Method::GET, self.api("halls")?))
            .await
    }

    /// `GET /api/v1/cases/changes`: one page of the compacted case feed.
    pub async fn case_changes(
        &self,
        hall: Option<&str>,
        after: u64,
        limit: u32,
    ) -> Result<ChangesPage, ClientError> {
        decode(&self.case_changes_bytes(hall, after, limit).await?)
    }

    /// The same page as the raw JSON body, for readers that decode it their own way (the
    /// kiosk stores parts of it verbatim); errors are classified as for every route.
    pub async fn case_changes_bytes(
        &self,
        hall: Option<&str>,
        after: u64,
        limit: u32,
    ) -> Result<Vec<u8>, ClientError> {
        let mut url = self.api("cases/changes")?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(hall) = hall {
                query.append_pair("hall", hall);
            }
            query.append_pair("after", &after.to_string());
            query.append_pair("limit", &limit.to_string());
        }
        let response = self.send(self.request(Method::GET, url)).await?;
        read_limited(response, MAX_RESPONSE_JSON).await
    }

    /// `GET /api/v1/layers/{layer}/changes`.
    pub async fn layer_changes(
        &self,
        layer: Layer,
        after: u64,
        limit: u32,
    ) -> Result<LayerChangesPage, ClientError> {
        let mut url = self.api(&format!("layers/{}/changes", layer.as_str()))?;
        url.query_pairs_mut()
            .append_pair("after", &after.to_string())
            .append_pair("limit", &limit.to_string());
        self.json(self.request(Method::GET, url)).await
    }

    /// Fetches `manifest.json` unless it still has the ETag `etag`, then its detached
    /// signature. The caller verifies both (see [`crate::content::verify`]).
    pub async fn manifest(&self, etag: Option<&str>) -> Result<ManifestFetch, ClientError> {
        let mut builder = self.request(Method::GET, self.content.join("manifest.json")?);
        if let Some(etag) = etag {
            builder = builder.header(header::IF_NONE_MATCH, etag);
        }
        let response = match self.send(builder).await {
            Err(ClientError::Rejected { status: 404, .. }) => {
                return Ok(ManifestFetch::NotPublished);
            }
            sent => sent?,
        };
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(ManifestFetch::NotModified);
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let manifest = read_limited(response, MAX_JSON_BODY).await?;
        let signature = self
            .send(self.request(Method::GET, self.content.join("manifest.json.sig")?))
            .await?;
        let signature = read_limited(signature, 1024).await?;
        let signature = String::from_utf8(signature)
            .map_err(|_| ClientError::Contract("signature is not text".into()))?;
        Ok(ManifestFetch::Fetched {
            manifest,
            signature,
            etag,
        })
    }

    /// `GET {content}/blobs/{sha256}`, at most `max_size` bytes.
    pub async fn blob(&self, sha256: &str, max_size: u64) -> Result<Vec<u8>, ClientError> {
        let url = self.content.join(&format!("blobs/{sha256}"))?;
        let limit = usize::try_from(max_size).unwrap_or(usize::MAX);
        read_limited(self.send(self.request(Method::GET, url)).await?, limit).await
    }

    /// `POST /api/v1/devices/{id}/heartbeat`.
    pub async fn heartbeat(
        &self,
        device_id: &str,
        heartbeat: &Heartbeat,
    ) -> Result<HeartbeatReply, ClientError> {
        let url = self.api(&format!("devices/{device_id}/heartbeat"))?;
        self.json(self.request(Method::POST, url).json(heartbeat))
            .await
    }

    /// `PUT /api/v1/devices/{id}/screenshots/{command_id}` with a PNG.
    pub async fn put_screenshot(
        &self,
        device_id: &str,
        command_id: u64,
        png: Vec<u8>,
    ) -> Result<(), ClientError> {
        let url = self.api(&format!("devices/{device_id}/screenshots/{command_id}"))?;
        self.send(
            self.request(Method::PUT, url)
                .header(header::CONTENT_TYPE, "image/png")
                .body(png),
        )
        .await?;
        Ok(())
    }

    /// `POST /api/v1/ratings`.
    pub async fn post_rating(
        &self,
        rating: &Rating,
    ) -> Result<(Delivery, RatingReceipt), ClientError> {
        let url = self.api("ratings")?;
        self.json_delivery(self.request(Method::POST, url).json(rating))
            .await
    }

    /// `POST /api/v1/plots` with an idempotency key.
    pub async fn post_plot(
        &self,
        idempotency_key: &str,
        plot: &PlotSubmission,
    ) -> Result<(Delivery, PlotReceipt), ClientError> {
        let url = self.api("plots")?;
        self.json_delivery(
            self.request(Method::POST, url)
                .header(IDEMPOTENCY_KEY, idempotency_key)
                .json(plot),
        )
        .await
    }

    /// `PUT /api/v1/admin/content/blobs/{sha256}` (admin token).
    pub async fn upload_blob(&self, sha256: &str, bytes: Vec<u8>) -> Result<(), ClientError> {
        if bytes.len() > MAX_BLOB_BODY {
            return Err(ClientError::Contract(format!(
                "blob {sha256} is larger than {MAX_BLOB_BODY} bytes"
            )));
        }
        let url = self.api(&format!("admin/content/blobs/{sha256}"))?;
        self.send(
            self.request(Method::PUT, url)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(bytes),
        )
        .await?;
        Ok(())
    }

    /// `PUT /api/v1/admin/content/manifest` (admin token): makes a release current.
    pub async fn publish_manifest(&self, publish: &PublishManifest) -> Result<(), ClientError> {
        let url = self.api("admin/content/manifest")?;
        self.send(self.request(Method::PUT, url).json(publish))
            .await?;
        Ok(())
    }

    /// `GET /api/v1/admin/devices` (admin token).
    pub async fn fleet(&self) -> Result<Fleet, ClientError> {
        self.json(self.request(Method::GET, self.api("admin/devices")?))
            .await
    }

    /// `POST /api/v1/admin/devices/{id}/commands` (admin token).
    pub async fn queue_command(
        &self,
        device_id: &str,
        action: &CommandAction,
    ) -> Result<Command, ClientError> {
        let url = self.api(&format!("admin/devices/{device_id}/commands"))?;
        self.json(self.request(Method::POST, url).json(action))
            .await
    }

    /// `POST /api/v1/admin/devices/{id}/token` (admin token): a new token for the device,
    /// replacing any it had.
    pub async fn issue_device_token(
        &self,
        device_id: &str,
        hall_id: &str,
    ) -> Result<DeviceToken, ClientError> {
        let url = self.api(&format!("admin/devices/{device_id}/token"))?;
        let body = IssueDeviceToken {
            hall_id: hall_id.to_owned(),
        };
        self.json(self.request(Method::POST, url).json(&body)).await
    }

    /// `DELETE /api/v1/admin/devices/{id}/token` (admin token): the device's token stops
    /// working at once.
    pub async fn revoke_device_token(&self, device_id: &str) -> Result<(), ClientError> {
        let url = self.api(&format!("admin/devices/{device_id}/token"))?;
        self.send(self.request(Method::DELETE, url)).await?;
        Ok(())
    }

    /// `GET /api/v1/admin/devices/{id}/screenshots/{command_id}` (admin token): the PNG.
    pub async fn screenshot(
        &self,
        device_id: &str,
        command_id: u64,
    ) -> Result<Vec<u8>, ClientError> {
        let url = self.api(&format!(
            "admin/devices/{device_id}/screenshots/{command_id}"
        ))?;
        read_limited(
            self.send(self.request(Method::GET, url)).await?,
            MAX_BLOB_BODY,
        )
        .await
    }

    /// Sends any JSON request and returns the status and raw body, for tools and tests that
    /// need to see the answer as it came (e.g. the error body of a refused request).
    pub async fn raw<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let mut builder = self.request(method, self.base.join(path)?);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(ClientError::from_transport)?;
        let status = response.status().as_u16();
        Ok((status, read_limited(response, MAX_RESPONSE_JSON).await?))
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(bytes).map_err(|e| ClientError::Contract(e.to_string()))
}

/// Reads a body, refusing more than `limit` bytes so that a broken or hostile upstream cannot
/// exhaust the device's memory.
async fn read_limited(mut response: Response, limit: usize) -> Result<Vec<u8>, ClientError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(ClientError::Contract(format!(
            "answer is larger than {limit} bytes"
        )));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(ClientError::from_transport)?
    {
        if body.len() + chunk.len() > limit {
            return Err(ClientError::Contract(format!(
                "answer is larger than {limit} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_keep_their_prefix() {
        let client = Client::with_token("http://127.0.0.1:9/upstream", None).unwrap();
        assert_eq!(
            client.api("halls").unwrap().as_str(),
            "http://127.0.0.1:9/upstream/api/v1/halls"
        );
        assert_eq!(
            client.content.as_str(),
            "http://127.0.0.1:9/upstream/content/"
        );
    }

    #[tokio::test]
    async fn refused_connection_is_retryable() {
        // Port 9 (discard) is closed on loopback; the connect fails at once.
        let client = Client::with_token("http://127.0.0.1:9/", None).unwrap();
        let err = client.halls().await.unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
    }
}
