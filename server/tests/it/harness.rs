//! Starting and stopping a server, and waiting for conditions.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use trainyard_core::{HealthThresholds, HostView, HostsPage};
use trainyard_server::{ApiKey, ServeSettings, ServerError};

pub const KEY: &str = "test-key-0123456789abcdef";

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

/// Thresholds short enough to watch a host go stale and disconnected.
pub fn fast_thresholds() -> HealthThresholds {
    HealthThresholds {
        stale_after: Duration::from_millis(300),
        disconnected_after: Duration::from_millis(700),
    }
}

pub fn config(data_dir: &Path, key: Option<&str>, thresholds: HealthThresholds) -> ServeSettings {
    ServeSettings {
        addr: ([127, 0, 0, 1], 0).into(),
        data_dir: data_dir.to_path_buf(),
        api_key: key.map(|k| ApiKey::new(k.to_string()).expect("a valid test key")),
        thresholds,
        site_root: data_dir.join("no-site"),
        local_agent: None,
        jobs: Default::default(),
        files: Default::default(),
        import_dirs: Vec::new(),
        components_dir: None,
        catalog: None,
        notify: Default::default(),
        metrics_token: None,
        mirror: None,
        render_threads: None,
    }
}

impl TestServer {
    pub async fn start(config: ServeSettings) -> TestServer {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(trainyard_server::serve(listener, config, async move {
            let _ = stopped.await;
        }));
        let server = TestServer {
            addr,
            client: reqwest::Client::new(),
            stop: Some(stop),
            task: Some(task),
        };
        server.wait_ready().await;
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn wait_ready(&self) {
        eventually("server answers", || async {
            self.client
                .get(self.url("/api/v1/health"))
                .send()
                .await
                .is_ok()
        })
        .await;
    }

    /// `GET path` with the test key, decoded as JSON.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        get_json(&self.url(""), path).await
    }

    /// `GET /api/v1/hosts` with the test key: the first 1,000 hosts (more
    /// than any test registers).
    pub async fn hosts(&self) -> Vec<HostView> {
        let page: HostsPage = self.get_json("/api/v1/hosts?limit=1000").await;
        assert!(page.next_after.is_none(), "a test fleet fits one page");
        page.hosts
    }

    /// `DELETE path` with the test key.
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"))
    }

    /// Graceful stop; returns what `serve` returned.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .unwrap_or_else(|_| panic!("server did not stop within 10 s"))
                .expect("the server task ends"),
            None => Ok(()),
        }
    }
}

/// `GET base+path` with the test key, as a raw response (for status checks).
pub async fn get_raw(base: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// `GET base+path` with the test key, decoded as JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(base: &str, path: &str) -> T {
    get_raw(base, path)
        .await
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// How long any wait in these tests may take before it fails.
const WAIT_LIMIT: Duration = Duration::from_secs(20);

/// Polls `probe` every 20 ms until it yields a value; fails after 20 s.
pub async fn until<T, Fut: Future<Output = Option<T>>>(
    what: &str,
    mut probe: impl FnMut() -> Fut,
) -> T {
    let deadline = Instant::now() + WAIT_LIMIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls `check` every 20 ms until true; fails after 20 s.
pub async fn eventually<Fut: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> Fut) {
    until(what, || {
        let done = check();
        async move { done.await.then_some(()) }
    })
    .await;
}

/// A real agent (library) with fake GPUs posting every 50 ms until the returned sender fires.
pub fn start_agent(
    server: &TestServer,
    host_id: &str,
    gpus: u32,
    token: Option<&str>,
) -> (
    oneshot::Sender<()>,
    JoinHandle<Result<(), trainyard_agent::AgentError>>,
) {
    let mut config =
        trainyard_agent::AgentSettings::new(format!("http://{}", server.addr), host_id);
    config.gpus = trainyard_agent::GpuSource::Fake(gpus);
    config.heartbeat_interval = Duration::from_millis(50);
    config.token = token.map(str::to_string);
    config.supervisor = Some(env!("CARGO_BIN_EXE_trainyard").into());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(trainyard_agent::run(config, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

/// The page at `path` as the server renders it for a logged-in browser.
pub async fn page_html(base: &str, path: &str) -> String {
    fetch_page(base, path)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// [`page_html`], with what went wrong as an error naming the page. A page
/// that never finishes rendering is an error after a minute instead of a
/// hung suite.
pub async fn fetch_page(base: &str, path: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let login = client
        .post(format!("{base}/login"))
        .form(&[("api_key", KEY)])
        .send()
        .await
        .map_err(|e| format!("POST /login: {e}"))?;
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or("POST /login: no session cookie")?
        .to_string();
    client
        .get(format!("{base}{path}"))
        .header("cookie", cookie)
        .send()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?
        .text()
        .await
        .map_err(|e| format!("GET {path}: the page never finished: {e}"))
}
