//! Verification tasks (核查) as the last sync pulled them, kept so a rider sees them offline.

use gridline_protocol::wire::VerificationTask;

use super::Store;
use super::settings::CachedDocument;
use crate::error::{Error, Result};

/// Name of the cached document holding the tasks.
const TASKS_DOC: &str = "verification_tasks";

impl Store {
    /// Replaces the cached tasks with the server's latest list.
    pub fn replace_tasks(&mut self, tasks: &[VerificationTask], now_ms: i64) -> Result<()> {
        let body = serde_json::to_string(tasks).map_err(|e| Error::Corrupt(e.to_string()))?;
        let doc = CachedDocument {
            version: now_ms.to_string(),
            body,
        };
        self.put_cached_document(TASKS_DOC, &doc, now_ms)
    }

    /// The cached tasks (empty before the first pull).
    pub fn tasks(&self) -> Result<Vec<VerificationTask>> {
        match self.cached_document(TASKS_DOC)? {
            Some(doc) => serde_json::from_str(&doc.body).map_err(|e| Error::Corrupt(e.to_string())),
            None => Ok(Vec::new()),
        }
    }

    /// Drops the task of `ticket_id` (the rider filed its verification).
    pub fn forget_task(&mut self, ticket_id: &str, now_ms: i64) -> Result<()> {
        let mut tasks = self.tasks()?;
        let before = tasks.len();
        tasks.retain(|t| t.ticket_id != ticket_id);
        if tasks.len() != before {
            self.replace_tasks(&tasks, now_ms)?;
        }
        Ok(())
    }
}
