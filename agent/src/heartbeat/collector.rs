//! Builds heartbeats from the system sampler and the GPU reader.
//!
//! Reading sysinfo and NVML blocks (file reads, driver calls), so the async
//! side hands the work to tokio's blocking pool through [`SharedCollector`].

use std::sync::{Arc, Mutex, PoisonError};

use trainyard_core::{Heartbeat, PROTOCOL_VERSION};

use super::hostname::os_hostname;
use super::sanitize::truncate_text;
use super::system_stats::SystemSampler;
use crate::gpu::{open_reader, sanitize_gpus, GpuReader};
use crate::settings::AgentSettings;

/// Everything that stays alive between heartbeats.
pub(crate) struct Collector {
    host_id: String,
    hostname: String,
    system: SystemSampler,
    gpus: Box<dyn GpuReader>,
    /// Last GPU error logged, so a missing driver is reported once rather
    /// than on every heartbeat.
    logged_gpu_error: Option<String>,
}

impl Collector {
    /// Opens the GPU reader and starts CPU sampling. Blocking.
    pub fn open(config: &AgentSettings) -> Self {
        Self::with_reader(config, open_reader(&config.gpus))
    }

    fn with_reader(config: &AgentSettings, gpus: Box<dyn GpuReader>) -> Self {
        Self {
            host_id: config.host_id.clone(),
            hostname: os_hostname(),
            system: SystemSampler::new(config.work_dir.clone()),
            gpus,
            logged_gpu_error: None,
        }
    }

    /// One heartbeat describing the host right now. Blocking.
    pub fn collect(&mut self) -> Heartbeat {
        let system = self.system.sample();
        let (gpus, gpu_error) = match self.gpus.read() {
            Ok(gpus) => (sanitize_gpus(gpus), None),
            Err(e) => (Vec::new(), Some(truncate_text(e.to_string()))),
        };
        self.log_gpu_error_changes(gpu_error.as_deref());
        Heartbeat {
            protocol_version: PROTOCOL_VERSION,
            host_id: self.host_id.clone(),
            hostname: self.hostname.clone(),
            agent_version: env!("CARGO_PKG_VERSION").to_string(),
            system,
            gpus,
            gpu_error,
        }
    }

    fn log_gpu_error_changes(&mut self, current: Option<&str>) {
        if self.logged_gpu_error.as_deref() == current {
            return;
        }
        match current {
            Some(error) => tracing::warn!("GPU telemetry unavailable, reporting no GPUs: {error}"),
            None => tracing::info!("GPU telemetry available again"),
        }
        self.logged_gpu_error = current.map(str::to_string);
    }
}

/// A [`Collector`] the async heartbeat loop can use without blocking the
/// runtime. The mutex only ever has one user at a time; it exists so the
/// collector survives a panic inside a driver call instead of being lost
/// with the blocking task.
pub(crate) struct SharedCollector {
    inner: Arc<Mutex<Collector>>,
    host_id: String,
}

impl SharedCollector {
    /// Opens the collector on the blocking pool (loading NVML can take a
    /// moment). `None` only if that task panicked.
    pub async fn open(config: AgentSettings) -> Option<Self> {
        let host_id = config.host_id.clone();
        let collector = tokio::task::spawn_blocking(move || Collector::open(&config))
            .await
            .ok()?;
        Some(Self {
            inner: Arc::new(Mutex::new(collector)),
            host_id,
        })
    }

    /// A fresh heartbeat. If collection panicked, a heartbeat saying so is
    /// returned instead, so the host still shows up as alive.
    pub async fn collect(&self) -> Heartbeat {
        let inner = Arc::clone(&self.inner);
        let collected = tokio::task::spawn_blocking(move || {
            // A poisoned lock only means an earlier read panicked; the
            // samplers themselves are still usable.
            inner
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .collect()
        })
        .await;
        collected.unwrap_or_else(|e| {
            tracing::error!("collecting host stats failed: {e}");
            Heartbeat {
                protocol_version: PROTOCOL_VERSION,
                host_id: self.host_id.clone(),
                hostname: os_hostname(),
                agent_version: env!("CARGO_PKG_VERSION").to_string(),
                system: Default::default(),
                gpus: Vec::new(),
                gpu_error: Some("agent failed to collect stats; see the agent's log".into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::{FakeGpuReader, GpuReadError, NvmlReader, UnavailableGpuReader};
    use crate::settings::GpuSource;

    fn config(gpus: GpuSource) -> AgentSettings {
        let mut config = AgentSettings::new("http://127.0.0.1:1", "test-host");
        config.gpus = gpus;
        config
    }

    #[test]
    fn heartbeats_carry_identity_and_valid_stats() {
        let mut collector = Collector::with_reader(
            &config(GpuSource::Fake(2)),
            Box::new(FakeGpuReader::with_seed(2, 5)),
        );
        for _ in 0..5 {
            let heartbeat = collector.collect();
            assert_eq!(heartbeat.validate(), Ok(()), "{heartbeat:?}");
            assert_eq!(heartbeat.protocol_version, PROTOCOL_VERSION);
            assert_eq!(heartbeat.host_id, "test-host");
            assert_eq!(heartbeat.agent_version, env!("CARGO_PKG_VERSION"));
            assert_eq!(heartbeat.gpus.len(), 2);
            assert_eq!(heartbeat.gpu_error, None);
            assert!(heartbeat.system.memory_total_bytes > 0);
        }
    }

    #[test]
    fn a_host_without_nvml_reports_zero_gpus_and_says_why() {
        if NvmlReader::open().is_ok() {
            // A real GPU host: the missing-driver path cannot happen here.
            return;
        }
        let mut collector = Collector::open(&config(GpuSource::Nvml));
        for _ in 0..2 {
            let heartbeat = collector.collect();
            assert!(heartbeat.gpus.is_empty());
            let error = heartbeat.gpu_error.clone().unwrap_or_default();
            assert!(error.starts_with("NVML unavailable"), "{error:?}");
            assert_eq!(heartbeat.validate(), Ok(()));
        }
    }

    #[test]
    fn no_gpus_means_no_error_either() {
        let heartbeat = Collector::open(&config(GpuSource::None)).collect();
        assert!(heartbeat.gpus.is_empty());
        assert_eq!(heartbeat.gpu_error, None);
    }

    #[test]
    fn overlong_gpu_errors_are_truncated_to_a_valid_length() {
        let reader = UnavailableGpuReader::new(GpuReadError("x".repeat(10_000)));
        let heartbeat =
            Collector::with_reader(&config(GpuSource::Nvml), Box::new(reader)).collect();
        assert_eq!(heartbeat.validate(), Ok(()));
    }

    #[tokio::test]
    async fn the_shared_collector_works_from_async_code() {
        let shared = SharedCollector::open(config(GpuSource::Fake(1)))
            .await
            .expect("opening the collector does not panic");
        let heartbeat = shared.collect().await;
        assert_eq!(heartbeat.gpus.len(), 1);
    }
}
