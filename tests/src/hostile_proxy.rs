//! A proxy in front of the real grid server that plays a broken or malicious server for the
//! requests a rule picks: the rule sees each request's method and path and may answer it with
//! crafted bytes; everything else reaches the real server. It counts the requests of each
//! path, so a test can show that the client's loops stay bounded. Loopback only.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::fault_proxy::{exchange, read_request};

/// The request line of one request, as the rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `GET`, `PATCH`, ...
    pub method: String,
    /// Path and query.
    pub target: String,
}

impl Seen {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
}

/// What the proxy does with a request: answer it with crafted bytes, or forward it and hand
/// the real server's whole answer (head and body) to a rewriter.
enum Rule {
    Answer(Box<Answerer>),
    Rewrite(Box<Rewriter>),
}

/// Crafts an answer for a request, or `None` to forward it.
type Answerer = dyn Fn(&Seen) -> Option<Vec<u8>> + Send + Sync;
/// Turns the real server's answer into another.
type Rewriter = dyn Fn(&Seen, Vec<u8>) -> Vec<u8> + Send + Sync;

/// A whole HTTP/1.1 response with `status`, extra `headers` and `body`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} Crafted\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    head.push_str("connection: close\r\n\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A JSON response.
pub fn json(status: u16, body: &serde_json::Value) -> Vec<u8> {
    response(
        status,
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
}

/// A running hostile proxy; stops when dropped.
pub struct HostileProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    counts: Arc<Mutex<HashMap<String, u64>>>,
    thread: Option<JoinHandle<()>>,
}

impl HostileProxy {
    /// Proxies to `upstream` (loopback), answering itself the requests for which `rule`
    /// returns a crafted response.
    pub fn start(
        upstream: SocketAddr,
        rule: impl Fn(&Seen) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> io::Result<HostileProxy> {
        Self::spawn(upstream, Rule::Answer(Box::new(rule)))
    }

    /// Proxies to `upstream` (loopback), passing every real answer (head and body) through
    /// `rewrite` on its way back: a man in the middle.
    pub fn rewriting(
        upstream: SocketAddr,
        rewrite: impl Fn(&Seen, Vec<u8>) -> Vec<u8> + Send + Sync + 'static,
    ) -> io::Result<HostileProxy> {
        Self::spawn(upstream, Rule::Rewrite(Box::new(rewrite)))
    }

    fn spawn(upstream: SocketAddr, rule: Rule) -> io::Result<HostileProxy> {
        assert!(upstream.ip().is_loopback(), "loopback only");
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let rule = Arc::new(rule);
        let (stop2, counts2) = (Arc::clone(&stop), Arc::clone(&counts));
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (rule, counts) = (Arc::clone(&rule), Arc::clone(&counts2));
                        std::thread::spawn(move || {
                            let _ = handle(client, upstream, &rule, &counts);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(HostileProxy {
            addr,
            stop,
            counts,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests seen so far whose path (without query) is `path`, any method.
    pub fn count(&self, path: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(path).copied().unwrap_or(0)
    }

    /// Requests seen so far whose path starts with `prefix`, any method.
    pub fn count_prefix(&self, prefix: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .iter()
            .filter(|(path, _)| path.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Drop for HostileProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    rule: &Rule,
    counts: &Mutex<HashMap<String, u64>>,
) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = read_request(&mut client)?;
    let line = request.split(|b| *b == b'\r').next().unwrap_or(&[]);
    let line = String::from_utf8_lossy(line);
    let mut words = line.split(' ');
    let seen = Seen {
        method: words.next().unwrap_or("").to_string(),
        target: words.next().unwrap_or("").to_string(),
    };
    *counts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(seen.path().to_string())
        .or_default() += 1;
    let answer = match rule {
        Rule::Answer(answer) => match answer(&seen) {
            Some(crafted) => crafted,
            None => exchange(&request, upstream)?,
        },
        Rule::Rewrite(rewrite) => rewrite(&seen, exchange(&request, upstream)?),
    };
    // A client that stops reading early (a capped body) makes this fail; that is fine.
    let _ = client.write_all(&answer);
    let _ = client.flush();
    client.shutdown(Shutdown::Both)
}
