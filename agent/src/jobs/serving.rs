//! A serving attempt's extra steps (an assignment with a `serve` section):
//! fetch the version's bundle into the cache `<work_dir>/models/<xxh3>/`
//! (once per bundle, checked by hash), pick a free port, and after the
//! start probe `http://127.0.0.1:{port}{health_path}` until it answers
//! 200, then tell the server where the instance answers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::task::JoinHandle;
use trainyard_core::models::{BUNDLE_FILE, PAYLOAD_DIR};
use trainyard_core::protocol::paths;
use trainyard_core::work::{AttemptRef, ServeSpec, ServingReport};

use super::api::{save_download, Reply};
use super::attempt::append_line;
use super::JobContext;
use crate::bundle::{unpack, PULLED};
use crate::http::response::Verdict;

/// A bundle download may take long; only a stalled one should fail.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(6 * 3600);
/// Between health probes.
const PROBE_EVERY: Duration = Duration::from_millis(100);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// What a serving attempt adds to its command's placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServeVars {
    /// The unpacked payload (`{model_dir}`).
    pub model_dir: PathBuf,
    /// The port the server must listen on (`{port}`).
    pub port: u16,
}

/// One unpack at a time per agent: they share the cache.
fn cache_lock() -> &'static Mutex<()> {
    static LOCK: std::sync::OnceLock<Mutex<()>> = std::sync::OnceLock::new();
    LOCK.get_or_init(|| Mutex::new(()))
}

/// Makes the bundle available unpacked and picks a port; `Err` says why
/// the attempt cannot start (it then fails with that line in its log).
pub(crate) async fn prepare(
    ctx: &JobContext,
    at: AttemptRef,
    spec: &ServeSpec,
    log: &Path,
) -> Result<ServeVars, String> {
    let root = ctx
        .runs
        .parent()
        .map_or_else(|| ctx.runs.join(".."), Path::to_path_buf)
        .join("models");
    let dir = root.join(&spec.bundle_xxh3);
    let marker = serde_json::json!({
        "model": spec.model,
        "stage": spec.stage,
        "version": spec.version,
        "bundle_xxh3": spec.bundle_xxh3,
    })
    .to_string();
    {
        let _unpacking = cache_lock().lock().await;
        let cached = tokio::fs::read_to_string(dir.join(PULLED))
            .await
            .is_ok_and(|m| m == marker);
        if cached {
            append_line(
                log,
                &format!(
                    "model bundle {} cached in {}",
                    spec.bundle_xxh3,
                    dir.display()
                ),
            )
            .await;
        } else {
            append_line(
                log,
                &format!(
                    "fetching model {} {} {} ({} bytes) into {}",
                    spec.model,
                    spec.stage,
                    spec.version,
                    spec.bundle_bytes,
                    dir.display()
                ),
            )
            .await;
            fetch(ctx, at, spec, &dir).await?;
            let (d, x, m) = (dir.clone(), spec.bundle_xxh3.clone(), marker.clone());
            tokio::task::spawn_blocking(move || unpack(&d, &x, &m))
                .await
                .map_err(|e| format!("unpacking the bundle: {e}"))?
                .map_err(|e| format!("unpacking the bundle: {e:#}"))?;
            // The payload stays; the archive is not needed any more.
            let _ = tokio::fs::remove_file(dir.join(BUNDLE_FILE)).await;
        }
    }
    let port = free_port().map_err(|e| format!("cannot find a free port: {e}"))?;
    Ok(ServeVars {
        model_dir: dir.join(PAYLOAD_DIR),
        port,
    })
}

/// Downloads the bundle into `<dir>/bundle.tar.gz`, checked by hash.
async fn fetch(
    ctx: &JobContext,
    at: AttemptRef,
    spec: &ServeSpec,
    dir: &Path,
) -> Result<(), String> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let part = dir.join(format!("{BUNDLE_FILE}.{}-{}.part", at.job_id, at.attempt));
    let path = paths::model_bundle(&spec.model, &spec.stage, &spec.version);
    let response = ctx.api.download(&path, DOWNLOAD_TIMEOUT).await?;
    let (_, hash) = save_download(response, &part, "the bundle download").await?;
    if hash != spec.bundle_xxh3 {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(format!(
            "the downloaded bundle hashes to {hash}, not {}",
            spec.bundle_xxh3
        ));
    }
    tokio::fs::rename(&part, dir.join(BUNDLE_FILE))
        .await
        .map_err(|e| format!("writing {}: {e}", part.display()))
}

/// A port nothing listens on now (the OS's pick). Another process may
/// take it before the server binds it; the server then fails to start and
/// the deployment shows that.
fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("0.0.0.0", 0))?;
    Ok(listener.local_addr()?.port())
}

/// Aborts the probe when the attempt ends.
pub(crate) struct Probe(JoinHandle<()>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Probes the health path until it answers 200, then reports the endpoint
/// (retrying the report until the server takes or refuses it).
pub(crate) fn probe(ctx: Arc<JobContext>, at: AttemptRef, port: u16, health_path: String) -> Probe {
    Probe(tokio::spawn(async move {
        let client = match reqwest::Client::builder()
            .no_proxy()
            .timeout(PROBE_TIMEOUT)
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                tracing::warn!(?at, "no HTTP client for health probes: {e}");
                return;
            }
        };
        let url = format!("http://127.0.0.1:{port}{health_path}");
        loop {
            if let Ok(r) = client.get(&url).send().await {
                if r.status() == reqwest::StatusCode::OK {
                    break;
                }
            }
            tokio::time::sleep(PROBE_EVERY).await;
        }
        tracing::info!(?at, port, "healthy: {url}");
        let report = ServingReport {
            port,
            address: ctx.advertise_address.clone(),
        };
        let mut delay = Duration::from_millis(200);
        loop {
            match ctx.api.serving(at, &report).await {
                Reply::Done(()) => return,
                Reply::Superseded(why) => {
                    tracing::info!(?at, "serving report refused: {why}");
                    return;
                }
                Reply::Refused(_, why) | Reply::Failed(Verdict::Rejected(why)) => {
                    tracing::warn!(?at, "the server refused the serving report: {why}");
                    return;
                }
                other => {
                    tracing::warn!(?at, "serving report not delivered: {other:?}; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }))
}
