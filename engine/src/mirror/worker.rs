//! The mirror's one worker: tasks in id order, each attempt on a blocking
//! thread with its own FTP session.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use trainyard_core::models::{
    FtpIndex, MirrorStatus, MirrorTask, ModelManifest, Stage, BUNDLE_FILE, FTP_INDEX, FTP_LATEST,
    FTP_LATEST_JSON, FTP_VERSIONS, MANIFEST_FILE, PAYLOAD_DIR,
};

use super::entry_of;
use super::ftp::{FtpSession, FtpTarget};
use super::Inner;
use crate::store::ModelVersionRow;

/// How long the worker sleeps with nothing queued (a wake cuts it short).
const IDLE: Duration = Duration::from_secs(30);
/// Wait after the store itself failed.
const STORE_RETRY: Duration = Duration::from_secs(5);

pub(super) async fn run(inner: Arc<Inner>) {
    loop {
        let task = match inner.store.next_mirror_task(&inner.url).await {
            Ok(task) => task,
            Err(e) => {
                tracing::error!("FTP mirror: reading its queue: {e}");
                tokio::time::sleep(STORE_RETRY).await;
                continue;
            }
        };
        let Some(task) = task else {
            let _ = tokio::time::timeout(IDLE, inner.wake.notified()).await;
            continue;
        };
        let now = inner.clock.now_ms();
        if let (MirrorStatus::Failed, Some(at)) = (task.status, task.next_attempt_ms) {
            if at > now {
                // Until it is due, or a new task (of another stage) is queued.
                let wait = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
                let _ = tokio::time::timeout(wait, inner.wake.notified()).await;
                continue;
            }
        }
        let outcome = attempt(&inner, &task).await;
        let now = inner.clock.now_ms();
        let recorded = match &outcome {
            Ok(()) => {
                tracing::info!(
                    model = %task.model,
                    stage = %task.stage,
                    version = task.version.as_deref().unwrap_or("-"),
                    "FTP mirror: done"
                );
                inner.store.mirror_attempted(task.id, None, now, now).await
            }
            Err(error) => {
                let wait = backoff(&inner, task.attempts);
                tracing::warn!(
                    model = %task.model,
                    stage = %task.stage,
                    version = task.version.as_deref().unwrap_or("-"),
                    attempt = task.attempts + 1,
                    retry_in_ms = wait.as_millis() as u64,
                    "FTP mirror failed: {error}"
                );
                let next = now.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                inner
                    .store
                    .mirror_attempted(task.id, Some(error), next, now)
                    .await
            }
        };
        if let Err(e) = recorded {
            tracing::error!("FTP mirror: recording an attempt: {e}");
            tokio::time::sleep(STORE_RETRY).await;
        }
    }
}

/// The wait after the `failed`-th failed attempt (0-based).
fn backoff(inner: &Inner, failed: u32) -> Duration {
    let base = inner.settings.retry_base;
    base.saturating_mul(1u32 << failed.min(20))
        .min(inner.settings.retry_max)
}

/// One version to upload: where its files are and which they are.
struct VersionFiles {
    version: String,
    dir: PathBuf,
    files: Vec<String>,
}

/// Everything one attempt writes, read from the store before connecting.
struct Plan {
    target: FtpTarget,
    stage: Stage,
    model: String,
    /// The task's version, then (if the stage's LATEST is another) LATEST's,
    /// uploaded only if the server lacks its bundle.
    versions: Vec<(VersionFiles, bool)>,
    index: Vec<u8>,
    /// LATEST's name and its entry.
    latest: Option<(String, Vec<u8>)>,
}

async fn attempt(inner: &Inner, task: &MirrorTask) -> Result<(), String> {
    let plan = plan(inner, task).await?;
    tokio::task::spawn_blocking(move || execute(&plan))
        .await
        .map_err(|e| format!("the mirror's thread: {e}"))?
}

