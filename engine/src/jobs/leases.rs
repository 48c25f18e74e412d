//! Upkeep of unfinished jobs: lease expiry (an attempt whose agent stopped
//! renewing is lost, and requeued while retries remain), and republishing
//! queued jobs whose reason for waiting changed.

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

impl Engine {
    /// Publishes a `job` event for each queued job whose reason for waiting
    /// changed since it was last published (a host came or went). Called by
    /// the monitor about once a second.
    pub async fn refresh_waiting_reasons(&self) {
        let hosts = self.hosts();
        let fleet = super::waiting::FleetShape::of(&hosts);
        let table = self.job_table().await;
        let mut shown = self.jobs_state().shown_reasons();
        let mut changed = Vec::new();
        let mut still_queued = std::collections::HashSet::new();
        for live in table.queued() {
            let view = &live.row.view;
            still_queued.insert(view.id);
            let reason = super::waiting::explain(view, &fleet);
            if shown.get(&view.id) != Some(&reason) {
                shown.insert(view.id, reason.clone());
                let mut published = view.clone();
                published.reason = Some(reason);
                changed.push(published);
            }
        }
        shown.retain(|id, _| still_queued.contains(id));
        drop(shown);
        drop(table);
        for view in changed {
            self.events()
                .publish(crate::events::BusEvent::Job(std::sync::Arc::new(view)));
        }
    }
}
