//! Reading a run's files: the listing, previews and downloads.
//!
//! A run shows the files of its newest attempt that has any, plus that
//! attempt's `output.log` (kept by the job log store, not the file store).
//! An imported run's files are read where the import found them.

use std::path::PathBuf;

use trainyard_core::metrics::RunProblem;
use trainyard_core::sync::FileEntry;
use trainyard_core::work::AttemptRef;

use super::Results;
use crate::error::EngineError;
use crate::files::{checked, RunFileStore};
use crate::import::Imports;
use crate::jobs::LogStore;

/// Where a run's files may be: the run-file store, the job log store (its
/// output), or an imported tree.
pub(crate) struct RunFileSources<'a> {
    pub files: &'a RunFileStore,
    pub logs: &'a LogStore,
    pub imports: &'a Imports,
}

/// The name under which an attempt's output is listed.
pub const OUTPUT_LOG: &str = "output.log";

/// The start of a run file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFileSlice {
    pub data: Vec<u8>,
    /// The whole file's size.
    pub size: u64,
    /// `data` stops before the end of the file.
    pub truncated: bool,
}

impl Results {
    /// Every file of job `job_id`'s newest attempt that has files, with size
    /// and xxh3, sorted by path.
    pub async fn run_files(
        &self,
        job_id: i64,
        from: &RunFileSources<'_>,
    ) -> Result<Vec<FileEntry>, EngineError> {
        if let Some(imported) = from.imports.imported(job_id).await? {
            return from.imports.imported_files(&imported, from.files).await;
        }
        let Some(at) = self.files_attempt(job_id, from).await? else {
            return Ok(Vec::new());
        };
        let mut files = from.files.list(at).await?;
        if !files.iter().any(|f| f.path == OUTPUT_LOG) {
            let log = from.logs.path(at);
            if let Ok(meta) = tokio::fs::metadata(&log).await {
                let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                let entry = from
                    .files
                    .entry(OUTPUT_LOG.to_string(), &log, meta.len(), modified)
                    .await?;
                files.push(entry);
                files.sort_by(|a, b| a.path.cmp(&b.path));
            }
        }
        Ok(files)
    }

    /// Where a run file is on disk, and its size (for downloads).
    pub async fn locate_run_file(
        &self,
        job_id: i64,
        path: &str,
        from: &RunFileSources<'_>,
    ) -> Result<(PathBuf, u64), EngineError> {
        checked(path)?;
        let not_found = || EngineError::RunFileNotFound {
            job_id,
            path: path.chars().take(200).collect(),
        };
        if let Some(imported) = from.imports.imported(job_id).await? {
            // Only the run's own files, as listed, never another run's.
            let listed = from.imports.imported_files(&imported, from.files).await?;
            if !listed.iter().any(|f| f.path == path) {
                return Err(not_found());
            }
            let full = imported.base_dir().join(path);
            let size = tokio::fs::metadata(&full)
                .await
                .map_err(|_| not_found())?
                .len();
            return Ok((full, size));
        }
        let at = self
            .files_attempt(job_id, from)
            .await?
            .ok_or_else(not_found)?;
        let mut full = from.files.file_path(at, path)?;
        if path == OUTPUT_LOG && !tokio::fs::try_exists(&full).await.unwrap_or(false) {
            full = from.logs.path(at);
        }
        match tokio::fs::metadata(&full).await {
            Ok(meta) if meta.is_file() => Ok((full, meta.len())),
            _ => Err(not_found()),
        }
    }

    /// Lines of the job's files that could not be indexed.
    pub async fn run_problems(&self, job_id: i64) -> Result<Vec<RunProblem>, EngineError> {
        self.require_job(job_id).await?;
        self.store.run_problems(job_id).await
    }

    /// Up to `max_bytes` from the start of a run file (for previews).
    pub async fn read_run_file(
        &self,
        job_id: i64,
        path: &str,
        max_bytes: usize,
        from: &RunFileSources<'_>,
    ) -> Result<RunFileSlice, EngineError> {
        use tokio::io::AsyncReadExt;
        let (full, size) = self.locate_run_file(job_id, path, from).await?;
        let io = |source| EngineError::Io {
            path: full.clone(),
            source,
        };
        let file = tokio::fs::File::open(&full).await.map_err(io)?;
        let mut data = Vec::with_capacity(max_bytes.min(1 << 20));
        file.take(max_bytes as u64)
            .read_to_end(&mut data)
            .await
            .map_err(io)?;
        Ok(RunFileSlice {
            truncated: (data.len() as u64) < size,
            data,
            size,
        })
    }

    /// The newest attempt of the job with synced files or output; `None`
    /// before its first attempt.
    async fn files_attempt(
        &self,
        job_id: i64,
        from: &RunFileSources<'_>,
    ) -> Result<Option<AttemptRef>, EngineError> {
        let newest = self.require_job(job_id).await?.view.attempt;
        for attempt in (1..=newest).rev() {
            let at = AttemptRef { job_id, attempt };
            let has_files = tokio::fs::try_exists(from.files.attempt_dir(at))
                .await
                .unwrap_or(false);
            let has_log = tokio::fs::try_exists(from.logs.path(at))
                .await
                .unwrap_or(false);
            if has_files || has_log {
                return Ok(Some(at));
            }
        }
        Ok((newest > 0).then_some(AttemptRef {
            job_id,
            attempt: newest,
        }))
    }
}
