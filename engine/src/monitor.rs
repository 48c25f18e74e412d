//! Background upkeep: health transitions and write-behind persistence.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::engine::Engine;

/// How often health is re-derived; bounds how late a "stale" shows up.
const HEALTH_TICK: Duration = Duration::from_millis(500);
/// How often queued jobs' reasons for waiting are re-derived.
const REASON_TICK: Duration = Duration::from_secs(1);

impl Engine {
    /// Runs health checks and periodic flushes until `shutdown`, then flushes
    /// once more and closes the store.
    pub async fn run_background(self: Arc<Self>, shutdown: impl Future<Output = ()>) {
        let mut health = tokio::time::interval(HEALTH_TICK);
        let mut flush = tokio::time::interval(self.config().flush_interval);
        let mut reasons = tokio::time::interval(REASON_TICK);
        reasons.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = health.tick() => {
                    self.refresh_health();
                    self.expire_leases().await;
                }
                _ = reasons.tick() => self.refresh_waiting_reasons().await,
                _ = flush.tick() => {
                    if let Err(e) = self.flush().await {
                        tracing::error!("could not save host state (will retry): {e}");
                    }
                }
            }
        }
        self.close().await;
    }
}
