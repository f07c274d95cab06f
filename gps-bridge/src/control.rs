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

/// Longest corner and plot name, in bytes: the contract's.
pub const MAX_CORNER_NAME: usize = protocol::plots::MAX_CORNER_NAME;
pub const MAX_PLOT_NAME: usize = protocol::plots::MAX_PLOT_TEXT;

impl Request {
    /// Checks what a request says of itself; each refusal names its field. The daemon checks
    /// what needs its state (a name marked already, a unit docked).
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::Mark { name, secs, .. } => {
                label("name", "corner", name, MAX_CORNER_NAME)?;
                match secs {
                    Some(s) if !(s.is_finite() && *s > 0.0 && *s <= 3600.0) => {
                        Err(format!("--secs: {s} is not between 0 and 3600"))
                    }
                    _ => Ok(()),
                }
            }
            Self::ClosePlot {
                name: Some(name), ..
            } => label("name", "plot", name, MAX_PLOT_NAME),
            Self::ClosePlot { name: None, .. } | Self::Status => Ok(()),
        }
    }
}

/// A name an officer types: not blank, at most `max` bytes (the contract's), no control
/// characters (they would reach the upstream and every listing).
fn label(field: &str, what: &str, name: &str, max: usize) -> Result<(), String> {
    if name.trim().is_empty() || name.len() > max {
        return Err(format!(
            "{field}: a {what} name is 1 to {max} bytes, not blank"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("{field}: no control characters"));
    }
    Ok(())
}

/// Serves the socket, passing requests to the daemon, until `shutdown` resolves; then stops
/// accepting and waits for the connections in progress, which end once the daemon answers
/// (or drops) their requests. Each connection is answered on a task of its own, at most
/// [`MAX_CONNECTIONS`] at once: while that many are open, the loop accepts no more (they
/// wait in the backlog), so a flood of idle connections holds at most that many descriptors
/// for at most [`REQUEST_TIMEOUT`] each.
pub async fn serve<R: Serialize + Send + 'static>(
    listener: UnixListener,
    requests: mpsc::Sender<Call<R>>,
    shutdown: impl Future<Output = ()>,
) {
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept(), if connections.len() < MAX_CONNECTIONS => match accepted {
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
            if requests.send((request, tx)).await.is_err() {
                anyhow::bail!("bridge stopped");
            }
            serde_json::to_value(rx.await.context("bridge dropped the request")?)?
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
            "连接不上 gps-bridge（{0}），它在运行吗？ (connecting to gps-bridge at {0}: is it running?)",
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
    fn plot_names_are_refused_by_field() {
        let close = |name: Option<&str>| Request::ClosePlot {
            name: name.map(str::to_owned),
            port: None,
            land: None,
        };
        assert_eq!(close(None).validate(), Ok(()));
        assert_eq!(close(Some("王家宅基地")).validate(), Ok(()));
        for name in ["", " ", "a\tb", &"宅".repeat(100)] {
            let err = close(Some(name)).validate().unwrap_err();
            assert!(err.starts_with("name: "), "{name:?}: {err}");
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
