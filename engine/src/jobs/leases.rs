//! Lease expiry: an attempt whose agent stopped renewing is lost, and
//! requeued while retries remain.

use super::Scheduler;

impl Scheduler {
    /// Marks attempts with expired leases lost. Called about twice a second.
    pub async fn expire_leases(&self) {
        let mut queue = self.queue.lock().await;
        let expired = queue.expired(self.clock.now());
        if expired.is_empty() {
            return;
        }
        let now_ms = self.clock.now_ms();
        let changes = expired
            .into_iter()
            .filter_map(|id| queue.get(id))
            .map(|job| job.lose("lease expired: no word from its agent", now_ms))
            .collect();
        if let Err(e) = self.commit(&mut queue, changes).await {
            tracing::error!("could not record lost jobs (will retry): {e}");
            return;
        }
        drop(queue);
        self.work.notify_waiters();
    }
}
