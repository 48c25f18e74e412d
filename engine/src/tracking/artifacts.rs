//! A run's artifacts: run files under `artifacts/` of its current attempt,
//! so they show in the run's Files beside what its agent synced.

use tokio::io::AsyncRead;
use trainyard_core::work::AttemptRef;

use super::Tracking;
use crate::error::EngineError;
use crate::files::{checked, DirEntry, RunFileStore};

/// The run-file directory that holds a run's artifacts.
pub const ARTIFACTS_DIR: &str = "artifacts";

impl Tracking {
    /// The attempt whose files hold run `id`'s artifacts: its current one
    /// (the first for a job not started yet).
    async fn artifacts_attempt(&self, id: i64) -> Result<AttemptRef, EngineError> {
        let job = self.run_job(id).await?;
        Ok(AttemptRef {
            job_id: id,
            attempt: job.view.attempt.max(1),
        })
    }

    /// `artifacts/<path>`, after checking `path` (no `..`, not absolute).
    fn run_path(path: &str) -> Result<String, EngineError> {
        checked(path)?;
        Ok(format!("{ARTIFACTS_DIR}/{path}"))
    }

    /// Stores artifact `path` of run `id`; returns its size.
    pub async fn put_artifact(
        &self,
        id: i64,
        path: &str,
        body: impl AsyncRead + Unpin + Send,
        files: &RunFileStore,
    ) -> Result<u64, EngineError> {
        let at = self.artifacts_attempt(id).await?;
        files.write_whole(at, &Self::run_path(path)?, body).await
    }

    /// Where artifact `path` of run `id` is on disk, and its size.
    pub async fn locate_artifact(
        &self,
        id: i64,
        path: &str,
        files: &RunFileStore,
    ) -> Result<(std::path::PathBuf, u64), EngineError> {
        let at = self.artifacts_attempt(id).await?;
        let full = files.file_path(at, &Self::run_path(path)?)?;
        match tokio::fs::metadata(&full).await {
            Ok(meta) if meta.is_file() => Ok((full, meta.len())),
            _ => Err(EngineError::RunFileNotFound {
                job_id: id,
                path: format!("{ARTIFACTS_DIR}/{}", super::short(path)),
            }),
        }
    }

    /// The entries of artifact directory `dir` (`""`: the root) of run
    /// `id`; `None` when `dir` is a file or does not exist (MLflow's `{}`).
    pub async fn list_artifacts(
        &self,
        id: i64,
        dir: &str,
        files: &RunFileStore,
    ) -> Result<Option<Vec<DirEntry>>, EngineError> {
        let at = self.artifacts_attempt(id).await?;
        let dir = if dir.is_empty() {
            ARTIFACTS_DIR.to_string()
        } else {
            Self::run_path(dir)?
        };
        files.list_dir(at, &dir).await
    }
}
