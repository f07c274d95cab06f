//! A tiny HTTP/1.1 server on 127.0.0.1 whose answers the test decides, for what egov-sim
//! does not do: cut a body short mid-transfer, or switch releases between two requests.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use kiosk::content::release::Release;

/// One answer: `body` is announced whole in `Content-Length`, but only `sent` bytes of it
/// go out before the connection is closed.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub sent: usize,
}

impl Answer {
    pub fn ok(body: Vec<u8>) -> Self {
        let sent = body.len();
        Self {
            status: 200,
            body,
            sent,
        }
    }

    pub fn not_found() -> Self {
        Self {
            status: 404,
            body: Vec::new(),
            sent: 0,
        }
    }

    /// Announces the whole body, sends half, and hangs up.
    pub fn cut_in_half(body: Vec<u8>) -> Self {
        let sent = body.len() / 2;
        Self {
            status: 200,
            body,
            sent,
        }
    }
}

/// The file of `release` at `path`, as a static host serves a built release folder under
/// `/content/`.
pub fn release_file(release: &Release, path: &str) -> Option<Vec<u8>> {
    match path.strip_prefix("/content/")? {
        "manifest.json" => Some(release.manifest_bytes.clone()),
        "manifest.json.sig" => Some(release.signature.clone().into_bytes()),
        other => release.blobs.get(other.strip_prefix("blobs/")?).cloned(),
    }
}

pub struct ScriptedHost {
    pub url: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScriptedHost {
    /// Serves `answer(path)` for every GET, one connection at a time.
    pub fn start(answer: impl Fn(&str) -> Answer + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    // A client that hangs up early is its own business.
                    let _ = serve(stream, &answer);
                }
            }
        });
        Self {
            url,
            stop,
            thread: Some(thread),
        }
    }
}

fn serve(mut stream: TcpStream, answer: &impl Fn(&str) -> Answer) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    // The rest of the head; these requests have no body.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let answer = answer(&path);
    write!(
        stream,
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.status,
        answer.body.len()
    )?;
    stream.write_all(&answer.body[..answer.sent])?;
    stream.flush()
}

impl Drop for ScriptedHost {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://").trim_end_matches('/'));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
