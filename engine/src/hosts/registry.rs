//! Live state of every host, in memory.
//!
//! Heartbeats land here first and are persisted in batches (see
//! `Hosts::flush`), so ingest costs a map update, not a disk write. Health is
//! computed from monotonic time since the last heartbeat.

use std::collections::BTreeMap;
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

/// All known hosts, ordered by id (so pages need no sort).
#[derive(Default)]
pub(crate) struct HostRegistry {
    hosts: BTreeMap<String, HostEntry>,
}

impl HostRegistry {
    /// Rebuilds the registry from stored rows; `now_ms` is the server's wall clock.
    pub fn from_rows(
        rows: Vec<HostRow>,
        loaded_at: Instant,
        now_ms: i64,
        thresholds: &HealthThresholds,
    ) -> HostRegistry {
        let mut hosts = BTreeMap::new();
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

    /// Records a validated heartbeat received at `now`/`now_ms`; returns the
    /// host's new view and the one it replaced, for the caller to drop after
    /// the lock (freeing a view is ~30 frees with 8 GPUs).
    pub fn record(
        &mut self,
        hb: Heartbeat,
        now: Instant,
        now_ms: i64,
    ) -> (Arc<HostView>, Option<Arc<HostView>>) {
        // A known host (every heartbeat but its first) is updated in place:
        // no copy of its id for the map's key.
        if let Some(entry) = self.hosts.get_mut(&hb.host_id) {
            let view = healthy_view(hb, now_ms, entry.view.first_seen_ms);
            let replaced = std::mem::replace(&mut entry.view, view);
            entry.last_seen = Some(now);
            entry.silence_at_load = Duration::ZERO;
            entry.dirty = true;
            return (entry.view.clone(), Some(replaced));
        }
        let key = hb.host_id.clone();
        let view = healthy_view(hb, now_ms, now_ms);
        let entry = HostEntry {
            view: view.clone(),
            last_seen: Some(now),
            silence_at_load: Duration::ZERO,
            dirty: true,
            persisted_at: None,
        };
        self.hosts.insert(key, entry);
        (view, None)
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

    /// Every host, ordered by id: shared pointers, so taking it under the
    /// lock costs a reference count per host, not a copy.
    pub fn snapshot(&self) -> Vec<Arc<HostView>> {
        self.hosts.values().map(|e| e.view.clone()).collect()
    }

    /// Every host's id, ordered.
    pub fn ids(&self) -> Vec<String> {
        self.hosts.keys().cloned().collect()
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

/// A host's view right after its heartbeat `hb` arrived at `now_ms`.
fn healthy_view(hb: Heartbeat, now_ms: i64, first_seen_ms: i64) -> Arc<HostView> {
    Arc::new(HostView {
        host_id: hb.host_id,
        hostname: hb.hostname,
        agent_version: hb.agent_version,
        health: HostHealth::Healthy,
        last_seen_ms: now_ms,
        first_seen_ms,
        system: hb.system,
        gpus: hb.gpus,
        gpu_error: hb.gpu_error,
    })
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

#[cfg(test)]
mod tests {
    use trainyard_core::{GpuStats, SystemStats, PROTOCOL_VERSION};

    use super::*;

    fn heartbeat(host_id: &str, gpus: u32) -> Heartbeat {
        Heartbeat {
            protocol_version: PROTOCOL_VERSION,
            host_id: host_id.into(),
            hostname: format!("{host_id}.lab"),
            agent_version: "0.1.0".into(),
            system: SystemStats::default(),
            gpus: (0..gpus)
                .map(|index| GpuStats {
                    index,
                    ..Default::default()
                })
                .collect(),
            gpu_error: None,
        }
    }

    #[test]
    fn listing_shares_the_views_instead_of_copying_them() {
        // A deep copy of every host under the lock stalled all heartbeats
        // (10,000 hosts: ~100 ms once a second); the list is pointers.
        let mut registry = HostRegistry::default();
        let t0 = Instant::now();
        let (recorded, _) = registry.record(heartbeat("a", 8), t0, 1_000);
        let listed = registry.snapshot();
        assert_eq!(listed.len(), 1);
        assert!(Arc::ptr_eq(&recorded, &listed[0]));
    }

    #[test]
    fn a_later_heartbeat_keeps_first_seen_and_the_write_schedule() {
        let mut registry = HostRegistry::default();
        let t0 = Instant::now();
        registry.record(heartbeat("a", 1), t0, 1_000);
        assert_eq!(registry.take_due(t0, Duration::from_secs(30)).len(), 1);

        let t1 = t0 + Duration::from_secs(3);
        let (view, replaced) = registry.record(heartbeat("a", 2), t1, 4_000);
        assert_eq!(replaced.map(|v| v.gpus.len()), Some(1));
        assert_eq!((view.first_seen_ms, view.last_seen_ms), (1_000, 4_000));
        assert_eq!(view.gpus.len(), 2);
        assert_eq!(registry.snapshot().len(), 1);
        // Written 3 s ago: changed, but not due again before 30 s.
        assert!(registry.take_due(t1, Duration::from_secs(30)).is_empty());
        let due = registry.take_due(t0 + Duration::from_secs(30), Duration::from_secs(30));
        assert_eq!(due.len(), 1);
        assert!(Arc::ptr_eq(&due[0], &view));
    }
}
