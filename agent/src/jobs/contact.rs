//! When the agent last knew the server had heard from it, and when a
//! fenced attempt must therefore be killed.
//!
//! The time recorded is when the successful request was *sent*: the server
//! renewed the leases no earlier than that, so fencing from it errs on the
//! safe side (the agent kills a little early rather than a little late).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Smallest safety margin kept before a lease ends (see [`fence_margin`]).
const MIN_FENCE_MARGIN: Duration = Duration::from_secs(5);

/// The last successful heartbeat or poll, shared by every loop.
#[derive(Clone)]
pub(crate) struct Contact(Arc<Mutex<Instant>>);

impl Contact {
    /// Starts counting from now: assignments only arrive through a
    /// successful poll, which records a later time anyway.
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }

    /// Records a request sent at `sent` that the server answered.
    pub fn record(&self, sent: Instant) {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *last = (*last).max(sent);
    }

    pub fn last(&self) -> Instant {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves once no contact was recorded for `lease` minus the fence
    /// margin; re-checks whenever the deadline passes, so contact made in
    /// the meantime pushes it back.
    pub async fn lost_for(&self, lease: Duration) {
        loop {
            let deadline = fence_deadline(self.last(), lease);
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// How long before the lease ends a fenced attempt is killed:
/// `max(lease/4, 5 s)`, but never more than half the lease, so a short
/// lease still leaves the job some time to run through a brief blip.
pub(crate) fn fence_margin(lease: Duration) -> Duration {
    (lease / 4).max(MIN_FENCE_MARGIN).min(lease / 2)
}

fn fence_deadline(last_contact: Instant, lease: Duration) -> Instant {
    last_contact + lease.saturating_sub(fence_margin(lease))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn margins_are_a_quarter_at_least_five_seconds_at_most_half() {
        assert_eq!(fence_margin(60 * SECOND), 15 * SECOND);
        assert_eq!(fence_margin(12 * SECOND), 5 * SECOND);
        assert_eq!(fence_margin(2 * SECOND), SECOND);
        assert_eq!(fence_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn contact_only_moves_forward() {
        let contact = Contact::new();
        let later = Instant::now() + SECOND;
        contact.record(later);
        contact.record(later - SECOND);
        assert_eq!(contact.last(), later);
    }

    #[tokio::test(start_paused = true)]
    async fn fencing_waits_for_the_lease_minus_the_margin_and_contact_pushes_it_back() {
        let contact = Contact::new();
        let start = Instant::now();
        let lost = tokio::spawn({
            let contact = contact.clone();
            async move { contact.lost_for(20 * SECOND).await }
        });
        tokio::time::sleep(10 * SECOND).await;
        contact.record(Instant::now());
        let _ = lost.await;
        // Margin 5 s: 15 s after the contact made at 10 s.
        assert_eq!(Instant::now() - start, 25 * SECOND);
    }
}
