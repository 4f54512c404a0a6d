//! The transport the core brings itself (CLI, tests, desktop, and apps that do not plug in
//! their own): blocking reqwest over rustls with the ring provider and Mozilla's root
//! certificates (webpki-roots), so it needs no platform initialisation on Android or iOS.

use std::io::Read;
use std::sync::Arc;

use super::{HttpRequest, HttpResponse, HttpTransport, TransportError, check_origin};

/// reqwest-based [`HttpTransport`].
#[derive(Debug, Clone)]
pub struct DefaultTransport {
    client: reqwest::blocking::Client,
}

impl DefaultTransport {
    /// Builds the client (connection pool, TLS roots, gzip response decoding).
    pub fn new() -> Result<DefaultTransport, TransportError> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Refused(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let client = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .gzip(true)
            .user_agent(concat!("gridline-core/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TransportError::Refused(format!("HTTP client setup: {e}")))?;
        Ok(DefaultTransport { client })
    }
}

impl HttpTransport for DefaultTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        // Defence in depth: the sync engine checks its base URL, but a transport must never
        // carry a token over plain HTTP off the machine whoever calls it.
        let url = url::Url::parse(&request.url)
            .map_err(|e| TransportError::Refused(format!("bad URL {:?}: {e}", request.url)))?;
        check_origin(&url).map_err(|why| TransportError::Refused(format!("the URL {why}")))?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| TransportError::Refused(format!("bad method {:?}", request.method)))?;
        let mut builder = self
            .client
            .request(method, &request.url)
            .timeout(request.timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let mut response = builder.body(request.body).send().map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                v.to_str()
                    .ok()
                    .map(|v| (k.as_str().to_ascii_lowercase(), v.to_string()))
            })
            .collect();
        // Read at most one byte past the cap (after gzip decoding): whatever Content-Length
        // says and however well the body compresses, memory stays bounded, and the core sees
        // that the answer was too long.
        let cap = request.max_response_bytes.saturating_add(1);
        let mut body = Vec::new();
        (&mut response)
            .take(cap)
            .read_to_end(&mut body)
            .map_err(|e| TransportError::Connection(format!("reading the answer: {e}")))?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

fn classify(e: reqwest::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout(e.to_string())
    } else if e.is_builder() {
        TransportError::Refused(e.to_string())
    } else {
        // Connect errors, resets, and bodies cut short all mean "no usable answer: try again".
        TransportError::Connection(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Write;
    use std::time::Duration;

    fn get(url: &str, max: u64) -> Result<HttpResponse, TransportError> {
        DefaultTransport::new().unwrap().send(HttpRequest {
            method: "GET".into(),
            url: url.into(),
            headers: BTreeMap::new(),
            body: Vec::new(),
            timeout: Duration::from_secs(10),
            max_response_bytes: max,
        })
    }

    #[test]
    fn a_host_starting_with_v_is_not_cut_at_the_first_slash_v() {
        // Used to be cut at the first "/v", leaving "https:/" and "empty host". Now the URL is
        // judged whole: an https host that does not resolve is a connection problem.
        let err = get("https://vgrid.invalid/v1/limits", 10).unwrap_err();
        assert!(matches!(err, TransportError::Connection(_)), "{err:?}");
        let err = get("http://vgrid.invalid/v1/limits", 10).unwrap_err();
        assert!(matches!(err, TransportError::Refused(_)), "{err:?}");
        let err = get("https://user:pw@grid.invalid/v1/limits", 10).unwrap_err();
        assert!(matches!(err, TransportError::Refused(_)), "{err:?}");
    }

    /// A loopback server answering every connection with `answer`.
    fn serve(answer: Vec<u8>) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4) {
                let Ok(mut stream) = stream else { return };
                let mut head = [0u8; 4096];
                let _ = std::io::Read::read(&mut stream, &mut head);
                let _ = stream.write_all(&answer);
            }
        });
        format!("http://{addr}/v1/changes")
    }

    #[test]
    fn answers_are_read_only_up_to_one_byte_past_the_cap() {
        // A gzip bomb: 1 MiB of zeros in ~1 KiB; read decompressed, it stops at the cap.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            bomb.len()
        )
        .into_bytes();
        answer.extend_from_slice(&bomb);
        let r = get(&serve(answer), 1000).unwrap();
        assert_eq!(r.body.len(), 1001);

        // A Content-Length of 10 GiB with a trickle of bytes behind it.
        let mut answer = b"HTTP/1.1 200 OK\r\ncontent-length: 10737418240\r\n\r\n".to_vec();
        answer.extend_from_slice(&[b'x'; 5000]);
        let r = get(&serve(answer), 1000).unwrap();
        assert_eq!(r.body.len(), 1001);
    }
}
