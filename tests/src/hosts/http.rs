//! A small HTTP/1.1 client for the agents' API (addresses on the test
//! bridge only): requests with a timeout, and a Server-Sent Events reader
//! that counts deliveries per message id in a background thread.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(5);

fn open(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> std::io::Result<BufReader<TcpStream>> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    Ok(BufReader::new(stream))
}

/// Reads the status line and headers: the status and whether the body is chunked.
fn head(reader: &mut BufReader<TcpStream>) -> std::io::Result<(u16, Option<usize>, bool)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok();
        } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    Ok((status, length, chunked))
}

/// Feeds the decoded body of a chunked response to `on_bytes` chunk by
/// chunk, until the last chunk or an error.
fn chunks(reader: &mut BufReader<TcpStream>, mut on_bytes: impl FnMut(&[u8]) -> bool) -> std::io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
            .map_err(|_| std::io::Error::other(format!("bad chunk size {line:?}")))?;
        if size == 0 {
            return Ok(());
        }
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk)?;
        if !on_bytes(&chunk[..size]) {
            return Ok(());
        }
    }
}

/// One request: the status and the body as text.
pub fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut reader = open(addr, method, path, body)?;
    let (status, length, chunked) = head(&mut reader)?;
    let mut out = Vec::new();
    if chunked {
        chunks(&mut reader, |b| {
            out.extend_from_slice(b);
            true
        })?;
    } else if let Some(n) = length {
        out.resize(n, 0);
        reader.read_exact(&mut out)?;
    } else {
        reader.read_to_end(&mut out)?;
    }
    Ok((status, String::from_utf8_lossy(&out).into_owned()))
}

/// `GET path` parsed as JSON; `None` if unreachable or not 2xx.
pub fn get_json(addr: SocketAddr, path: &str) -> Option<serde_json::Value> {
    match request(addr, "GET", path, b"") {
        Ok((200..=299, body)) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

/// Microseconds since the Unix epoch (the agents run on this machine, so
/// send and receive times share one clock).
pub fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Publishes `text` to `group` through the agent at `addr`, prefixed with
/// the send time; returns the message id.
pub fn publish(addr: SocketAddr, group: &str, text: &str) -> Option<String> {
    let body = format!("{}|{text}", now_micros());
    match request(addr, "POST", &format!("/groups/{group}/messages"), body.as_bytes()) {
        Ok((202, reply)) => serde_json::from_str::<serde_json::Value>(&reply).ok()?["id"].as_str().map(str::to_owned),
        _ => None,
    }
}

/// What one agent's delivery stream showed.
#[derive(Debug, Default)]
pub struct Seen {
    /// Deliveries per message id.
    pub counts: HashMap<String, u32>,
    /// Publish-to-delivery time of each first delivery, in microseconds.
    pub latency_us: HashMap<String, u64>,
    /// Lag events (the stream fell behind).
    pub lagged: u64,
    /// Whether the stream is connected (the first byte arrived).
    pub connected: bool,
}

/// A background reader of one agent's deliveries of one group.
pub struct Deliveries {
    /// What it saw so far.
    pub seen: Arc<Mutex<Seen>>,
}

impl Deliveries {
    /// Opens `GET /groups/{group}/messages` on `addr` and counts what
    /// arrives until the agent stops.
    pub fn open(addr: SocketAddr, group: &str) -> std::io::Result<Self> {
        let mut reader = open(addr, "GET", &format!("/groups/{group}/messages"), b"")?;
        let (status, _, chunked) = head(&mut reader)?;
        if status != 200 || !chunked {
            return Err(std::io::Error::other(format!("deliveries: status {status}")));
        }
        reader.get_ref().set_read_timeout(None)?;
        let seen = Arc::new(Mutex::new(Seen { connected: true, ..Seen::default() }));
        let shared = seen.clone();
        std::thread::spawn(move || {
            let mut pending = String::new();
            let _ = chunks(&mut reader, |bytes| {
                pending.push_str(&String::from_utf8_lossy(bytes));
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    record(&shared, line.trim_end());
                }
                true
            });
        });
        Ok(Deliveries { seen })
    }
}

fn record(seen: &Mutex<Seen>, line: &str) {
    let Some(data) = line.strip_prefix("data: ") else { return };
    let Ok(event) = serde_json::from_str::<serde_json::Value>(data) else { return };
    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    if event.get("missed").is_some() {
        seen.lagged += 1;
        return;
    }
    let (Some(id), Some(payload)) = (event["id"].as_str(), event["payload"].as_str()) else { return };
    let count = seen.counts.entry(id.to_owned()).or_default();
    *count += 1;
    if *count == 1 {
        let sent: u64 = payload.split('|').next().and_then(|t| t.parse().ok()).unwrap_or(0);
        seen.latency_us.insert(id.to_owned(), now_micros().saturating_sub(sent));
    }
}
