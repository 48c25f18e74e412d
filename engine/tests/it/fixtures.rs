use std::time::{Duration, Instant};

use std::path::Path;
use trainyard_core::{GpuStats, HealthThresholds, Heartbeat, SystemStats, PROTOCOL_VERSION};

use trainyard_core::work::{AttemptRef, PollRequest};
use trainyard_core::SubmitOptions;
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

/// An engine on `dir` (in memory when `None`).
pub async fn open(dir: Option<&Path>) -> Engine {
    Engine::open(EngineConfig {
        data_dir: dir.map(Path::to_path_buf),
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("engine: {e}"))
}

/// A queued `gpus: 0` job.
pub async fn job(engine: &Engine) -> i64 {
    engine
        .submit("command: x\ngpus: 0\n", SubmitOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .jobs[0]
        .id
}

/// A job running on host "h" as attempt 1.
pub async fn running_job(engine: &Engine) -> AttemptRef {
    engine
        .ingest_heartbeat(heartbeat("h", 0))
        .unwrap_or_else(|e| panic!("{e}"));
    let id = job(engine).await;
    let assigned = engine
        .poll(PollRequest {
            protocol_version: PROTOCOL_VERSION,
            host_id: "h".into(),
            free_gpus: vec![],
            free_cpu_slots: 1,
            free_job_slots: 10,
            running: vec![],
            wait_ms: 0,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .assign;
    assert_eq!(assigned.len(), 1);
    AttemptRef {
        job_id: id,
        attempt: 1,
    }
}

/// How many points job `job_id`'s series `key` has (`None`: no such series).
pub async fn point_count(engine: &Engine, job_id: i64, key: &str) -> Option<u64> {
    engine
        .metric_keys(job_id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|k| k.key == key)
        .map(|k| k.count)
}
