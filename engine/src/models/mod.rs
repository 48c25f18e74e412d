//! The model registry (issue 14): models with two stages (dev, release),
//! versions numbered `v0001`… or named, never reused, a LATEST pointer per
//! stage, promotion with provenance, and what clients download (a
//! deterministic `bundle.tar.gz` built once, and the files one by one).
//!
//! A version's content lives in `<data dir>/models/<model>/<stage>/<version>/`
//! (`payload/…`, `manifest.json`, `bundle.tar.gz`). It is built in
//! `<data dir>/models/.staging/<id>/` (files copied and hashed as they
//! stream, fsynced), then one transaction records it, then the directory is
//! renamed into place; a restart finishes a rename a crash interrupted and
//! removes staging directories no version names. So a version is never
//! visible half-written.
//!
//! Files come from a run (`from_run.rs`, handed the results domain and the
//! run-file sources), an upload ([`ModelDraft`], fed by the server's
//! multipart reader) or another stage (`promote.rs`).

mod bundle;
mod draft;
mod from_run;
mod mlflow;
mod promote;
mod query;
mod register;
mod serving;

pub use draft::ModelDraft;
pub(crate) use from_run::RunSide;
pub use mlflow::{
    mlflow_number, MlflowStage, NewMlflowVersion, RegisteredModel, RegisteredVersion,
};
pub(crate) use register::VersionMeta;
pub use serving::{ServingTarget, SERVING_PROJECT, SERVING_RETRIES};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use trainyard_core::models::{validate_model_name, validate_version_name, Stage};

use crate::clock::Clock;
use crate::error::EngineError;
use crate::mirror::MirrorQueue;
use crate::store::Store;

/// Where staged versions are built, under the models dir.
const STAGING: &str = ".staging";

pub(crate) struct Models {
    root: PathBuf,
    store: Store,
    clock: Clock,
    /// The largest file a version may hold (the run-file limit).
    max_file_bytes: u64,
    /// One lock per model orders its registrations: the name a version
    /// gets, its bundle and its row agree.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Where commits and LATEST moves queue their mirroring (FTP).
    mirror: MirrorQueue,
    /// Orders starting a deployment before handing its job to an agent.
    serving_lock: tokio::sync::Mutex<()>,
}

/// A version's files on disk, for downloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDownload {
    /// The version it belongs to (what `latest` resolved to).
    pub version: String,
    pub path: PathBuf,
    pub size: u64,
    /// The content's xxh3 (16 hex digits): a strong ETag.
    pub xxh3: String,
}

impl Models {
    /// The registry on `root`; finishes what a crash interrupted.
    pub async fn load(
        root: PathBuf,
        store: Store,
        clock: Clock,
        max_file_bytes: u64,
    ) -> Result<Models, EngineError> {
        let models = Models {
            root,
            store,
            clock,
            max_file_bytes,
            locks: Mutex::new(HashMap::new()),
            mirror: MirrorQueue::default(),
            serving_lock: tokio::sync::Mutex::new(()),
        };
        models.recover().await?;
        Ok(models)
    }

    /// From now on, each commit and LATEST move queues its mirroring.
    pub fn mirrored_by(self, mirror: MirrorQueue) -> Models {
        Models { mirror, ..self }
    }

    fn staging(&self) -> PathBuf {
        self.root.join(STAGING)
    }

    fn version_dir(&self, model: &str, stage: Stage, version: &str) -> PathBuf {
        self.root.join(model).join(stage.as_str()).join(version)
    }

    fn lock_of(&self, model: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(model.to_string())
            .or_default()
            .clone()
    }

    /// Renames versions whose commit a crash cut short into place, and
    /// removes staging directories no version names.
    async fn recover(&self) -> Result<(), EngineError> {
        let rows = self.store.all_model_versions().await?;
        for row in rows {
            let v = &row.view;
            let dir = self.version_dir(&v.model, v.stage, &v.version);
            if let Err(e) = place(&self.staging().join(&row.staged_as), &dir).await {
                tracing::error!(
                    "model {} {} {}: its files are missing ({e}); downloads of it will fail",
                    v.model,
                    v.stage,
                    v.version
                );
            }
        }
        let staging = self.staging();
        if let Ok(mut entries) = tokio::fs::read_dir(&staging).await {
            while let Ok(Some(entry)) = entries.next_entry().await {
                let path = entry.path();
                tracing::info!("removing an unfinished model version: {}", path.display());
                let _ = tokio::fs::remove_dir_all(&path).await;
            }
        }
        Ok(())
    }
}

/// Moves a committed version from staging to `dir` unless it is there.
async fn place(staged: &Path, dir: &Path) -> Result<(), EngineError> {
    if tokio::fs::try_exists(dir).await.unwrap_or(false) {
        return Ok(());
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EngineError::Io { path, source }
    };
    if let Some(parent) = dir.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(io(parent))?;
    }
    tokio::fs::rename(staged, dir).await.map_err(io(staged))
}

/// `name` as a model name, or `ModelInvalid` naming `field`.
pub(crate) fn check_model_name(name: &str) -> Result<(), EngineError> {
    validate_model_name(name).map_err(|message| EngineError::ModelInvalid {
        field: "name".into(),
        message,
    })
}

/// `version` as a version name, or `ModelInvalid` naming `version`.
pub(crate) fn check_version_name(version: &str) -> Result<(), EngineError> {
    validate_version_name(version).map_err(|message| EngineError::ModelInvalid {
        field: "version".into(),
        message,
    })
}

/// A stage named in a request (`None`: dev), or `StageNotFound`.
pub(crate) fn parse_stage(stage: Option<&str>) -> Result<Stage, EngineError> {
    match stage {
        None => Ok(Stage::Dev),
        Some(s) => s.parse().map_err(EngineError::StageNotFound),
    }
}
