//! The sync engine's decisions, with no I/O: how to read an HTTP outcome (success, retry later,
//! refresh the token, give up on this item), how long to back off, how to split the outbox
//! into batches, and what each per-item batch result does to a report. Table-driven tests
//! pin every rule; the driver in `engine.rs` only carries them out.

use std::time::Duration;

use gridline_protocol::wire::{ErrorBody, ItemResult};

pub use crate::model::ItemTransition;
use crate::transport::{HttpResponse, TransportError};

/// What to do after one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx (or 304): use the answer.
    Success,
    /// Worth trying again later: no answer, timeout, 408, 429, 5xx. `after` is the server's
    /// `Retry-After`, when it gave one.
    Retry {
        /// Why, for the log and the summary.
        reason: String,
        /// The server's requested wait.
        after: Option<Duration>,
    },
    /// 401: the token was refused; ask the provider for a fresh one (once).
    Reauthenticate,
    /// 413: the request was too large; send less at once.
    TooLarge {
        /// True when the answer carried a Gridline error body (the grid server itself said
        /// so, not a proxy in front of it).
        from_server: bool,
    },
    /// Any other 4xx: this request will never succeed as it is.
    Permanent {
        /// The server's `code`, when it sent an error body.
        code: Option<String>,
        /// The field at fault, when named.
        field: Option<String>,
        /// The server's message, or the status line.
        reason: String,
    },
}

/// Reads the outcome of one exchange.
pub fn judge(outcome: &Result<HttpResponse, TransportError>) -> Verdict {
    let response = match outcome {
        Ok(r) => r,
        Err(e) if e.is_retryable() => {
            return Verdict::Retry {
                reason: e.to_string(),
                after: None,
            };
        }
        Err(e) => {
            return Verdict::Permanent {
                code: None,
                field: None,
                reason: e.to_string(),
            };
        }
    };
    let status = response.status;
    // Only a Gridline error body counts as the server's word (a proxy's HTML page, or JSON of
    // another shape, does not): a code this client knows or a future one, and a message.
    let body: Option<ErrorBody> = serde_json::from_slice(&response.body).ok();
    let reason = body.as_ref().map_or_else(
        || format!("HTTP {status}"),
        |b| format!("HTTP {status}: {}", b.message),
    );
    match status {
        200..=299 | 304 => Verdict::Success,
        401 => Verdict::Reauthenticate,
        408 | 429 | 500..=599 => Verdict::Retry {
            reason,
            after: response.header("retry-after").and_then(parse_retry_after),
        },
        413 => Verdict::TooLarge {
            from_server: body.is_some(),
        },
        _ => Verdict::Permanent {
            code: body
                .as_ref()
                .and_then(|b| serde_json::to_value(b.code).ok())
                .and_then(|v| v.as_str().map(str::to_owned)),
            field: body.and_then(|b| b.field),
            reason,
        },
    }
}

/// Longest wait a `Retry-After` is believed for; beyond it the value is treated as a typo.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Parses `Retry-After` in its delta-seconds form (the form this protocol's servers send).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: u64 = value.trim().parse().ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and
/// Jitter"): the n-th consecutive failure waits a uniformly random time in `0..=min(cap, base*2^n)`,
/// and never less than the server's `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first wait.
    pub base: Duration,
    /// Largest ceiling.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// The ceiling for the `failures`-th consecutive failure (1-based).
    pub fn ceiling(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        self.base.saturating_mul(1u32 << exp).min(self.cap)
    }

    /// The wait after `failures` consecutive failures; `unit` is a uniform random number in
    /// `[0, 1)` (passed in so tests are deterministic).
    pub fn delay(&self, failures: u32, unit: f64, retry_after: Option<Duration>) -> Duration {
        let jittered = self.ceiling(failures).mul_f64(unit.clamp(0.0, 1.0));
        match retry_after {
            Some(after) => jittered.max(after),
            None => jittered,
        }
    }
}

/// The transition for one per-item result.
pub fn item_transition(result: &ItemResult) -> ItemTransition {
    match result {
        ItemResult::Accepted { ticket_id } => ItemTransition::Accepted {
            ticket_id: ticket_id.clone(),
            already: false,
        },
        ItemResult::AlreadyAccepted { ticket_id } => ItemTransition::Accepted {
            ticket_id: ticket_id.clone(),
            already: true,
        },
        ItemResult::Conflict { reason } => ItemTransition::Parked {
            field: Some("id".into()),
            reason: format!("the server holds a different report with this id: {reason}"),
        },
        ItemResult::Rejected { field, reason } => ItemTransition::Parked {
            field: Some(field.clone()),
            reason: reason.clone(),
        },
    }
}

