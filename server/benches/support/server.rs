//! The server under test, on port 0 with an API key and a temporary data dir.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::bail;
use tokio::net::TcpListener;
use trainyard_core::HealthThresholds;
use trainyard_engine::JobSettings;
use trainyard_server::{ApiKey, ServeSettings};

pub const KEY: &str = "bench-key-0123456789abcdef";

pub struct Running {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(usize::MAX)
        .build()
}

pub async fn start(max_sweep_size: u64) -> anyhow::Result<Running> {
    let dir = tempfile::tempdir()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = ServeSettings {
        addr,
        data_dir: dir.path().join("data"),
        api_key: Some(ApiKey::new(KEY.into())?),
        thresholds: HealthThresholds {
            stale_after: Duration::from_secs(300),
            disconnected_after: Duration::from_secs(600),
        },
        site_root: dir.path().join("no-site"),
        local_agent: None,
        jobs: JobSettings {
            max_sweep_size,
            ..Default::default()
        },
        files: Default::default(),
        import_dirs: Vec::new(),
        components_dir: None,
        catalog: None,
        notify: Default::default(),
        metrics_token: None,
        mirror: None,
        render_threads: None,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(trainyard_server::serve(listener, config, async move {
        let _ = stopped.await;
    }));
    let client = client()?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client
            .get(format!("http://{addr}/api/v1/health"))
            .bearer_auth(KEY)
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if std::time::Instant::now() > deadline {
            bail!("server did not start");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(Running {
        addr,
        client,
        _dir: dir,
        stop: Some(stop),
    })
}
