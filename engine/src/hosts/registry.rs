//! Live state of every host, in memory.
//!
//! Heartbeats land here first and are persisted in batches (see
//! `Hosts::flush`), so ingest costs a map update, not a disk write. Health is
//! computed from monotonic time since the last heartbeat.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trainyard_core::{HealthThresholds, Heartbeat, HostHealth, HostView};

use crate::store::HostRow;

struct HostEntry {
    /// Shared so a flush can take it under the lock and serialize it after.
    view: Arc<HostView>,
    /// When the last heartbeat arrived; `None` for hosts loaded from disk
    /// whose silence began before this process could measure it.
    last_seen: Option<Instant>,
    /// Silence already elapsed when the host was loaded from disk.
    silence_at_load: Duration,
    /// Changed since it was last written to disk.
    dirty: bool,
    /// When it was last written; `None` if never (written at the next flush).
    persisted_at: Option<Instant>,
}

impl HostEntry {
    fn silence(&self, now: Instant) -> Duration {
        match self.last_seen {
            Some(seen) => now.saturating_duration_since(seen),
            None => self.silence_at_load,
        }
    }
}

/// All known hosts.
#[derive(Default)]
pub(crate) struct HostRegistry {
    hosts: HashMap<String, HostEntry>,
}

impl HostRegistry {
    /// Rebuilds the registry from stored rows; `now_ms` is the server's wall clock.
    pub fn from_rows(
        rows: Vec<HostRow>,
        loaded_at: Instant,
        now_ms: i64,
        thresholds: &HealthThresholds,
    ) -> HostRegistry {
        let mut hosts = HashMap::with_capacity(rows.len());
        for row in rows {
            let heartbeat: Option<Heartbeat> = serde_json::from_str(&row.last_heartbeat)
                .map_err(|e| {
                    tracing::warn!(
                        "host {}: stored heartbeat unreadable ({e}); showing it without telemetry",
                        row.host_id
                    )
                })
                .ok();
            let silence =
                Duration::from_millis(u64::try_from(now_ms - row.last_seen_ms).unwrap_or(0));
            let health = thresholds.classify(silence);
            let (system, gpus, gpu_error) = heartbeat
                .map(|h| (h.system, h.gpus, h.gpu_error))
                .unwrap_or_default();
            let view = HostView {
                host_id: row.host_id.clone(),
                hostname: row.hostname,
                agent_version: row.agent_version,
                health,
                last_seen_ms: row.last_seen_ms,
                first_seen_ms: row.first_seen_ms,
                system,
                gpus,
                gpu_error,
            };
            hosts.insert(
                row.host_id,
                HostEntry {
                    view: Arc::new(view),
                    last_seen: None,
                    silence_at_load: silence,
                    dirty: false,
                    // Just read from disk: the row is current.
                    persisted_at: Some(loaded_at),
                },
            );
        }
        HostRegistry { hosts }
    }

    /// Records a validated heartbeat received at `now`/`now_ms`; returns the host's new view.
    pub fn record(&mut self, hb: Heartbeat, now: Instant, now_ms: i64) -> Arc<HostView> {
        let previous = self.hosts.get(&hb.host_id);
        let first_seen_ms = previous.map_or(now_ms, |e| e.view.first_seen_ms);
        let persisted_at = previous.and_then(|e| e.persisted_at);
        let view = HostView {
            host_id: hb.host_id.clone(),
            hostname: hb.hostname,
            agent_version: hb.agent_version,
            health: HostHealth::Healthy,
            last_seen_ms: now_ms,
            first_seen_ms,
            system: hb.system,
            gpus: hb.gpus,
            gpu_error: hb.gpu_error,
        };
        let view = Arc::new(view);
        let entry = HostEntry {
            view: view.clone(),
            last_seen: Some(now),
            silence_at_load: Duration::ZERO,
            dirty: true,
            persisted_at,
        };
        self.hosts.insert(hb.host_id, entry);
        view
    }

    /// Re-derives every host's health; returns the views whose health changed.
    pub fn refresh_health(
        &mut self,
        now: Instant,
        thresholds: &HealthThresholds,
    ) -> Vec<Arc<HostView>> {
        let mut changed = Vec::new();
        for entry in self.hosts.values_mut() {
            let health = thresholds.classify(entry.silence(now));
            if health != entry.view.health {
                Arc::make_mut(&mut entry.view).health = health;
                changed.push(entry.view.clone());
            }
        }
        changed
    }

    /// Current health of one host.
    pub fn health(
        &self,
        host_id: &str,
        now: Instant,
        thresholds: &HealthThresholds,
    ) -> Option<HostHealth> {
        self.hosts
            .get(host_id)
            .map(|e| thresholds.classify(e.silence(now)))
    }

    /// One host's latest view and its current health.
    pub fn host(
        &self,
        host_id: &str,
        now: Instant,
        thresholds: &HealthThresholds,
    ) -> Option<(Arc<HostView>, HostHealth)> {
        self.hosts
            .get(host_id)
            .map(|e| (e.view.clone(), thresholds.classify(e.silence(now))))
    }

    pub fn remove(&mut self, host_id: &str) -> bool {
        self.hosts.remove(host_id).is_some()
    }

    /// Every host's latest view, in no particular order. Only pointers are
    /// copied, so the lock is held for microseconds even with 10,000 hosts;
    /// sorting and any deep copy are the caller's, after the lock.
    pub fn views(&self) -> Vec<Arc<HostView>> {
        self.hosts.values().map(|e| e.view.clone()).collect()
    }

    /// Hosts due to be written: changed, and never written or last written
    /// at least `every` ago (all changed hosts when `every` is zero). Marks
    /// them written. Cheap: callers serialize after releasing the lock.
    pub fn take_due(&mut self, now: Instant, every: Duration) -> Vec<Arc<HostView>> {
        let mut due = Vec::new();
        for entry in self.hosts.values_mut().filter(|e| e.dirty) {
            let is_due = entry
                .persisted_at
                .is_none_or(|at| now.saturating_duration_since(at) >= every);
            if is_due {
                entry.dirty = false;
                entry.persisted_at = Some(now);
                due.push(entry.view.clone());
            }
        }
        due
    }

    /// Marks hosts unwritten again after a failed flush, so the next one retries them.
    pub fn mark_unwritten(&mut self, host_ids: impl IntoIterator<Item = String>) {
        for id in host_ids {
            if let Some(entry) = self.hosts.get_mut(&id) {
                entry.dirty = true;
                entry.persisted_at = None;
            }
        }
    }
}

/// The stored form of a host.
pub(crate) fn to_row(view: &HostView) -> HostRow {
    let heartbeat = Heartbeat {
        protocol_version: trainyard_core::PROTOCOL_VERSION,
        host_id: view.host_id.clone(),
        hostname: view.hostname.clone(),
        agent_version: view.agent_version.clone(),
        system: view.system.clone(),
        gpus: view.gpus.clone(),
        gpu_error: view.gpu_error.clone(),
    };
    HostRow {
        host_id: view.host_id.clone(),
        hostname: view.hostname.clone(),
        agent_version: view.agent_version.clone(),
        first_seen_ms: view.first_seen_ms,
        last_seen_ms: view.last_seen_ms,
        last_heartbeat: serde_json::to_string(&heartbeat).unwrap_or_else(|_| "{}".into()),
    }
}
