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

/// Serves the socket at `path`, passing requests to the bridge, until the bridge goes away.
pub async fn serve(listener: UnixListener, requests: mpsc::Sender<(Request, Responder)>) {
    loop {
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
        });
    }
}

async fn answer(
    stream: UnixStream,
    requests: mpsc::Sender<(Request, Responder)>,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read.take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(request) => {
            let (tx, rx) = oneshot::channel();
            requests
                .send((request, tx))
                .await
                .context("bridge stopped")?;
            rx.await.context("bridge dropped the request")?
        }
        Err(e) => serde_json::json!({"ok": false, "error": format!("bad request: {e}")}),
    };
    write.write_all(format!("{reply}\n").as_bytes()).await?;
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
    UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))
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
