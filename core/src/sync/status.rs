//! The shared, observable state of a client: its sync status (idle, syncing with progress,
//! waiting for a retry time, failed) and change notifications for the data a UI shows (the
//! outbox and its counts, the worklist, the triage queue). A background sync and the screen
//! that shows the badge see the same state, because both observe the one client.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use gridline_protocol::Timestamp;
use serde::Serialize;

use super::SyncProgress;

/// Where the client's sync stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SyncStatus {
    /// No sync is running and none is due.
    Idle,
    /// A sync is running; `progress` is its latest step (`None` before the first).
    Syncing {
        /// The latest step.
        progress: Option<SyncProgress>,
    },
    /// The last run ended on retryable failures; the scheduler should run again at `until`.
    Waiting {
        /// When to try again.
        until: Timestamp,
        /// What went wrong.
        last_error: Option<String>,
    },
    /// The last run failed in a way retrying will not fix (auth, storage, a refused request).
    Failed {
        /// The error, as text.
        error: String,
    },
}

/// What changed; the observer re-reads what it shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum), uniffi(name = "DataChange"))]
pub enum Change {
    /// Reports: drafts, the outbox, their states and so the counts.
    Reports,
    /// The supervisor's offline worklist.
    Worklist,
    /// The queue of triage decisions.
    Triage,
}

/// Told about status changes and data changes. Called on the thread that made the change,
/// never under the store's lock; keep it quick (post to your UI thread).
#[cfg_attr(feature = "uniffi", uniffi::export(with_foreign))]
pub trait ClientObserver: Send + Sync {
    /// The sync status changed.
    fn on_status(&self, status: SyncStatus);
    /// Data of this kind changed.
    fn on_change(&self, change: Change);
}

/// Identifies a registered observer, to remove it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObserverId(pub u64);

/// The status and the observers of one client.
pub(crate) struct Observers {
    list: RwLock<Vec<(ObserverId, Arc<dyn ClientObserver>)>>,
    status: Mutex<SyncStatus>,
    next: AtomicU64,
}

impl Observers {
    pub(crate) fn new(status: SyncStatus) -> Observers {
        Observers {
            list: RwLock::new(Vec::new()),
            status: Mutex::new(status),
            next: AtomicU64::new(1),
        }
    }

    pub(crate) fn add(&self, observer: Arc<dyn ClientObserver>) -> ObserverId {
        let id = ObserverId(self.next.fetch_add(1, Ordering::Relaxed));
        self.list
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push((id, observer));
        id
    }

    pub(crate) fn remove(&self, id: ObserverId) -> bool {
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        let before = list.len();
        list.retain(|(i, _)| *i != id);
        list.len() != before
    }

    pub(crate) fn status(&self) -> SyncStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn snapshot(&self) -> Vec<Arc<dyn ClientObserver>> {
        self.list
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(_, o)| Arc::clone(o))
            .collect()
    }

    /// Sets the status and tells the observers when it differs from the current one.
    pub(crate) fn set_status(&self, status: SyncStatus) {
        {
            let mut current = self.status.lock().unwrap_or_else(|p| p.into_inner());
            if *current == status {
                return;
            }
            *current = status.clone();
        }
        for o in self.snapshot() {
            // An observer's bug must not break the sync that told it.
            let s = status.clone();
            if catch_unwind(AssertUnwindSafe(|| o.on_status(s))).is_err() {
                log::warn!("a client observer panicked in on_status");
            }
        }
    }

    /// Tells the observers that `change` happened.
    pub(crate) fn changed(&self, change: Change) {
        for o in self.snapshot() {
            if catch_unwind(AssertUnwindSafe(|| o.on_change(change))).is_err() {
                log::warn!("a client observer panicked in on_change");
            }
        }
    }
}
