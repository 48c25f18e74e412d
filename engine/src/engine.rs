//! The engine facade: what the HTTP layer and the UI call.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use trainyard_core::{
    protocol, FleetCounts, HealthThresholds, Heartbeat, HostHealth, HostView, ServerStatus,
};

use crate::clock::now_ms;
use crate::error::EngineError;
use crate::events::{BusEvent, EventBus};
use crate::files::{FileSettings, RunFiles};
use crate::jobs::{JobSettings, JobState};
use crate::metrics::MetricsState;
use crate::registry::{to_row, Registry};
use crate::runs::ProgressTracker;
use crate::store::Store;

/// How the engine is set up.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Where `trainyard.db` lives; `None` for a throwaway in-memory database.
    pub data_dir: Option<PathBuf>,
    pub thresholds: HealthThresholds,
    /// How often hosts changed since the last flush are considered for writing.
    pub flush_interval: Duration,
    /// Each host's telemetry is written at most this often (new hosts at the
    /// next flush, everything at shutdown): it only matters after a restart.
    pub snapshot_interval: Duration,
    pub jobs: JobSettings,
    pub files: FileSettings,
    /// CVLab-Kit style trees to index in place and watch (`--import-dir`).
    pub import_dirs: Vec<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            data_dir: None,
            thresholds: HealthThresholds::default(),
            flush_interval: Duration::from_secs(1),
            snapshot_interval: Duration::from_secs(30),
            jobs: JobSettings::default(),
            files: FileSettings::default(),
            import_dirs: Vec::new(),
        }
    }
}

/// Shared server state. Cheap to share behind an `Arc`.
pub struct Engine {
    config: EngineConfig,
    store: Store,
    registry: Mutex<Registry>,
    /// Serializes flushes with deletions so a flush can't resurrect a removed host.
    persist: tokio::sync::Mutex<()>,
    bus: EventBus,
    jobs: JobState,
    metrics: MetricsState,
    progress: ProgressTracker,
    files: RunFiles,
    /// One import scan at a time.
    import_lock: tokio::sync::Mutex<()>,
    started: Instant,
}

impl Engine {
    /// Opens the store, migrates it and loads the known hosts.
    pub async fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        let store = match &config.data_dir {
            Some(dir) => Store::open(dir).await?,
            None => Store::in_memory().await?,
        };
        let registry = Registry::from_rows(store.list_hosts().await?, now_ms(), &config.thresholds);
        let boot = format!("{:x}", now_ms());
        // Throwaway engines (tests) still need real files for output and
        // metrics, and their own: two may open in the same millisecond.
        static THROWAWAY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let instance = THROWAWAY.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let files_dir = |name: &str| match &config.data_dir {
            Some(dir) => dir.join(name),
            None => std::env::temp_dir().join(format!(
                "trainyard-{name}-{}-{boot}-{instance}",
                std::process::id()
            )),
        };
        let logs_dir = files_dir("logs");
        let metrics_dir = files_dir("metrics");
        let run_files = RunFiles::new(
            files_dir("runs"),
            files_dir("uploads"),
            config.files.clone(),
        );
        let engine = Engine {
            config,
            store,
            registry: Mutex::new(registry),
            persist: tokio::sync::Mutex::new(()),
            bus: EventBus::new(boot),
            jobs: JobState::new(logs_dir),
            metrics: MetricsState::new(metrics_dir),
            progress: ProgressTracker::default(),
            files: run_files,
            import_lock: tokio::sync::Mutex::new(()),
            started: Instant::now(),
        };
        engine.load_jobs().await?;
        Ok(engine)
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn jobs_state(&self) -> &JobState {
        &self.jobs
    }

    pub(crate) fn metrics(&self) -> &MetricsState {
        &self.metrics
    }

    pub(crate) fn progress_tracker(&self) -> &ProgressTracker {
        &self.progress
    }

    pub(crate) fn run_files_store(&self) -> &RunFiles {
        &self.files
    }

    pub(crate) fn import_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.import_lock
    }

    /// One host's latest view and current health.
    pub(crate) fn host_view(
        &self,
        host_id: &str,
    ) -> Option<(std::sync::Arc<HostView>, HostHealth)> {
        self.registry()
            .host(host_id, Instant::now(), &self.config.thresholds)
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock leaves a consistent map (every
        // mutation is a single insert/remove), so poisoning is ignored.
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn events(&self) -> &EventBus {
        &self.bus
    }

    /// Checks and records a heartbeat, and tells subscribers. Returns the
    /// server time it was recorded at.
    pub fn ingest_heartbeat(&self, hb: Heartbeat) -> Result<i64, EngineError> {
        EngineError::check_protocol(hb.protocol_version)?;
        hb.validate()?;
        let now = now_ms();
        let view = self.registry().record(hb, Instant::now(), now);
        self.bus.publish(BusEvent::Device(view));
        Ok(now)
    }

    /// Every known host with its current health, ordered by id.
    pub fn hosts(&self) -> Vec<HostView> {
        self.refresh_health();
        self.registry().views()
    }

    /// Removes a disconnected host and everything stored about it.
    pub async fn remove_host(&self, host_id: &str) -> Result<(), EngineError> {
        let _persist = self.persist.lock().await;
        {
            let mut registry = self.registry();
            match registry.health(host_id, Instant::now(), &self.config.thresholds) {
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
        self.bus
            .publish(BusEvent::DeviceRemoved(host_id.to_string()));
        Ok(())
    }

    /// Re-derives health from silence and publishes hosts whose health changed.
    pub fn refresh_health(&self) {
        let changed = self
            .registry()
            .refresh_health(Instant::now(), &self.config.thresholds);
        for host in changed {
            tracing::info!(host = %host.host_id, health = host.health.label(), "host health changed");
            self.bus.publish(BusEvent::Device(host));
        }
    }

    /// Writes changed hosts whose last write is older than
    /// `snapshot_interval` (and new hosts) to the database.
    pub async fn flush(&self) -> Result<usize, EngineError> {
        self.write_hosts(self.config.snapshot_interval).await
    }

    /// Writes every changed host, however recently it was written.
    pub async fn flush_all(&self) -> Result<usize, EngineError> {
        self.write_hosts(Duration::ZERO).await
    }

    async fn write_hosts(&self, every: Duration) -> Result<usize, EngineError> {
        let _persist = self.persist.lock().await;
        let due = self.registry().take_due(Instant::now(), every);
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
        Ok(rows.len())
    }

    /// Writes everything and closes the database; call once at shutdown.
    pub async fn close(&self) {
        self.jobs.close();
        if let Err(e) = self.flush_all().await {
            tracing::error!("final flush failed: {e}");
        }
        self.store.close().await;
    }

    /// Dashboard numbers.
    pub fn status(&self, auth_required: bool) -> ServerStatus {
        let counts = FleetCounts::of(&self.hosts());
        ServerStatus {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            protocol_version: protocol::PROTOCOL_VERSION,
            server_time_ms: now_ms(),
            uptime_secs: self.started.elapsed().as_secs(),
            hosts_healthy: counts.healthy,
            hosts_stale: counts.stale,
            hosts_disconnected: counts.disconnected,
            gpus_total: counts.gpus_total,
            gpus_free: counts.gpus_free,
            auth_required,
            stale_after_secs: self.config.thresholds.stale_after.as_secs(),
            disconnected_after_secs: self.config.thresholds.disconnected_after.as_secs(),
        }
    }

    /// Server wall-clock time in Unix ms (what `last_seen_ms` is measured in).
    pub fn now_ms(&self) -> i64 {
        now_ms()
    }
}
