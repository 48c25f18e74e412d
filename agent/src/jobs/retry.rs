//! Backoff between failed requests of one attempt (its reports, its run
//! files), logged once per outage rather than once per try.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use trainyard_core::work::AttemptRef;

use crate::backoff::BackoffPolicy;
use crate::http::response::Verdict;

/// Counts consecutive failures and sleeps the policy's jittered wait.
pub(crate) struct Retry {
    policy: BackoffPolicy,
    attempt: AttemptRef,
    /// What is being delivered, for log lines ("job reports", "run files").
    what: &'static str,
    failures: u32,
    rng: SmallRng,
}

impl Retry {
    pub fn new(policy: BackoffPolicy, attempt: AttemptRef, what: &'static str) -> Self {
        Self {
            policy,
            attempt,
            what,
            failures: 0,
            rng: SmallRng::from_os_rng(),
        }
    }

    /// A request got through: the next failure starts a new outage.
    pub fn reset(&mut self) {
        if self.failures > 0 {
            tracing::info!(attempt = ?self.attempt, "{} reach the server again", self.what);
        }
        self.failures = 0;
    }

    /// Waits before the next try after a failure described by `verdict`.
    pub async fn wait(&mut self, verdict: Verdict) {
        let why = match &verdict {
            Verdict::Accepted => String::new(),
            Verdict::Rejected(m) | Verdict::Transient(m) => m.clone(),
            Verdict::Fatal(e) => e.to_string(),
        };
        let what = self.what;
        if self.failures == 0 {
            tracing::warn!(attempt = ?self.attempt, "cannot deliver {what} ({why}); the job keeps running and they are retried");
        } else {
            tracing::debug!(attempt = ?self.attempt, failures = self.failures, "{what} still not delivered: {why}");
        }
        let delay = self.policy.delay(self.failures, self.rng.random());
        self.failures = self.failures.saturating_add(1);
        tokio::time::sleep(delay).await;
    }
}
