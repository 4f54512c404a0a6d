//! A proxy that edits requests on their way to the real server: a man in the middle between
//! a device and the grid server (a compromised gateway, a "helper" app rewriting payloads).
//! Each request is read whole (gzip bodies decoded), handed to an editor as JSON when its path
//! matches, re-encoded plainly and forwarded; the server's answer comes back untouched.
//! Loopback only.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::fault_proxy::{exchange, read_request};

/// Edits one request body in place.
type Editor = dyn Fn(&mut serde_json::Value) + Send + Sync;

/// A running proxy; stops when dropped.
pub struct TamperingProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Requests whose body the editor changed.
    pub edited: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl TamperingProxy {
    /// Proxies to `upstream`, passing the JSON body of every request to `path` through `edit`.
    pub fn start(
        upstream: SocketAddr,
        path: &'static str,
        edit: impl Fn(&mut serde_json::Value) + Send + Sync + 'static,
    ) -> io::Result<TamperingProxy> {
        assert!(upstream.ip().is_loopback(), "loopback only");
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let edited = Arc::new(AtomicU64::new(0));
        let edit: Arc<Editor> = Arc::new(edit);
        let (stop2, edited2) = (Arc::clone(&stop), Arc::clone(&edited));
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let (edit, edited) = (Arc::clone(&edit), Arc::clone(&edited2));
                        std::thread::spawn(move || {
                            let _ = handle(client, upstream, path, &*edit, &edited);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(TamperingProxy {
            addr,
            stop,
            edited,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for TamperingProxy {
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
    path: &str,
    edit: &Editor,
    edited: &AtomicU64,
) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = read_request(&mut client)?;
    let request = match rewrite(&request, path, edit)? {
        Some(changed) => {
            edited.fetch_add(1, Ordering::Relaxed);
            changed
        }
        None => request,
    };
    let response = exchange(&request, upstream)?;
    client.write_all(&response)?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

/// The request with its body edited, or `None` when it is not for `path` (or has no JSON).
fn rewrite(request: &[u8], path: &str, edit: &Editor) -> io::Result<Option<Vec<u8>>> {
    let Some(head_end) = request.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_string();
    let target = head.split_whitespace().nth(1).unwrap_or("");
    if target.split('?').next() != Some(path) {
        return Ok(None);
    }
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let mut body = request[head_end + 4..].to_vec();
    if header("content-encoding").is_some_and(|e| e.eq_ignore_ascii_case("gzip")) {
        let mut plain = Vec::new();
        flate2::read::MultiGzDecoder::new(&body[..]).read_to_end(&mut plain)?;
        body = plain;
    }
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return Ok(None);
    };
    edit(&mut json);
    let body = serde_json::to_vec(&json)?;
    let mut out = String::new();
    for line in head.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if !lower.starts_with("content-length:") && !lower.starts_with("content-encoding:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Ok(Some(bytes))
}