async fn plan(inner: &Inner, task: &MirrorTask) -> Result<Plan, String> {
    let rows: Vec<ModelVersionRow> = inner
        .store
        .model_versions(&task.model)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|r| r.view.stage == task.stage)
        .collect();
    let latest = inner
        .store
        .model_latest(&task.model)
        .await
        .map_err(|e| e.to_string())?
        .remove(&task.stage);
    let files_of = |version: &str| -> Result<VersionFiles, String> {
        let row = rows
            .iter()
            .find(|r| r.view.version == version)
            .ok_or_else(|| format!("{} {} has no version {version}", task.model, task.stage))?;
        let manifest: ModelManifest = serde_json::from_str(&row.manifest_json)
            .map_err(|e| format!("{version}'s manifest: {e}"))?;
        Ok(VersionFiles {
            version: version.to_string(),
            dir: inner
                .models_root
                .join(&task.model)
                .join(task.stage.as_str())
                .join(version),
            files: manifest.files.into_iter().map(|f| f.path).collect(),
        })
    };
    let mut versions = Vec::new();
    if let Some(v) = &task.version {
        versions.push((files_of(v)?, true));
    }
    if let Some(l) = &latest {
        if task.version.as_deref() != Some(l.as_str()) {
            versions.push((files_of(l)?, false));
        }
    }
    let mut entries = Vec::new();
    let mut latest_entry = None;
    for row in &rows {
        let entry = entry_of(&row.view);
        if latest.as_deref() == Some(row.view.version.as_str()) {
            let json = serde_json::to_vec_pretty(&entry).map_err(|e| e.to_string())?;
            latest_entry = Some((row.view.version.clone(), json));
        }
        entries.push(entry);
    }
    let index = FtpIndex {
        model_name: task.model.clone(),
        model_slug: task.model.clone(),
        stage: task.stage,
        latest: latest.clone(),
        versions: entries,
        updated_ms: inner.clock.now_ms(),
    };
    Ok(Plan {
        target: inner.settings.target.clone(),
        stage: task.stage,
        model: task.model.clone(),
        versions,
        index: serde_json::to_vec_pretty(&index).map_err(|e| e.to_string())?,
        latest: latest_entry,
    })
}

fn execute(plan: &Plan) -> Result<(), String> {
    let mut ftp = FtpSession::connect(&plan.target)?;
    let result = write_all(&mut ftp, plan);
    ftp.quit();
    result
}

fn write_all(ftp: &mut FtpSession, plan: &Plan) -> Result<(), String> {
    let base = [plan.stage.as_str(), plan.model.as_str()];
    let at = |ftp: &FtpSession, rest: &[&str]| -> Result<String, String> {
        let parts: Vec<&str> = base.iter().chain(rest).copied().collect();
        ftp.target().path(&parts)
    };
    for (v, always) in &plan.versions {
        let bundle = at(ftp, &[FTP_VERSIONS, &v.version, BUNDLE_FILE])?;
        if !always && ftp.size(&bundle)?.is_some() {
            continue;
        }
        upload_version(ftp, &base, v)?;
    }
    ftp.upload_bytes(&at(ftp, &[FTP_INDEX])?, &plan.index)?;
    if let Some((version, entry)) = &plan.latest {
        ftp.upload_bytes(&at(ftp, &[FTP_LATEST_JSON])?, entry)?;
        // Last: a client that reads LATEST finds everything it names.
        ftp.upload_bytes(&at(ftp, &[FTP_LATEST])?, format!("{version}\n").as_bytes())?;
    }
    Ok(())
}

/// Uploads what the server lacks of a version: its payload files, its
/// manifest, and its bundle last (a version whose bundle is there is whole).
fn upload_version(ftp: &mut FtpSession, base: &[&str], v: &VersionFiles) -> Result<(), String> {
    let remote = |ftp: &FtpSession, rest: &[&str]| -> Result<String, String> {
        let parts: Vec<&str> = base
            .iter()
            .copied()
            .chain([FTP_VERSIONS, v.version.as_str()])
            .chain(rest.iter().copied())
            .collect();
        ftp.target().path(&parts)
    };
    let mut todo: Vec<(String, PathBuf)> = Vec::new();
    for file in &v.files {
        let mut parts = vec![PAYLOAD_DIR];
        parts.extend(file.split('/'));
        let mut local = v.dir.join(PAYLOAD_DIR);
        for part in file.split('/') {
            local.push(part);
        }
        todo.push((remote(ftp, &parts)?, local));
    }
    todo.push((remote(ftp, &[MANIFEST_FILE])?, v.dir.join(MANIFEST_FILE)));
    todo.push((remote(ftp, &[BUNDLE_FILE])?, v.dir.join(BUNDLE_FILE)));
    for (path, local) in todo {
        let size = local_size(&local)?;
        if ftp.size(&path)? == Some(size) {
            continue;
        }
        ftp.upload(&path, &local)?;
    }
    Ok(())
}

fn local_size(path: &Path) -> Result<u64, String> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}
