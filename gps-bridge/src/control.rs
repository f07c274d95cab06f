//! The local control socket: a Unix socket under the runtime directory, one JSON request line
//! and one JSON reply line per connection. `mark`, `close-plot` and `status` are its clients.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use crate::bridge::Responder;
use crate::plot::LandKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status,
    Mark {
        name: String,
        secs: Option<f64>,
        port: Option<String>,
    },
    ClosePlot {
        name: Option<String>,
        /// The land the plot is on; `None`: `checks.default_land`.
        #[serde(default)]
        land: Option<LandKind>,
    },
}

/// Longest request line accepted.
const MAX_REQUEST: u64 = 4096;

/// Connections served at once; more wait in the socket's backlog (holding no descriptor of
/// ours) until one ends. A mark holds its connection while it averages; the others are
/// answered at once, so this is far more than any office needs, and far below the unit's
/// `LimitNOFILE`.
pub const MAX_CONNECTIONS: usize = 128;

/// How long a connection may take to send its request line: the clients are local programs
/// that send it at once, so an idle or trickling connection is dropped after this and its
/// slot freed (500 idle connections then delay a real request by a few seconds at most).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// How long the reply may wait to be taken.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest corner name, in bytes: the contract's.
pub const MAX_CORNER_NAME: usize = protocol::plots::MAX_CORNER_NAME;

impl Request {
    /// Checks what a request says of itself; each refusal names its field. The daemon checks
    /// what needs its state (a name marked already, a unit docked).
    pub fn validate(&self) -> Result<(), String> {
        if let Self::Mark { name, secs, .. } = self {
            if name.trim().is_empty() || name.len() > MAX_CORNER_NAME {
                return Err(format!(
                    "name: a corner name is 1 to {MAX_CORNER_NAME} bytes, not blank"
                ));
            }
            if name.chars().any(char::is_control) {
                return Err("name: no control characters".into());
            }
            if let Some(s) = secs
                && !(s.is_finite() && *s > 0.0 && *s <= 3600.0)
            {
                return Err(format!("--secs: {s} is not between 0 and 3600"));
            }
        }
        Ok(())
    }
}

/// Serves the socket at `path`, passing requests to the bridge, until the bridge goes away.
pub async fn serve(listener: UnixListener, requests: mpsc::Sender<(Request, Responder)>) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let requests = requests.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(stream, requests).await {
                tracing::debug!(error = %e, "control connection ended");
            }
            drop(slot);
        });
    }
}

async fn answer(
    stream: UnixStream,
    requests: mpsc::Sender<(Request, Responder)>,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    tokio::time::timeout(
        REQUEST_TIMEOUT,
        BufReader::new(read.take(MAX_REQUEST)).read_line(&mut line),
    )
    .await
    .context("no request line in time")??;
    let parsed = if line.len() as u64 >= MAX_REQUEST && !line.ends_with('\n') {
        Err(format!(
            "the request line is longer than {MAX_REQUEST} bytes"
        ))
    } else {
        serde_json::from_str::<Request>(&line)
            .map_err(|e| format!("bad request: {e}"))
            .and_then(|r| r.validate().map(|()| r))
    };
    let reply = match parsed {
        Ok(request) => {
            let (tx, rx) = oneshot::channel();
            requests
                .send((request, tx))
                .await
                .context("bridge stopped")?;
            rx.await.context("bridge dropped the request")?
        }
        Err(e) => serde_json::json!({"ok": false, "error": e}),
    };
    tokio::time::timeout(
        REPLY_TIMEOUT,
        write.write_all(format!("{reply}\n").as_bytes()),
    )
    .await
    .context("the reply was not taken in time")??;
    Ok(())
}

/// Binds the socket, replacing a stale one left by a previous run.
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        bail!("another gps-bridge is running on {}", path.display());
    }
    let _ = std::fs::remove_file(path);
    let listener =
        UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    // Owner and group (the service's, `Group=` of the unit) may connect, nobody else,
    // whatever umask the bridge was started with. Until this runs the socket is only as open
    // as the umask made it, inside a runtime folder that is the group's alone (0750).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("setting the mode of {}", path.display()))?;
    Ok(listener)
}

/// Sends one request and waits for the reply (a mark takes as long as it averages).
pub fn call(path: &Path, request: &Request) -> anyhow::Result<Value> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(path).with_context(|| {
        format!(
            "connecting to gps-bridge at {} (is it running?)",
            path.display()
        )
    })?;
    stream.write_all(format!("{}\n", serde_json::to_string(request)?).as_bytes())?;
    let mut line = String::new();
    std::io::BufReader::new(stream).read_line(&mut line)?;
    serde_json::from_str(&line).context("reading the reply")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(name: &str, secs: Option<f64>) -> Request {
        Request::Mark {
            name: name.into(),
            secs,
            port: None,
        }
    }

    #[test]
    fn mark_requests_are_refused_by_field() {
        assert_eq!(mark("J1", Some(10.0)).validate(), Ok(()));
        for (request, field) in [
            (mark("", None), "name:"),
            (mark("   ", None), "name:"),
            (mark(&"J".repeat(5_000), None), "name:"),
            (mark("J\n1", None), "name:"),
            (mark("J1", Some(f64::NAN)), "--secs:"),
            (mark("J1", Some(0.0)), "--secs:"),
            (mark("J1", Some(1e9)), "--secs:"),
        ] {
            let err = request.validate().unwrap_err();
            assert!(err.starts_with(field), "{request:?}: {err}");
        }
    }
}
