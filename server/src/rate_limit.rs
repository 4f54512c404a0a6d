//! Rate limiting: a token bucket per key (a user, or a client address for failed
//! authentications), refilled continuously.
//!
//! A rider's phone syncing in batches makes a handful of requests a minute; the default limit is
//! far above that so only runaway clients (or tests that ask for a tight limit) hit it. Over the
//! limit the server answers `429 rate_limited` with `Retry-After` in whole seconds.
//!
//! One server process keeps its buckets in memory ([`RateLimiter`]); instances sharing a
//! PostgreSQL database keep them in it ([`Limiter::Shared`]), so a client spreading its requests
//! over instances behind a load balancer gets the same limit as one talking to one.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gridline_protocol::Timestamp;
use gridline_protocol::wire::ErrorCode;

use crate::config::RateLimit;
use crate::error::ApiError;
use crate::store::Store;
use crate::task::blocking;

/// One user's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Takes one token at `now`, or says how long until one is available.
    fn take(&mut self, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * limit.per_second).min(f64::from(limit.burst));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else if limit.per_second > 0.0 {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / limit.per_second,
            ))
        } else {
            Err(Duration::from_secs(3600))
        }
    }
}

/// Buckets for every key (user id, client address) seen recently.
#[derive(Debug)]
pub struct RateLimiter<K = i64> {
    limit: RateLimit,
    buckets: Mutex<HashMap<K, Bucket>>,
}

/// Above this many buckets, full ones are dropped (a full bucket is the same as no bucket).
const PRUNE_ABOVE: usize = 10_000;

impl<K: Hash + Eq + Copy> RateLimiter<K> {
    /// A limiter enforcing `limit` per key.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `key`; `429` with `Retry-After` when over the limit.
    pub fn check(&self, key: K) -> Result<(), ApiError> {
        self.check_at(key, Instant::now())
            .map_err(|wait| too_many("requests for this token", wait))
    }

    /// `429` when `key` has no request left right now, without counting one.
    pub fn peek(&self, key: K, what: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get(&key) {
            Some(b) => {
                let mut probe = *b;
                probe
                    .take(self.limit, now)
                    .map_err(|wait| too_many(what, wait))
            }
            None => Ok(()),
        }
    }

    fn check_at(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let (limit, full) = (self.limit, f64::from(self.limit.burst));
            buckets.retain(|_, b| {
                let refilled =
                    b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * limit.per_second;
                refilled < full
            });
        }
        let burst = f64::from(self.limit.burst);
        buckets
            .entry(key)
            .or_insert(Bucket {
                tokens: burst,
                at: now,
            })
            .take(self.limit, now)
    }
}

/// A limit kept where the deployment needs it: in this process, or in the shared database.
pub enum Limiter<K> {
    /// Buckets in memory (one server process).
    Local(RateLimiter<K>),
    /// Buckets in the database every instance shares, named `<namespace>:<key>`.
    Shared {
        /// The database (its [`Store::coordination`] is `Some`).
        store: Arc<dyn Store>,
        /// The limit.
        limit: RateLimit,
        /// Keeps the keys of different limits apart.
        namespace: &'static str,
    },
}

impl<K: Hash + Eq + Copy + Display + Send + 'static> Limiter<K> {
    /// A limiter for `limit`: shared through `store` when it coordinates instances.
    pub fn new(limit: RateLimit, store: &Arc<dyn Store>, namespace: &'static str) -> Self {
        if store.coordination().is_some() {
            Self::Shared {
                store: store.clone(),
                limit,
                namespace,
            }
        } else {
            Self::Local(RateLimiter::new(limit))
        }
    }

    /// Counts one request of `key`; `429` with `Retry-After` when over the limit.
    pub async fn check(&self, key: K, what: &str) -> Result<(), ApiError> {
        match self {
            Self::Local(local) => local
                .check_at(key, Instant::now())
                .map_err(|wait| too_many(what, wait)),
            Self::Shared { .. } => self.shared(key, 1.0, what).await,
        }
    }

    /// `429` when `key` has no request left right now, without counting one.
    pub async fn peek(&self, key: K, what: &str) -> Result<(), ApiError> {
        match self {
            Self::Local(local) => local.peek(key, what),
            Self::Shared { .. } => self.shared(key, 0.0, what).await,
        }
    }

    async fn shared(&self, key: K, cost: f64, what: &str) -> Result<(), ApiError> {
        let Self::Shared {
            store,
            limit,
            namespace,
        } = self
        else {
            return Ok(());
        };
        let (store, limit, bucket) = (store.clone(), *limit, format!("{namespace}:{key}"));
        let wait = blocking(move || match store.coordination() {
            Some(shared) => shared.take_rate(
                &bucket,
                limit.per_second,
                f64::from(limit.burst),
                cost,
                Timestamp::now(),
            ),
            None => Ok(None),
        })
        .await??;
        match wait {
            Some(wait) => Err(too_many(what, wait)),
            None => Ok(()),
        }
    }
}

/// The `429` for a key over its limit.
fn too_many(what: &str, wait: Duration) -> ApiError {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    ApiError::new(
        ErrorCode::RateLimited,
        format!("too many {what}; retry in {secs} s"),
    )
    .with_header("retry-after", secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate_per_user() {
        let limiter: RateLimiter = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check_at(1, t0), Ok(()));
        }
        assert_eq!(limiter.check_at(1, t0), Err(Duration::from_millis(500)));
        assert_eq!(
            limiter.check_at(2, t0),
            Ok(()),
            "other users have their own bucket"
        );
        assert_eq!(limiter.check_at(1, t0 + Duration::from_millis(500)), Ok(()));
        assert!(
            limiter
                .check_at(1, t0 + Duration::from_millis(500))
                .is_err()
        );
        assert_eq!(limiter.check_at(1, t0 + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn the_error_carries_retry_after_in_whole_seconds() {
        let limiter: RateLimiter = RateLimiter::new(RateLimit {
            per_second: 0.1,
            burst: 1,
        });
        assert!(limiter.check(9).is_ok());
        let err = limiter.check(9).unwrap_err();
        assert_eq!(err.code(), ErrorCode::RateLimited);
    }
}
