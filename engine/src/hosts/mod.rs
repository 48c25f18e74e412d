//! Hosts: the live fleet. Heartbeats update the in-memory registry and are
//! told to subscribers at once; health follows from silence; the registry
//! is written to the database behind, in batches, and reloaded at start.
//! GPU telemetry is kept as history, one sample per host and minute
//! (`telemetry.rs`, `history.rs`).

mod history;
mod registry;
mod telemetry;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use trainyard_core::host_query::page_of;
use trainyard_core::{
    FleetCounts, HealthThresholds, Heartbeat, HostHealth, HostQuery, HostView, HostsPage,
};

use crate::clock::Clock;
use crate::error::EngineError;
use crate::events::{BusEvent, EventBus};
use crate::store::Store;
use registry::{to_row, HostRegistry};
use telemetry::{minute_of, TelemetryBuffer};

/// The fleet domain.
pub(crate) struct Hosts {
    registry: Mutex<HostRegistry>,
    /// Serializes flushes with deletions so a flush can't resurrect a removed host.
    persist: tokio::sync::Mutex<()>,
    store: Store,
    bus: Arc<EventBus>,
    clock: Clock,
    thresholds: HealthThresholds,
    /// Each host's telemetry is written at most this often.
    snapshot_interval: Duration,
    /// The fleet's numbers as last published (`fleet` events).
    published_counts: Mutex<Option<FleetCounts>>,
    /// Replaced heartbeats whose strings and lists the next heartbeats are
    /// parsed into (see [`Hosts::spare_heartbeat`]).
    spares: Mutex<Vec<Heartbeat>>,
    /// Telemetry minutes not yet written (see `telemetry.rs`).
    telemetry: Mutex<TelemetryBuffer>,
    /// The hour (since the epoch) old telemetry was last deleted in.
    pruned_hour: Mutex<Option<i64>>,
}

/// Most spare heartbeats kept (each ~30 small buffers with 8 GPUs).
const MAX_SPARES: usize = 64;

impl Hosts {
    /// The fleet as stored, with health from each host's last heartbeat.
    pub async fn load(
        store: Store,
        bus: Arc<EventBus>,
        clock: Clock,
        thresholds: HealthThresholds,
        snapshot_interval: Duration,
    ) -> Result<Hosts, EngineError> {
        let rows = store.list_hosts().await?;
        let registry = HostRegistry::from_rows(rows, clock.now(), clock.now_ms(), &thresholds);
        Ok(Hosts {
            registry: Mutex::new(registry),
            persist: tokio::sync::Mutex::new(()),
            store,
            bus,
            clock,
            thresholds,
            snapshot_interval,
            published_counts: Mutex::new(None),
            spares: Mutex::new(Vec::with_capacity(MAX_SPARES)),
            telemetry: Mutex::new(TelemetryBuffer::default()),
            pruned_hour: Mutex::new(None),
        })
    }

    fn registry(&self) -> MutexGuard<'_, HostRegistry> {
        // A panic while holding the lock leaves a consistent map (every
        // mutation is a single insert/remove), so poisoning is ignored.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn telemetry_buffer(&self) -> MutexGuard<'_, TelemetryBuffer> {
        // Every mutation leaves the buffer whole, so poisoning is ignored.
        self.telemetry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn thresholds(&self) -> &HealthThresholds {
        &self.thresholds
    }

    /// Checks and records a heartbeat, and tells subscribers. Returns the
    /// server time it was recorded at.
    pub fn ingest_heartbeat(&self, hb: Heartbeat) -> Result<i64, EngineError> {
        EngineError::check_protocol(hb.protocol_version)?;
        hb.validate()?;
        let now = self.clock.now_ms();
        self.telemetry_buffer()
            .record(&hb.host_id, minute_of(now), &hb.gpus);
        let (view, replaced) = self.registry().record(hb, self.clock.now(), now);
        // The view this heartbeat replaced is unshared when the replay ring
        // no longer holds it (large fleets); otherwise the ring lets go of
        // an older one now. Either is recycled after the locks.
        if let Some(old) = replaced {
            self.recycle(old);
        }
        if let Some(BusEvent::Device(old)) = self.bus.publish(BusEvent::Device(view)) {
            self.recycle(old);
        }
        Ok(now)
    }

