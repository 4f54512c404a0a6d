//! Waiting for a foreign (Kotlin / Swift) future on the calling thread: the core is
//! synchronous, the app's transport and token provider are async. The wait ends when the
//! future completes, when the run is cancelled or the client closes, or at a deadline; in the
//! last two cases the future is dropped, which uniffi turns into cancelling the coroutine or
//! task (decision 0044).

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::CancelToken;

/// When an adapter stops waiting for the app: the run's cancel token, the client closing.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    /// The sync run's token (a fresh, never-cancelled one outside a sync).
    pub run: CancelToken,
    /// Cancelled when the client closes.
    pub closing: CancelToken,
}

impl Stop {
    /// Whether either token fired.
    pub fn is_cancelled(&self) -> bool {
        self.run.is_cancelled() || self.closing.is_cancelled()
    }
}

/// How often a waiting adapter looks at its cancel tokens (the core's backoff sleep does the
/// same): a cancelled run drops the foreign future within this time.
const CANCEL_POLL: Duration = Duration::from_millis(20);

/// Why [`wait`] gave up on a foreign future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandoned {
    /// The run was cancelled or the client closed.
    Cancelled,
    /// No answer before the deadline.
    Overdue,
}

/// Unparks the waiting thread when the foreign side completes the future.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `future` on the calling thread until it completes, `stop` fires or `limit` passes;
/// in the last two cases the future is dropped, which cancels the foreign call.
pub fn wait<F: Future>(future: F, stop: &Stop, limit: Duration) -> Result<F::Output, Abandoned> {
    let deadline = Instant::now().checked_add(limit);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if stop.is_cancelled() {
            return Err(Abandoned::Cancelled);
        }
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Ok(out);
        }
        let left = match deadline {
            Some(d) => d.saturating_duration_since(Instant::now()),
            None => CANCEL_POLL,
        };
        if left.is_zero() {
            return Err(Abandoned::Overdue);
        }
        thread::park_timeout(left.min(CANCEL_POLL));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_returns_the_answer_or_gives_up_dropping_the_future() {
        let stop = Stop::default();
        assert_eq!(wait(async { 7 }, &stop, Duration::ZERO), Ok(7));
        let never = std::future::pending::<()>();
        assert_eq!(wait(never, &stop, Duration::ZERO), Err(Abandoned::Overdue));
        stop.closing.cancel();
        assert_eq!(
            wait(async { 7 }, &stop, Duration::MAX),
            Err(Abandoned::Cancelled)
        );
    }
}
