use std::time::{Duration, Instant};

use trainyard_core::{GpuStats, HealthThresholds, Heartbeat, SystemStats, PROTOCOL_VERSION};
use trainyard_engine::{Engine, EngineConfig};

pub fn heartbeat(host_id: &str, gpus: u32) -> Heartbeat {
    Heartbeat {
        protocol_version: PROTOCOL_VERSION,
        host_id: host_id.into(),
        hostname: format!("{host_id}.lab"),
        agent_version: "test".into(),
        system: SystemStats {
            cpu_percent: 10.0,
            cpu_count: 8,
            memory_used_bytes: 1 << 30,
            memory_total_bytes: 16 << 30,
            disk_used_bytes: 1 << 30,
            disk_total_bytes: 100 << 30,
        },
        gpus: (0..gpus)
            .map(|i| GpuStats {
                index: i,
                name: "Test GPU".into(),
                memory_total_bytes: 80 << 30,
                ..Default::default()
            })
            .collect(),
        gpu_error: None,
    }
}

/// Thresholds short enough for tests to watch transitions happen.
pub fn fast_thresholds() -> HealthThresholds {
    HealthThresholds {
        stale_after: Duration::from_millis(100),
        disconnected_after: Duration::from_millis(250),
    }
}

pub async fn engine(thresholds: HealthThresholds) -> Engine {
    Engine::open(EngineConfig {
        thresholds,
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("engine: {e}"))
}

/// Polls `check` until it is true or the deadline passes.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
