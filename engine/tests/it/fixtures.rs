use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use trainyard_core::work::{AttemptRef, PollRequest};
use trainyard_core::SubmitOptions;
use trainyard_core::{GpuStats, HealthThresholds, Heartbeat, SystemStats, PROTOCOL_VERSION};
use trainyard_engine::{Clock, Engine, EngineSettings};

/// An engine on a temp dir of its own (removed when the test ends) with an
/// in-memory database and a manual clock the test moves.
pub struct TestEngine {
    pub engine: Arc<Engine>,
    pub clock: Clock,
    _dir: TempDir,
}

impl Deref for TestEngine {
    type Target = Arc<Engine>;
    fn deref(&self) -> &Arc<Engine> {
        &self.engine
    }
}

/// A [`TestEngine`] whose settings `adjust` changes first.
pub async fn engine_with_settings(adjust: impl FnOnce(&mut EngineSettings)) -> TestEngine {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Clock::manual();
    let mut settings = EngineSettings {
        in_memory_database: true,
        clock: clock.clone(),
        ..EngineSettings::new(dir.path())
    };
    adjust(&mut settings);
    let engine = Engine::open(settings).await.expect("the engine opens");
    TestEngine {
        engine: Arc::new(engine),
        clock,
        _dir: dir,
    }
}

/// Settings for an engine whose database and files live in `dir` (for
/// tests that restart it on the same data), on the system clock.
pub fn on_disk(dir: &Path) -> EngineSettings {
    EngineSettings::new(dir)
}

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

pub async fn engine(thresholds: HealthThresholds) -> TestEngine {
    engine_with_settings(|s| s.thresholds = thresholds).await
}

/// Polls `check` until it is true or the deadline passes.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// An engine whose database and files live in `dir`.
pub async fn open(dir: &Path) -> Engine {
    Engine::open(on_disk(dir)).await.expect("the engine opens")
}

/// A queued `gpus: 0` job.
pub async fn job(engine: &Engine) -> i64 {
    engine
        .submit("command: x\ngpus: 0\n", SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .id
}

/// A job running on host "h" as attempt 1.
pub async fn running_job(engine: &Engine) -> AttemptRef {
    engine
        .ingest_heartbeat(heartbeat("h", 0))
        .expect("the heartbeat is accepted");
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
        .expect("the poll is answered")
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
        .expect("the metric keys are listed")
        .into_iter()
        .find(|k| k.key == key)
        .map(|k| k.count)
}

/// A [`TestEngine`] with default settings.
pub async fn fresh() -> TestEngine {
    engine_with_settings(|_| {}).await
}
