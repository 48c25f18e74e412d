//! Helpers for tests that run jobs through real agents: a server with an
//! agent, submitting configs, waiting for a job's status, reading its log.

use std::path::Path;
use std::time::Duration;

use trainyard_agent::{AgentConfig, GpuSource};
use trainyard_core::{JobDetail, JobStatus, SubmitResult};

use crate::harness::{config, TestServer, KEY};
use crate::killable::{KillableAgent, KillableServer};

pub fn agent_config(url: String, host: &str, gpus: u32, work_dir: &Path) -> AgentConfig {
    let mut c = AgentConfig::new(url, host);
    c.gpus = GpuSource::Fake(gpus);
    c.heartbeat_interval = Duration::from_millis(100);
    c.token = Some(KEY.into());
    c.work_dir = work_dir.to_path_buf();
    c.with_kill_grace(Duration::from_secs(2))
}

pub async fn get<T: serde::de::DeserializeOwned>(base: &str, path: &str) -> T {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

pub async fn submit(base: &str, yaml: &str) -> SubmitResult {
    let answer = reqwest::Client::new()
        .post(format!("{base}/api/v1/experiments"))
        .bearer_auth(KEY)
        .body(yaml.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("submit: {e}"));
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap_or_default()
    );
    answer.json().await.expect("the answer is JSON")
}

pub async fn log_of(base: &str, id: i64) -> String {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/jobs/{id}/log"))
        .bearer_auth(KEY)
        .send()
        .await.expect("the request is sent")
        .text()
        .await
        .unwrap_or_default()
}

/// Polls `probe` every 20 ms until it yields a value; fails after 20 s.
pub async fn until<T, Fut: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut probe: impl FnMut() -> Fut,
) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn wait_status(base: &str, id: i64, want: JobStatus) -> JobDetail {
    let last = std::sync::Mutex::new(String::new());
    let last_ref = &last;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let detail: JobDetail = get(base, &format!("/api/v1/jobs/{id}")).await;
        if detail.job.status == want {
            return detail;
        }
        *last_ref
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = format!("{detail:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for job {id} {want}; last seen: {}",
            last.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A server on `dir` and one agent "gpu-a" with `gpus` fake GPUs.
pub async fn server_with_agent(dir: &Path, gpus: u32) -> (TestServer, String, KillableAgent) {
    let server = TestServer::start(config(dir, Some(KEY), Default::default())).await;
    let base = server.url("");
    let agent = KillableAgent::start(agent_config(
        base.clone(),
        "gpu-a",
        gpus,
        &dir.join("agent"),
    ));
    (server, base, agent)
}

/// A server that can be killed and started again on the same port, on
/// `dir`, and one agent "gpu-a" with one fake GPU. Returns the config to
/// restart it with and the base URL.
pub async fn killable_server_with_agent(
    dir: &Path,
) -> (
    trainyard_server::ServeConfig,
    KillableServer,
    String,
    KillableAgent,
) {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = probe.local_addr().expect("local addr");
    drop(probe);
    let mut cfg = config(dir, Some(KEY), Default::default());
    cfg.addr = addr;
    let server = KillableServer::start(cfg.clone()).await;
    let base = format!("http://{}", server.addr);
    let agent = KillableAgent::start(agent_config(base.clone(), "gpu-a", 1, &dir.join("agent")));
    (cfg, server, base, agent)
}
