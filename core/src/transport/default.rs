//! The transport the core brings itself (CLI, tests, desktop, and apps that do not plug in
//! their own): blocking reqwest over rustls with the ring provider and Mozilla's root
//! certificates (webpki-roots), so it needs no platform initialisation on Android or iOS.

use std::sync::Arc;

use super::{HttpRequest, HttpResponse, HttpTransport, TransportError, check_server_url};

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
        let origin_end = request.url.find("/v").unwrap_or(request.url.len());
        check_server_url(&request.url[..origin_end])
            .map_err(|e| TransportError::Refused(e.to_string()))?;
        let method = reqwest::Method::from_bytes(request.method.as_bytes())
            .map_err(|_| TransportError::Refused(format!("bad method {:?}", request.method)))?;
        let mut builder = self
            .client
            .request(method, &request.url)
            .timeout(request.timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let response = builder.body(request.body).send().map_err(classify)?;
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
        let body = response.bytes().map_err(classify)?.to_vec();
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
