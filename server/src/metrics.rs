//! Operational metrics in the Prometheus text format (`GET /metrics`, admin token): request
//! counts and latency per route, ingest results, photo verifications, and the pending-upload
//! queue read from the store at scrape time. Counters are per instance, as Prometheus expects:
//! the city's dashboards sum them over instances.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the request latency histogram's buckets.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Inner {
    /// (route, status) → requests.
    requests: BTreeMap<(String, u16), u64>,
    /// route → latency.
    latency: BTreeMap<String, Histogram>,
    /// item result (`accepted`, …) → reports.
    ingested: BTreeMap<&'static str, u64>,
    /// verification result → uploads finished.
    photos: BTreeMap<&'static str, u64>,
}

/// This instance's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// Values read at scrape time.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Unfinished uploads.
    pub pending_uploads: u64,
    /// Their declared bytes.
    pub pending_upload_bytes: u64,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a request to `route` (the matched path template) answered `status` after
    /// `elapsed`.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        let mut inner = self.lock();
        *inner
            .requests
            .entry((route.to_string(), status))
            .or_default() += 1;
        let h = inner.latency.entry(route.to_string()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Counts reports of a batch by their result (`accepted`, `already_accepted`, …).
    pub fn ingested(&self, result: &'static str, n: u64) {
        *self.lock().ingested.entry(result).or_default() += n;
    }

    /// Counts a finished upload by what verification found.
    pub fn photo(&self, result: &'static str) {
        *self.lock().photos.entry(result).or_default() += 1;
    }

    /// The exposition text.
    pub fn render(&self, backend: (&str, &str), gauges: Gauges) -> String {
        let inner = self.lock();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP gridline_info The storage this instance uses.\n# TYPE gridline_info gauge\n\
             gridline_info{{database=\"{}\",media=\"{}\"}} 1",
            backend.0, backend.1
        );
        out.push_str(
            "# HELP gridline_http_requests_total Requests answered, by route and status.\n\
             # TYPE gridline_http_requests_total counter\n",
        );
        for ((route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "gridline_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP gridline_http_request_duration_seconds Request latency, by route.\n\
             # TYPE gridline_http_request_duration_seconds histogram\n",
        );
        for (route, h) in &inner.latency {
            let route = escape(route);
            for (bound, n) in LATENCY_BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "gridline_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "gridline_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\n\
                 gridline_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\n\
                 gridline_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count, h.sum, h.count
            );
        }
        out.push_str(
            "# HELP gridline_reports_ingested_total Reports in batches, by result.\n\
             # TYPE gridline_reports_ingested_total counter\n",
        );
        for (result, n) in &inner.ingested {
            let _ = writeln!(
                out,
                "gridline_reports_ingested_total{{result=\"{result}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP gridline_photos_finished_total Finished uploads, by verification result.\n\
             # TYPE gridline_photos_finished_total counter\n",
        );
        for (result, n) in &inner.photos {
            let _ = writeln!(
                out,
                "gridline_photos_finished_total{{result=\"{result}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP gridline_uploads_pending Unfinished photo uploads (all instances).\n\
             # TYPE gridline_uploads_pending gauge\ngridline_uploads_pending {}\n\
             # HELP gridline_uploads_pending_bytes Declared bytes of unfinished uploads.\n\
             # TYPE gridline_uploads_pending_bytes gauge\ngridline_uploads_pending_bytes {}",
            gauges.pending_uploads, gauges.pending_upload_bytes
        );
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.request("/v1/reports:batch", 200, Duration::from_millis(3));
        m.request("/v1/reports:batch", 200, Duration::from_millis(30));
        m.ingested("accepted", 5);
        let text = m.render(
            ("sqlite", "local"),
            Gauges {
                pending_uploads: 2,
                pending_upload_bytes: 10,
            },
        );
        assert!(text.contains(
            "gridline_http_requests_total{route=\"/v1/reports:batch\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "gridline_http_request_duration_seconds_bucket{route=\"/v1/reports:batch\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "gridline_http_request_duration_seconds_count{route=\"/v1/reports:batch\"} 2"
        ));
        assert!(text.contains("gridline_reports_ingested_total{result=\"accepted\"} 5"));
        assert!(text.contains("gridline_uploads_pending 2"));
        assert_eq!(escape("a\"b"), "a\\\"b");
    }
}
