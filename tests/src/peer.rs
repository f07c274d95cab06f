//! A bad peer: raw HTTP/1.1 over TCP, byte by byte as the test decides (no client library
//! that would correct it), and the memory a process holds.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// `(VmRSS, VmHWM)` of a process in KiB: its memory now, and the most it ever held.
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("the process is alive and ours to read");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Open file descriptors of a process.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the process is alive and ours to read")
        .count()
}

/// Open sockets of a process: its listener and the connections it holds.
pub fn open_sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the process is alive and ours to read")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// An answer as read off the wire.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// The contract's error code, if the body is an error body.
    pub fn error_code(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        Some(value["error"]["code"].as_str()?.to_owned())
    }

    pub fn error_message(&self) -> String {
        let value: serde_json::Value = serde_json::from_slice(&self.body).unwrap_or_default();
        value["error"]["message"].as_str().unwrap_or("").to_owned()
    }
}

/// One raw connection.
pub struct Raw {
    stream: TcpStream,
    read: Vec<u8>,
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .expect("the server accepts a connection");
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            read: Vec::new(),
        }
    }

    /// Sends bytes; `false` once the server has closed or reset the connection.
    pub fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        self.stream.write_all(bytes).is_ok()
    }

    /// Reads until `done(bytes so far)` or the connection ends or `timeout` passes;
    /// whether the connection ended (EOF or reset).
    fn read_until(&mut self, timeout: Duration, done: impl Fn(&[u8]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 16 * 1024];
        while !done(&self.read) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => self.read.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return false;
                }
                Err(_) => return true,
            }
        }
        false
    }

    /// The next answer (head and a `Content-Length` body), if one arrives within `timeout`.
    pub fn answer(&mut self, timeout: Duration) -> Option<Answer> {
        self.read_until(timeout, |b| {
            head_end(b).is_some_and(|end| b.len() >= end + body_len(&b[..end]))
        });
        let end = head_end(&self.read)?;
        let len = body_len(&self.read[..end]);
        if self.read.len() < end + len {
            return None;
        }
        let head = String::from_utf8_lossy(&self.read[..end]).into_owned();
        let body = self.read[end..end + len].to_vec();
        self.read.drain(..end + len);
        let status = head.split(' ').nth(1)?.parse().ok()?;
        Some(Answer { status, head, body })
    }

    /// Whether the server closes the connection within `timeout` (anything it sends first
    /// is kept for [`Raw::answer`]).
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        self.read_until(timeout, |_| false)
    }
}

fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
}

fn body_len(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0)
}

/// A request head with `headers` (`Name: value` lines) and `Content-Length`.
pub fn head(method: &str, path: &str, headers: &[&str], content_length: usize) -> Vec<u8> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for header in headers {
        text.push_str(header);
        text.push_str("\r\n");
    }
    text.push_str(&format!("Content-Length: {content_length}\r\n\r\n"));
    text.into_bytes()
}

/// A whole request with a body.
pub fn request(method: &str, path: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut bytes = head(method, path, headers, body.len());
    bytes.extend_from_slice(body);
    bytes
}

/// What a [`HostileServer`] answers to one request.
pub enum Reply {
    /// A whole answer: status, content type, body.
    Whole(u16, &'static str, Vec<u8>),
    /// A chunked body of garbage that never ends (until the client hangs up, or 4 GiB).
    Endless,
    /// `Content-Length: declared`, then only `sent` bytes, then silence until the client
    /// hangs up (at most a minute).
    Stalled { declared: u64, sent: usize },
}

/// A bad upstream or content host on 127.0.0.1: every request gets what `reply(path)`
/// says, on a connection of its own (`Connection: close`).
pub struct HostileServer {
    pub url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    addr: SocketAddr,
}

impl HostileServer {
    pub fn start(reply: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let addr = listener.local_addr().unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let reply = std::sync::Arc::new(reply);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let reply = reply.clone();
                std::thread::spawn(move || {
                    // A client that hangs up is the point of most of these.
                    let _ = serve_one(stream, &*reply);
                });
            }
        });
        Self {
            url: format!("http://{addr}/"),
            stop,
            addr,
        }
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn serve_one(mut stream: TcpStream, reply: &dyn Fn(&str) -> Reply) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        if stream.read(&mut byte)? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
    match reply(&path) {
        Reply::Whole(status, content_type, body) => {
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        Reply::Endless => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )?;
            let chunk = vec![b'['; 1 << 20];
            for _ in 0..4096 {
                write!(stream, "{:x}\r\n", chunk.len())?;
                stream.write_all(&chunk)?;
                stream.write_all(b"\r\n")?;
            }
        }
        Reply::Stalled { declared, sent } => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
            )?;
            stream.write_all(&vec![b'{'; sent])?;
            // Hold the connection until the client gives up.
            let deadline = Instant::now() + Duration::from_secs(60);
            stream.set_read_timeout(Some(Duration::from_millis(100)))?;
            while Instant::now() < deadline {
                match stream.read(&mut byte) {
                    Ok(0) => break,
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    _ => break,
                }
            }
        }
    }
    Ok(())
}

/// Runs `command` to its end while sampling its peak RSS (KiB) from /proc.
pub fn run_measured(command: &mut std::process::Command) -> (std::process::Output, u64) {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the program starts");
    let pid = child.id();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let status = std::fs::read_to_string(format!("/proc/{pid}/status"));
                if let Some(hwm) = status.ok().and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                }) {
                    peak = hwm;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        });
        let output = child.wait_with_output().expect("the program ends");
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        (output, sampler.join().unwrap())
    })
}
