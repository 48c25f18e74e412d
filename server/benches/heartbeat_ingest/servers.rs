//! The two servers under load, both on the shared runtime and on 127.0.0.1:
//! the real trainyard and the trivial *ceiling* it is compared with.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::routing::post;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use trainyard_core::HealthThresholds;
use trainyard_server::{ApiKey, ServeSettings};

pub(crate) const HEARTBEAT_PATH: &str = "/api/v1/agents/heartbeat";
/// A fixed key: the bench only ever listens on 127.0.0.1 and the server dies with it.
const API_KEY: &str = "bench-0123456789abcdef0123456789abcdef";

/// The `Authorization` header value trainyard accepts.
pub(crate) fn bearer_auth() -> anyhow::Result<HeaderValue> {
    Ok(HeaderValue::from_str(&format!("Bearer {API_KEY}"))?)
}

/// The ceiling: reads the whole body, answers 200 with a small JSON. Nothing
/// a heartbeat endpoint could do with less work.
async fn ceiling_handler(body: Bytes) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(CONTENT_TYPE, "application/json")],
        format!("{{\"ok\":true,\"bytes\":{}}}", body.len()),
    )
}

/// A server running on the shared runtime, stopped by dropping/sending `stop`.
pub(crate) struct Running {
    pub(crate) addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        // Bounded: the real server flushes to SQLite on the way out.
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .context("server did not stop within 30 s")?
            .context("server task panicked")?
    }
}

fn stop_signal() -> (
    oneshot::Sender<()>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = oneshot::channel::<()>();
    (tx, async move {
        let _ = rx.await;
    })
}

pub(crate) async fn start_trainyard(
    data_dir: PathBuf,
    site_root: PathBuf,
) -> anyhow::Result<Running> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = ServeSettings {
        addr,
        data_dir,
        api_key: Some(ApiKey::new(API_KEY.into())?),
        thresholds: HealthThresholds::default(),
        site_root,
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
    };
    let (stop, signal) = stop_signal();
    let task =
        tokio::spawn(async move { Ok(trainyard_server::serve(listener, config, signal).await?) });
    Ok(Running { addr, stop, task })
}

pub(crate) async fn start_ceiling() -> anyhow::Result<Running> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route(HEARTBEAT_PATH, post(ceiling_handler));
    let (stop, signal) = stop_signal();
    // Plain `axum::serve`, as trainyard uses, so both get the same HTTP stack.
    let task = tokio::spawn(async move {
        Ok(axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await?)
    });
    Ok(Running { addr, stop, task })
}

/// Queues one job that no host can run (`gpus` more GPUs than any has), as
/// a busy server has waiting jobs: the engine then explains its wait once a
/// second by looking at the whole fleet, work the fleet test must include
/// (a deep copy of the fleet in that pass once stalled every heartbeat).
pub(crate) async fn queue_unrunnable_job(
    client: &reqwest::Client,
    addr: SocketAddr,
    auth: &HeaderValue,
    gpus: u32,
) -> anyhow::Result<()> {
    let yaml = format!("project: bench\ngpus: {gpus}\ncommand: [\"true\"]\n");
    client
        .post(format!("http://{addr}/api/v1/experiments"))
        .header(AUTHORIZATION, auth.clone())
        .body(yaml)
        .send()
        .await?
        .error_for_status()
        .context("queueing the bench's waiting job")?;
    Ok(())
}

/// Waits until the server answers (the engine opens its database first).
pub(crate) async fn wait_ready(
    client: &reqwest::Client,
    addr: SocketAddr,
    auth: &HeaderValue,
) -> anyhow::Result<()> {
    let url = format!("http://{addr}/api/v1/health");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client
            .get(&url)
            .header(AUTHORIZATION, auth.clone())
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if Instant::now() > deadline => bail!("{url} answered {}", r.status()),
            Err(e) if Instant::now() > deadline => bail!("{url}: {e}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
