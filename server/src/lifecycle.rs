//! The case rules a district configures around the lifecycle: handling deadlines per category
//! (处置时限, from the catalog), verification on the spot (核查) before closing, and what a
//! successful verification does. The store's rules apply them.

use std::sync::Arc;
use std::time::Duration;

use gridline_protocol::{Catalog, ReportKind, Timestamp};

/// What the lifecycle needs to know of a category and the district's settings.
#[derive(Debug, Clone)]
pub struct CasePolicy {
    catalog: Arc<Catalog>,
    /// A "fixed" verification closes the ticket at once instead of leaving it `resolved` for
    /// the supervisor to close.
    pub close_on_verified: bool,
    /// A verification must be filed within this many metres of the ticket's location.
    pub verification_radius_m: f64,
}

/// How a server runs the lifecycle's time-driven and verification parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseSettings {
    /// See [`CasePolicy::close_on_verified`].
    pub close_on_verified: bool,
    /// See [`CasePolicy::verification_radius_m`].
    pub verification_radius_m: f64,
    /// How often the server looks for tickets whose deadline passed.
    pub deadline_check_every: Duration,
}

impl Default for CaseSettings {
    /// Verified tickets wait for the supervisor; verifications within 100 m (a phone's fix in
    /// a street canyon plus the original report's error); deadlines checked every minute.
    fn default() -> Self {
        Self {
            close_on_verified: false,
            verification_radius_m: 100.0,
            deadline_check_every: Duration::from_secs(60),
        }
    }
}

impl CasePolicy {
    /// The policy of `catalog` with `settings`.
    pub fn new(catalog: Arc<Catalog>, settings: &CaseSettings) -> Self {
        Self {
            catalog,
            close_on_verified: settings.close_on_verified,
            verification_radius_m: settings.verification_radius_m,
        }
    }

    /// The deadline of a ticket of this category dispatched at `now`, if it has one.
    pub fn deadline(&self, kind: ReportKind, category: &str, now: Timestamp) -> Option<Timestamp> {
        let hours = self.catalog.category(kind, category)?.handling_hours?;
        Some(hours_after(now, hours))
    }

    /// True when a resolved ticket of this category waits for a rider's verification.
    pub fn requires_verification(&self, kind: ReportKind, category: &str) -> bool {
        self.catalog
            .category(kind, category)
            .is_some_and(|c| c.requires_verification)
    }
}

/// `at` moved `hours` later.
pub fn hours_after(at: Timestamp, hours: i64) -> Timestamp {
    Timestamp::from_millis(
        at.as_millis()
            .saturating_add(hours.saturating_mul(3_600_000)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_and_verification_follow_the_catalog() {
        let policy = CasePolicy::new(Arc::new(Catalog::builtin()), &CaseSettings::default());
        let t0 = Timestamp::from_millis(1_764_000_000_000);
        let due = policy.deadline(ReportKind::RoadDamage, "missing_manhole_cover", t0);
        assert_eq!(due, Some(hours_after(t0, 4)));
        assert_eq!(
            policy.deadline(ReportKind::AntiFraudOutreach, "street_talk", t0),
            None
        );
        assert_eq!(policy.deadline(ReportKind::RoadDamage, "no_such", t0), None);
        assert!(policy.requires_verification(ReportKind::RoadDamage, "pothole"));
        assert!(!policy.requires_verification(ReportKind::Other, "general"));
    }
}
