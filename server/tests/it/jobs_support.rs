//! Helpers for tests that run jobs through real agents: a server with an
//! agent, submitting configs, waiting for a job's status, reading its log.

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use trainyard_agent::{AgentSettings, GpuSource};
use trainyard_core::protocol::paths;
use trainyard_core::{JobDetail, JobStatus, SubmitResult};

use crate::harness::{config, get_json, until, TestServer, KEY};
use crate::killable::{KillableAgent, KillableServer};

pub fn agent_config(url: String, host: &str, gpus: u32, work_dir: &Path) -> AgentSettings {
    let mut c = AgentSettings::new(url, host);
    c.gpus = GpuSource::Fake(gpus);
    c.heartbeat_interval = Duration::from_millis(100);
    c.token = Some(KEY.into());
    c.work_dir = work_dir.to_path_buf();
    c.supervisor = Some(env!("CARGO_BIN_EXE_trainyard").into());
    c.with_kill_grace(Duration::from_secs(2))
}

pub async fn submit(base: &str, yaml: &str) -> SubmitResult {
    submit_to(base, KEY, yaml).await
}

/// Submits `yaml` to the server at `base` with its API key `key`.
pub async fn submit_to(base: &str, key: &str, yaml: &str) -> SubmitResult {
    let answer = reqwest::Client::new()
        .post(format!("{base}{}", paths::experiments()))
        .bearer_auth(key)
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
        .get(format!("{base}{}", paths::job_log(id)))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request is sent")
        .text()
        .await
        .unwrap_or_default()
}

/// Waits until job `id` has status `want`; fails after 20 s, printing the
/// job as it was last seen.
pub async fn wait_status(base: &str, id: i64, want: JobStatus) -> JobDetail {
    let last = Mutex::new(String::new());
    let _report = PrintOnPanic(&last);
    until(&format!("job {id} {want}"), || async {
        let detail: JobDetail = get_json(base, &paths::job(id)).await;
        if detail.job.status == want {
            return Some(detail);
        }
        *last.lock().unwrap_or_else(PoisonError::into_inner) = format!("{detail:?}");
        None
    })
    .await
}

/// Prints what a failed wait last saw.
struct PrintOnPanic<'a>(&'a Mutex<String>);

impl Drop for PrintOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            eprintln!("last seen: {last}");
        }
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
    trainyard_server::ServeSettings,
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
