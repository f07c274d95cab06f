//! The local control socket: a Unix socket under the runtime directory, one JSON request line
//! and one JSON reply line per connection. `mark`, `close-plot` and `status` are its clients.
//! It knows the requests, not what answers them: each request goes to the daemon with a
//! channel for its reply, of any type that serialises.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

use crate::plot::LandKind;

/// A request and where its answer goes.
pub type Call<R> = (Request, oneshot::Sender<R>);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status,
    Mark {
        name: String,
        secs: Option<f64>,
        port: Option<String>,
    },
    /// Closes the open marks of one unit (`port`: its serial port, or the path of a GPX
    /// import for the waypoints it recorded) into a plot candidate.
    ClosePlot {
        name: Option<String>,
        #[serde(default)]
        port: Option<String>,
        /// The land the plot is on; `None`: `checks.default_land`.
        #[serde(default)]
        land: Option<LandKind>,
    },
}

/// Longest request line accepted.
const MAX_REQUEST: u64 = 4096;

/// Serves the socket, passing requests to the daemon, until `shutdown` resolves; then stops
/// accepting and waits for the connections in progress, which end once the daemon answers
/// (or drops) their requests. Each connection is answered on a task of its own.
pub async fn serve<R: Serialize + Send + 'static>(
    listener: UnixListener,
    requests: mpsc::Sender<Call<R>>,
    shutdown: impl Future<Output = ()>,
) {
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let requests = requests.clone();
                    connections.spawn(async move {
                        if let Err(e) = answer(stream, requests).await {
                            tracing::debug!(error = %e, "control connection ended");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    drop(requests);
    while connections.join_next().await.is_some() {}
}

async fn answer<R: Serialize>(
    stream: UnixStream,
    requests: mpsc::Sender<Call<R>>,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    BufReader::new(read.take(MAX_REQUEST))
        .read_line(&mut line)
        .await?;
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(request) => {
            let (tx, rx) = oneshot::channel();
            if requests.send((request, tx)).await.is_err() {
                anyhow::bail!("bridge stopped");
            }
            serde_json::to_value(rx.await.context("bridge dropped the request")?)?
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
