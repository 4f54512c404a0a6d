//! A small blocking pool of PostgreSQL connections.
//!
//! The store trait is synchronous and its callers run on tokio's blocking threads, so the
//! synchronous `postgres` client fits; a pool is a stack of idle clients and a count of those
//! lent out, bounded so one instance never opens more than `max` connections (PostgreSQL's
//! own `max_connections` is shared by every instance of a city deployment). A client that saw
//! its connection break is dropped instead of being put back.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use super::StoreError;

/// Connections to one database.
pub struct Pool {
    config: postgres::Config,
    state: Mutex<PoolState>,
    freed: Condvar,
    max: usize,
    wait: Duration,
}

struct PoolState {
    idle: Vec<Client>,
    lent: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// A connection lent by the pool; returned when dropped.
pub struct Pooled<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

fn lock(m: &Mutex<PoolState>) -> MutexGuard<'_, PoolState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pool {
    /// A pool for `url` (a `postgres://` URL or key=value string) of at most `max` connections;
    /// a caller waits at most `wait` for one.
    pub fn new(url: &str, max: usize, wait: Duration) -> Result<Self, StoreError> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::Unavailable(format!("database URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("gridline-server");
        }
        Ok(Self {
            config,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                lent: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
            wait,
        })
    }

    /// A connection: an idle one, a new one, or (at the limit) the next one returned.
    pub fn get(&self) -> Result<Pooled<'_>, StoreError> {
        let deadline = Instant::now() + self.wait;
        let mut state = lock(&self.state);
        loop {
            if let Some(client) = state.idle.pop() {
                state.lent += 1;
                return Ok(Pooled {
                    pool: self,
                    client: Some(client),
                });
            }
            if state.lent < self.max {
                state.lent += 1;
                drop(state);
                return match self.config.connect(NoTls) {
                    Ok(client) => Ok(Pooled {
                        pool: self,
                        client: Some(client),
                    }),
                    Err(e) => {
                        self.give_back(None);
                        Err(StoreError::Unavailable(format!(
                            "cannot connect to PostgreSQL: {e}"
                        )))
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(StoreError::Unavailable(format!(
                    "all {} database connections stayed busy for {} s",
                    self.max,
                    self.wait.as_secs()
                )));
            }
            state = self
                .freed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn give_back(&self, client: Option<Client>) {
        let mut state = lock(&self.state);
        state.lent = state.lent.saturating_sub(1);
        if let Some(client) = client.filter(|c| !c.is_closed()) {
            state.idle.push(client);
        }
        drop(state);
        self.freed.notify_one();
    }
}

impl Drop for Pool {
    /// Closes the idle connections on a thread of their own: a `postgres::Client` closes by
    /// blocking on its connection, which panics inside an async runtime, and the last owner of
    /// a store is often an async task of the server shutting down.
    fn drop(&mut self) {
        let idle = std::mem::take(&mut lock(&self.state).idle);
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("gridline-pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

impl Deref for Pooled<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a lent client is present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a lent client is present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        self.pool.give_back(self.client.take());
    }
}
