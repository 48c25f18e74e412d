//! What the job tests share: a fake server and work dir per test, a shell
//! job, and ways to end the agent.

use std::path::PathBuf;
use std::time::Duration;

use trainyard_agent::{AgentSettings, GpuSource};
use trainyard_core::work::{Assignment, AttemptRef, FinishedReport};

use super::{Answer, FakeServer, FAST_BACKOFF};

/// A lease long enough that no test runs into it.
const LONG_LEASE_MS: u64 = 600_000;

/// One test's agent, server and work directory.
pub struct Setup {
    pub server: FakeServer,
    pub work_dir: tempfile::TempDir,
}

impl Setup {
    pub async fn new() -> Self {
        let work_dir = tempfile::tempdir().expect("a temp dir");
        Self {
            server: FakeServer::start(Answer::Accept).await,
            work_dir,
        }
    }

    pub fn config(&self) -> AgentSettings {
        let mut config = AgentSettings::new(&self.server.url, "test-gpu-01")
            .with_kill_grace(Duration::from_secs(5));
        config.heartbeat_interval = Duration::from_millis(50);
        config.gpus = GpuSource::Fake(2);
        config.backoff = FAST_BACKOFF;
        config.work_dir = self.work_dir.path().to_path_buf();
        config.supervisor = Some(env!("CARGO_BIN_EXE_trainyard-agent").into());
        config
    }

    pub fn run_dir(&self, attempt: AttemptRef) -> PathBuf {
        self.work_dir
            .path()
            .join("runs")
            .join(format!("{}-{}", attempt.job_id, attempt.attempt))
    }

    pub fn local_log(&self, attempt: AttemptRef) -> Vec<u8> {
        std::fs::read(self.run_dir(attempt).join("output.log")).unwrap_or_default()
    }

    pub fn offer(&self, assignment: Assignment) -> AttemptRef {
        let attempt = attempt_of(&assignment);
        self.server.work(|w| w.offer(assignment));
        attempt
    }

    pub async fn finished(&self, attempt: AttemptRef) -> FinishedReport {
        self.server
            .wait_until("the finished report", |w| w.finished.get(&attempt).cloned())
            .await
    }

    pub async fn log_contains(&self, attempt: AttemptRef, text: &str) {
        self.server
            .wait_until(&format!("{text:?} in the server's log"), |w| {
                w.log_text(attempt).contains(text).then_some(())
            })
            .await;
    }

    pub async fn pid(&self, attempt: AttemptRef) -> u32 {
        self.server
            .wait_until("the started report", |w| {
                w.started.get(&attempt).and_then(|s| s.pid)
            })
            .await
    }

    /// Tells a job waiting on `wait_for_go` to go on.
    pub fn go(&self, attempt: AttemptRef) {
        let path = self.run_dir(attempt).join("go");
        std::fs::write(&path, b"").expect("the run dir is writable");
    }
}

fn attempt_of(assignment: &Assignment) -> AttemptRef {
    AttemptRef {
        job_id: assignment.job_id,
        attempt: assignment.attempt,
    }
}

pub fn job(job_id: i64, script: &str, gpus: Vec<u32>) -> Assignment {
    Assignment {
        job_id,
        attempt: 1,
        project: "vision".into(),
        name: format!("job-{job_id}"),
        command: vec!["sh".into(), "-c".into(), script.into()],
        workdir: None,
        config_yaml: "optimizer:\n  lr: 0.1\nlayers: [1, 2]\n".into(),
        gpu_indices: gpus,
        timeout_secs: None,
        lease_ms: LONG_LEASE_MS,
        fence: false,
        serve: None,
        resume: false,
    }
}

/// Shell that waits for the test to create `go` in the run dir.
pub const WAIT_FOR_GO: &str = r#"while [ ! -e "$TRAINYARD_RUN_DIR/go" ]; do sleep 0.02; done"#;
