//! Lease expiry: an attempt whose agent stopped renewing is lost, and
//! requeued while retries remain.

use std::time::Instant;

use crate::clock::now_ms;
use crate::engine::Engine;

impl Engine {
    /// Marks attempts with expired leases lost. Called by the monitor.
    pub async fn expire_leases(&self) {
        let mut table = self.job_table().await;
        let expired = table.expired(Instant::now());
        if expired.is_empty() {
            return;
        }
        let now = now_ms();
        let changes = expired
            .into_iter()
            .filter_map(|id| table.get(id))
            .map(|live| self.lose(live, now, "lease expired: no word from its agent"))
            .collect();
        if let Err(e) = self.commit(&mut table, changes).await {
            tracing::error!("could not record lost jobs (will retry): {e}");
            return;
        }
        drop(table);
        self.jobs_state().work.notify_waiters();
    }
}