    /// An old heartbeat to parse the next one into with
    /// `Heartbeat::deserialize_reusing`, so its strings and lists need no
    /// new allocations; an empty one when none is spare.
    pub fn spare_heartbeat(&self) -> Heartbeat {
        self.spares
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    /// Keeps a host view nobody else holds as a spare heartbeat, if there is
    /// room; frees it otherwise.
    fn recycle(&self, view: Arc<HostView>) {
        let Ok(view) = Arc::try_unwrap(view) else {
            return;
        };
        let spare = view.into_heartbeat();
        let mut spares = self.spares.lock().unwrap_or_else(PoisonError::into_inner);
        if spares.len() < MAX_SPARES {
            spares.push(spare);
            return;
        }
        drop(spares);
        drop(spare);
    }

    /// Every known host with its current health, ordered by id. Shared
    /// with the registry, not copied: a deep copy of a large fleet (10,000
    /// hosts × 8 GPUs) under the registry lock once stalled every heartbeat
    /// for ~100 ms each second.
    pub fn snapshot(&self) -> Vec<Arc<HostView>> {
        self.refresh_health();
        self.registry().snapshot()
    }

    /// Every known host's id, ordered.
    pub fn ids(&self) -> Vec<String> {
        self.registry().ids()
    }

    /// Every known host, copied (for answers that own their hosts).
    pub fn list(&self) -> Vec<HostView> {
        self.snapshot().iter().map(|h| HostView::clone(h)).collect()
    }

    /// One page of the hosts `query` selects. The registry lock is held only
    /// to take the snapshot; filtering and copying the page happen after.
    pub fn page(&self, query: &HostQuery) -> HostsPage {
        page_of(&self.snapshot(), query)
    }

    /// Fleet numbers for the Dashboard.
    pub fn counts(&self) -> FleetCounts {
        FleetCounts::of(self.snapshot().iter().map(|h| &**h))
    }

    /// Publishes the fleet's numbers if they changed since last time. Called
    /// on the health tick, so browsers get at most two `fleet` events a
    /// second however many hosts report.
    pub fn publish_counts(&self) {
        let counts = FleetCounts::of(self.registry().snapshot().iter().map(|h| &**h));
        let mut published = self
            .published_counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if *published != Some(counts) {
            *published = Some(counts);
            self.bus.publish(BusEvent::Fleet(counts));
        }
    }

    /// One host's latest view and current health.
    pub fn view(&self, host_id: &str) -> Option<(Arc<HostView>, HostHealth)> {
        self.registry()
            .host(host_id, self.clock.now(), &self.thresholds)
    }

    /// Removes a disconnected host and everything stored about it.
    pub async fn remove(&self, host_id: &str) -> Result<(), EngineError> {
        let _persist = self.persist.lock().await;
        {
            let mut registry = self.registry();
            match registry.health(host_id, self.clock.now(), &self.thresholds) {
                None => return Err(EngineError::HostNotFound(host_id.to_string())),
                Some(HostHealth::Disconnected) => {}
                Some(health) => {
                    return Err(EngineError::HostNotDisconnected {
                        host_id: host_id.to_string(),
                        health,
                    })
                }
            }
            registry.remove(host_id);
        }
        self.store.delete_host(host_id).await?;
        self.telemetry_buffer().forget(host_id);
        self.store.delete_host_telemetry(host_id).await?;
        self.bus
            .publish(BusEvent::DeviceRemoved(host_id.to_string()));
        Ok(())
    }

    /// Re-derives health from silence and publishes hosts whose health changed.
    pub fn refresh_health(&self) {
        let changed = self
            .registry()
            .refresh_health(self.clock.now(), &self.thresholds);
        for host in changed {
            tracing::info!(host = %host.host_id, health = host.health.label(), "host health changed");
            self.bus.publish(BusEvent::Device(host));
        }
    }

    /// Writes changed hosts whose last write is older than the snapshot
    /// interval (and new hosts) to the database.
    pub async fn flush(&self) -> Result<usize, EngineError> {
        self.write(self.snapshot_interval).await
    }

    /// Writes every changed host, however recently it was written.
    pub async fn flush_all(&self) -> Result<usize, EngineError> {
        self.write(Duration::ZERO).await
    }

    async fn write(&self, every: Duration) -> Result<usize, EngineError> {
        let _persist = self.persist.lock().await;
        let due = self.registry().take_due(self.clock.now(), every);
        // Serialized outside the registry lock and off the async workers, so
        // heartbeats are not held up by a large flush (10,000 new hosts).
        let rows = tokio::task::spawn_blocking(move || {
            due.iter().map(|view| to_row(view)).collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!("serializing hosts for the database failed: {e}");
            Vec::new()
        });
        if let Err(e) = self.store.upsert_hosts(&rows).await {
            self.registry()
                .mark_unwritten(rows.into_iter().map(|r| r.host_id));
            return Err(e);
        }
        self.write_telemetry(every.is_zero()).await?;
        Ok(rows.len())
    }
}
