//! A TCP proxy between a client and the grid server that misbehaves on purpose, one HTTP
//! request per connection: it drops connections before or after the request reached the
//! server, delays, cuts responses in half, or answers 500/502/503/429 itself.
//!
//! "Dropped after delivery" is the fault that matters most for exactly-once: the server did the
//! work and the client never heard, so it must resend and get "already accepted".
//! Only ever listens on and connects to loopback.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rand::Rng;

/// One kind of misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection before the server sees the request.
    DropBeforeDelivery,
    /// Let the server handle the request, then close without answering.
    DropAfterDelivery,
    /// Wait, then proxy normally.
    Delay,
    /// Send the first half of the server's answer, then close.
    CutResponse,
    /// Answer with this status without asking the server.
    Status(u16),
}

/// Every fault the proxy can inject, chosen uniformly when one is due.
pub const ALL_FAULTS: [Fault; 8] = [
    Fault::DropBeforeDelivery,
    Fault::DropAfterDelivery,
    Fault::Delay,
    Fault::CutResponse,
    Fault::Status(500),
    Fault::Status(502),
    Fault::Status(503),
    Fault::Status(429),
];

/// Counts of what the proxy did.
#[derive(Debug, Default)]
pub struct FaultStats {
    /// Requests proxied untouched.
    pub clean: AtomicU64,
    /// Requests given a fault.
    pub faulted: AtomicU64,
    /// Of those, dropped after the server handled them.
    pub dropped_after_delivery: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// What it did so far.
    pub stats: Arc<FaultStats>,
    thread: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Proxies to `upstream`, injecting a fault into a fraction `rate` (0..=1) of requests.
    pub fn start(upstream: SocketAddr, rate: f64) -> io::Result<FaultProxy> {
        assert!(
            upstream.ip().is_loopback(),
            "the fault proxy only talks to loopback"
        );
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(FaultStats::default());
        let (stop2, stats2) = (Arc::clone(&stop), Arc::clone(&stats));
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let fault = {
                            let mut rng = rand::rng();
                            if rng.random::<f64>() < rate {
                                Some(ALL_FAULTS[rng.random_range(0..ALL_FAULTS.len())])
                            } else {
                                None
                            }
                        };
                        let stats = Arc::clone(&stats2);
                        std::thread::spawn(move || {
                            let _ = handle(client, upstream, fault, &stats);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(FaultProxy {
            addr,
            stop,
            stats,
            thread: Some(thread),
        })
    }

    /// The address clients should use.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one HTTP/1.1 request (head + Content-Length body) and returns it with
/// `Connection: close` forced, so each connection carries exactly one request.
pub(crate) fn read_request(client: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16384];
    let head_end = loop {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        if buf.len() > 1 << 20 {
            return Err(io::ErrorKind::InvalidData.into());
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut rewritten = String::new();
    for line in head.trim_end_matches("\r\n\r\n").split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            rewritten.push_str(line);
            rewritten.push_str("\r\n");
        }
    }
    rewritten.push_str("connection: close\r\n\r\n");
    let mut out = rewritten.into_bytes();
    out.extend_from_slice(&buf[head_end..head_end + length]);
    Ok(out)
}

pub(crate) fn exchange(request: &[u8], upstream: SocketAddr) -> io::Result<Vec<u8>> {
    let mut server = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))?;
    server.set_read_timeout(Some(Duration::from_secs(60)))?;
    server.write_all(request)?;
    let mut response = Vec::new();
    server.read_to_end(&mut response)?;
    Ok(response)
}

fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    fault: Option<Fault>,
    stats: &FaultStats,
) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = read_request(&mut client)?;
    let counter = if fault.is_some() {
        &stats.faulted
    } else {
        &stats.clean
    };
    counter.fetch_add(1, Ordering::Relaxed);
    match fault {
        None => {
            let response = exchange(&request, upstream)?;
            client.write_all(&response)?;
        }
        Some(Fault::DropBeforeDelivery) => {}
        Some(Fault::DropAfterDelivery) => {
            exchange(&request, upstream)?;
            stats.dropped_after_delivery.fetch_add(1, Ordering::Relaxed);
        }
        Some(Fault::Delay) => {
            std::thread::sleep(Duration::from_millis(rand::rng().random_range(20..200)));
            let response = exchange(&request, upstream)?;
            client.write_all(&response)?;
        }
        Some(Fault::CutResponse) => {
            let response = exchange(&request, upstream)?;
            client.write_all(&response[..response.len() / 2])?;
        }
        Some(Fault::Status(code)) => {
            let extra = if code == 429 {
                "retry-after: 0\r\n"
            } else {
                ""
            };
            let body = format!("{{\"code\":\"internal\",\"message\":\"injected {code}\"}}");
            let reply = format!(
                "HTTP/1.1 {code} Injected\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(reply.as_bytes())?;
        }
    }
    client.flush()?;
    client.shutdown(Shutdown::Both)
}
