//! The server's notion of "now", injected so deadline tests move time instead of sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use gridline_protocol::Timestamp;

/// Where the server reads the time: the system clock, or a manual one tests advance.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Timestamp + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Timestamp::now))
    }

    /// A clock that reads `start` until its [`ManualTime`] moves it.
    pub fn manual(start: Timestamp) -> (Self, ManualTime) {
        let millis = Arc::new(AtomicI64::new(start.as_millis()));
        let read = millis.clone();
        let clock = Self(Arc::new(move || {
            Timestamp::from_millis(read.load(Ordering::SeqCst))
        }));
        (clock, ManualTime(millis))
    }

    /// The time now.
    pub fn now(&self) -> Timestamp {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// The hand of a [`Clock::manual`].
#[derive(Debug, Clone)]
pub struct ManualTime(Arc<AtomicI64>);

impl ManualTime {
    /// Moves the clock forward by `millis` (never backwards).
    pub fn advance(&self, millis: i64) {
        self.0.fetch_add(millis.max(0), Ordering::SeqCst);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.as_millis(), Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clocks_move_only_when_told() {
        let (clock, hand) = Clock::manual(Timestamp::from_millis(1_000));
        assert_eq!(clock.now().as_millis(), 1_000);
        hand.advance(3_600_000);
        hand.advance(-5);
        assert_eq!(clock.clone().now().as_millis(), 3_601_000);
        assert!(Clock::system().now().as_millis() > 1_700_000_000_000);
    }
}
