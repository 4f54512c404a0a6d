//! The layers around every route: request ids, tracing, panic catching, timeouts.
//!
//! Order, outermost first: drop a client's `x-request-id` unless it is a short token of safe
//! characters (it goes into logs), set one (keeping a valid client's own), copy it onto the
//! response, add the security headers every response carries (`nosniff`, no referrer), trace
//! the request inside a span that carries it, turn a panic into a JSON `500`, and abandon a
//! request that outlives the timeout with a JSON `503 timeout`.

use std::any::Any;
use std::time::Duration;

use axum::Router;

/// The request id header.
const X_REQUEST_ID: &str = "x-request-id";
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use gridline_protocol::wire::ErrorCode;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::error::ApiError;

/// Wraps `router` in the operational layers.
pub fn wrap(router: Router, request_timeout: Duration) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(drop_unsafe_request_id))
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SetResponseHeaderLayer::overriding(
                X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        let id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!(
                            "request",
                            method = %req.method(),
                            path = %req.uri().path(),
                            request_id = %id,
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(from_fn_with_state(request_timeout, timeout)),
    )
}

/// True for a request id worth keeping: 1 to 64 ASCII letters, digits, `-`, `_`, `.`, `:`.
pub fn is_safe_request_id(value: &[u8]) -> bool {
    (1..=64).contains(&value.len())
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Removes a client's `x-request-id` that is not [`is_safe_request_id`], so a fresh one is
/// made: the id is written into every log line of the request.
async fn drop_unsafe_request_id(mut req: Request, next: Next) -> Response {
    let ids = req.headers().get_all(X_REQUEST_ID);
    let mut values = ids.iter();
    let keep = matches!((values.next(), values.next()), (Some(v), None) if is_safe_request_id(v.as_bytes()));
    if !keep {
        req.headers_mut().remove(X_REQUEST_ID);
    }
    next.run(req).await
}

/// The last resort: a handler panicked. Log it, answer like any other internal error.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a non-string panic payload");
    ApiError::internal(format!("handler panicked: {what}")).into_response()
}

async fn timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorCode::Timeout,
            format!("the request took longer than {} s", limit.as_secs()),
        )
        .with_header("retry-after", "1")
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        for good in ["a", "3f2c-11", "req_42.x:y", &"z".repeat(64)] {
            assert!(is_safe_request_id(good.as_bytes()), "{good}");
        }
        for bad in [
            "",
            &"z".repeat(65),
            "a b",
            "a\nFAKE LOG LINE",
            "x\u{1b}[31m",
            "é",
            "<script>",
        ] {
            assert!(!is_safe_request_id(bad.as_bytes()), "{bad:?}");
        }
    }
}
