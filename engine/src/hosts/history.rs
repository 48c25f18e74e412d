//! Telemetry history: writing closed minutes, deleting old ones, and the
//! windows the Devices cards and the Dashboard draw.

use std::sync::PoisonError;

use trainyard_core::{FleetTelemetry, HostHealth, HostTelemetry, TelemetryWindow};

use super::telemetry::{bucketize, minute_of, window_start, RETENTION_MINUTES};
use super::Hosts;
use crate::error::EngineError;

/// Hosts the Dashboard's fleet telemetry shows at most.
pub const FLEET_TELEMETRY_HOSTS: usize = 24;

impl Hosts {
    /// Writes the minutes due (with `partial`, the open ones too: shutdown)
    /// and, once an hour, deletes minutes older than the retention.
    pub(super) async fn write_telemetry(&self, partial: bool) -> Result<(), EngineError> {
        let now_minute = minute_of(self.clock.now_ms());
        let rows = self.telemetry_buffer().take_due(now_minute, partial);
        if let Err(e) = self.store.insert_telemetry(&rows).await {
            self.telemetry_buffer().put_back(rows);
            return Err(e);
        }
        let hour = now_minute.div_euclid(60);
        let due = {
            let mut pruned = self
                .pruned_hour
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = *pruned != Some(hour);
            *pruned = Some(hour);
            due
        };
        if due {
            let hosts = self.store.telemetry_host_ids().await?;
            let deleted = self
                .store
                .prune_telemetry(&hosts, now_minute - RETENTION_MINUTES)
                .await?;
            if deleted > 0 {
                tracing::debug!(deleted, "old telemetry minutes deleted");
            }
        }
        Ok(())
    }

    /// One host's GPUs over a window; an unknown host is `HostNotFound`.
    pub async fn telemetry(
        &self,
        host_id: &str,
        window: TelemetryWindow,
    ) -> Result<HostTelemetry, EngineError> {
        if self.view(host_id).is_none() {
            return Err(EngineError::HostNotFound(host_id.to_string()));
        }
        self.history(host_id, window).await
    }

    async fn history(
        &self,
        host_id: &str,
        window: TelemetryWindow,
    ) -> Result<HostTelemetry, EngineError> {
        let now_minute = minute_of(self.clock.now_ms());
        let since = window_start(window, now_minute);
        let mut rows = self.store.host_telemetry(host_id, since).await?;
        rows.extend(self.telemetry_buffer().pending(host_id, since));
        Ok(bucketize(host_id, window, now_minute, rows))
    }

    /// The load of hosts with GPUs over a window (healthy ones first, then
    /// by id, at most [`FLEET_TELEMETRY_HOSTS`]), for the Dashboard.
    pub async fn fleet_telemetry(
        &self,
        window: TelemetryWindow,
    ) -> Result<FleetTelemetry, EngineError> {
        let mut hosts: Vec<_> = self
            .snapshot()
            .into_iter()
            .filter(|h| !h.gpus.is_empty())
            .collect();
        // Stable: within a health state the registry's id order stays.
        hosts.sort_by_key(|h| match h.health {
            HostHealth::Healthy => 0,
            HostHealth::Stale => 1,
            HostHealth::Disconnected => 2,
        });
        let more_hosts = hosts.len().saturating_sub(FLEET_TELEMETRY_HOSTS);
        let mut loads = Vec::with_capacity(hosts.len().min(FLEET_TELEMETRY_HOSTS));
        for host in hosts.iter().take(FLEET_TELEMETRY_HOSTS) {
            loads.push(self.history(&host.host_id, window).await?.load());
        }
        let now_minute = minute_of(self.clock.now_ms());
        Ok(FleetTelemetry {
            window,
            start_ms: window_start(window, now_minute) * 60_000,
            bucket_ms: window.bucket_minutes() * 60_000,
            hosts: loads,
            more_hosts,
        })
    }
}