/// Splits payload sizes (in queue order) into batches of at most `max_items` reports and
/// `max_bytes` bytes of JSON. A single payload larger than `max_bytes` gets a batch of its own
/// (the server will answer 413 and the driver parks it).
pub fn plan_batches(
    sizes: &[usize],
    max_items: usize,
    max_bytes: usize,
) -> Vec<std::ops::Range<usize>> {
    let max_items = max_items.max(1);
    let envelope = 16; // `{"reports":[` ... `]}` and separators
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = envelope;
    for (i, &size) in sizes.iter().enumerate() {
        let full = i - start >= max_items || (i > start && bytes + size + 1 > max_bytes);
        if full {
            out.push(start..i);
            start = i;
            bytes = envelope;
        }
        bytes += size + 1;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn response(
        status: u16,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<HttpResponse, TransportError> {
        Ok(HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            body: body.as_bytes().to_vec(),
        })
    }

    #[test]
    fn judges_every_class_of_outcome() {
        let retry = |after: Option<u64>| move |v: &Verdict| matches!(v, Verdict::Retry { after: a, .. } if *a == after.map(Duration::from_secs));
        type Check = Box<dyn Fn(&Verdict) -> bool>;
        let table: Vec<(Result<HttpResponse, TransportError>, Check)> = vec![
            (
                response(200, &[], "{}"),
                Box::new(|v| *v == Verdict::Success),
            ),
            (response(204, &[], ""), Box::new(|v| *v == Verdict::Success)),
            (response(304, &[], ""), Box::new(|v| *v == Verdict::Success)),
            (
                Err(TransportError::Connection("reset".into())),
                Box::new(retry(None)),
            ),
            (
                Err(TransportError::Timeout("30 s".into())),
                Box::new(retry(None)),
            ),
            (response(500, &[], "oops"), Box::new(retry(None))),
            (response(502, &[], ""), Box::new(retry(None))),
            (
                response(503, &[("retry-after", "7")], ""),
                Box::new(retry(Some(7))),
            ),
            (
                response(429, &[("retry-after", "30")], ""),
                Box::new(retry(Some(30))),
            ),
            (
                response(429, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")], ""),
                Box::new(retry(None)),
            ),
            (response(408, &[], ""), Box::new(retry(None))),
            (
                response(401, &[], ""),
                Box::new(|v| *v == Verdict::Reauthenticate),
            ),
            (
                response(413, &[], "<html>Request Entity Too Large</html>"),
                Box::new(|v| *v == Verdict::TooLarge { from_server: false }),
            ),
            (
                response(
                    413,
                    &[],
                    r#"{"code":"body_too_large","message":"the request body exceeds 4 bytes"}"#,
                ),
                Box::new(|v| *v == Verdict::TooLarge { from_server: true }),
            ),
            (
                response(
                    422,
                    &[],
                    r#"{"code":"validation_failed","message":"bad","field":"location.lat"}"#,
                ),
                Box::new(
                    |v| matches!(v, Verdict::Permanent { code: Some(c), field: Some(f), .. } if c == "validation_failed" && f == "location.lat"),
                ),
            ),
            (
                response(400, &[], "not json"),
                Box::new(|v| matches!(v, Verdict::Permanent { code: None, .. })),
            ),
            (
                response(403, &[], ""),
                Box::new(|v| matches!(v, Verdict::Permanent { .. })),
            ),
            (
                response(404, &[], ""),
                Box::new(|v| matches!(v, Verdict::Permanent { .. })),
            ),
            (
                Err(TransportError::Refused("http://example.com".into())),
                Box::new(|v| matches!(v, Verdict::Permanent { .. })),
            ),
        ];
        for (i, (outcome, check)) in table.iter().enumerate() {
            let v = judge(outcome);
            assert!(check(&v), "row {i}: {outcome:?} judged {v:?}");
        }
    }

    #[test]
    fn retry_after_is_bounded_and_only_delta_seconds() {
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("99999999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_exponentially_to_the_cap_with_full_jitter() {
        let b = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        };
        let ceilings: Vec<u64> = (1..=9).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(ceilings, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(
            b.ceiling(1000),
            Duration::from_secs(60),
            "no overflow after many failures"
        );
        assert_eq!(
            b.delay(3, 0.0, None),
            Duration::ZERO,
            "full jitter reaches zero"
        );
        assert_eq!(b.delay(3, 0.5, None), Duration::from_secs(2));
        assert_eq!(
            b.delay(3, 0.999, None),
            Duration::from_secs(4).mul_f64(0.999)
        );
        assert_eq!(
            b.delay(1, 0.5, Some(Duration::from_secs(30))),
            Duration::from_secs(30),
            "Retry-After is a floor"
        );
        assert_eq!(
            b.delay(2, 7.0, None),
            Duration::from_secs(2),
            "unit is clamped"
        );
    }

    #[test]
    fn item_results_map_to_accept_or_park() {
        let table = [
            (
                ItemResult::Accepted {
                    ticket_id: "T1".into(),
                },
                ItemTransition::Accepted {
                    ticket_id: "T1".into(),
                    already: false,
                },
            ),
            (
                ItemResult::AlreadyAccepted {
                    ticket_id: "T1".into(),
                },
                ItemTransition::Accepted {
                    ticket_id: "T1".into(),
                    already: true,
                },
            ),
            (
                ItemResult::Rejected {
                    field: "category".into(),
                    reason: "unknown".into(),
                },
                ItemTransition::Parked {
                    field: Some("category".into()),
                    reason: "unknown".into(),
                },
            ),
        ];
        for (result, expected) in table {
            assert_eq!(item_transition(&result), expected);
        }
        assert!(matches!(
            item_transition(&ItemResult::Conflict { reason: "different content".into() }),
            ItemTransition::Parked { field: Some(f), .. } if f == "id"
        ));
    }

    #[test]
    fn batches_respect_count_and_bytes() {
        assert_eq!(plan_batches(&[], 50, 1000), vec![]);
        assert_eq!(plan_batches(&[10; 5], 2, 10_000), vec![0..2, 2..4, 4..5]);
        assert_eq!(plan_batches(&[100, 100, 100], 50, 250), vec![0..2, 2..3]);
        assert_eq!(
            plan_batches(&[500, 10, 10], 50, 300),
            vec![0..1, 1..3],
            "oversized payload alone"
        );
        assert_eq!(
            plan_batches(&[10; 3], 0, 10_000),
            vec![0..1, 1..2, 2..3],
            "zero max means one"
        );
    }
}
