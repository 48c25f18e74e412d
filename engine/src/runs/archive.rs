//! Archiving (the Projects page's delete, MLflow's `delete_run`), restoring
//! and purging runs. Archiving only hides a run: its files, metrics, output
//! and notes stay until a purge of runs archived long enough ago deletes
//! them for good.

use trainyard_core::runs::PurgeReport;

use super::{Results, RunFileSources};
use crate::error::EngineError;
use crate::metrics::Metrics;

impl Results {
    /// Archives run `job_id`. Idempotent (archiving an archived run keeps
    /// its first time). Only finished runs: a queued, assigned, running or
    /// lost job is `RunActive` (cancel it first). Imported runs and runs an
    /// MLflow client created are never scheduled, so they can be archived
    /// whatever their status (MLflow deletes running runs too).
    pub async fn archive_run(&self, job_id: i64) -> Result<(), EngineError> {
        if self.store.archive_job(job_id, self.clock.now_ms()).await? {
            return Ok(());
        }
        let job = self.require_job(job_id).await?.view;
        Err(EngineError::RunActive {
            id: job_id,
            status: job.status,
        })
    }

    /// Restores run `job_id` to the runs table. Idempotent.
    pub async fn restore_run(&self, job_id: i64) -> Result<(), EngineError> {
        if self.store.restore_job(job_id).await? {
            Ok(())
        } else {
            Err(EngineError::JobNotFound(job_id))
        }
    }

    /// Deletes every run archived at least `older_than_ms` ago with its
    /// files, metric points, output and notes. Imported runs are skipped:
    /// their files are the import tree's, and the watcher would index them
    /// again. A run restored meanwhile is left alone.
    pub async fn purge_archived_runs(
        &self,
        older_than_ms: i64,
        metrics: &Metrics,
        from: &RunFileSources<'_>,
    ) -> Result<PurgeReport, EngineError> {
        if older_than_ms < 0 {
            return Err(EngineError::BadOption(format!(
                "older_than: must be 0 or more, got {older_than_ms} ms"
            )));
        }
        let cutoff = self.clock.now_ms().saturating_sub(older_than_ms);
        let mut report = PurgeReport::default();
        for (job_id, imported) in self.store.archived_before(cutoff).await? {
            if imported {
                report.skipped.push(format!(
                    "run {job_id} was imported: its files belong to the import tree; remove them there"
                ));
                continue;
            }
            // Rows first, in one transaction: a crash after it leaves only
            // unreachable files, never a run whose files are half gone.
            if !self.store.purge_job(job_id, cutoff).await? {
                continue;
            }
            let mut dirs = from.files.job_dirs(job_id);
            dirs.push(from.logs.job_dir(job_id));
            for dir in dirs {
                remove_dir(&dir).await;
            }
            metrics.forget_job(job_id).await;
            report.purged.push(job_id);
        }
        if !report.purged.is_empty() {
            tracing::info!(runs = report.purged.len(), "purged archived runs");
        }
        Ok(report)
    }
}

/// Removes a directory tree; one that is not there is fine, other failures
/// are logged (the rows are already gone, so the files are unreachable).
pub(crate) async fn remove_dir(dir: &std::path::Path) {
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("could not remove {}: {e}", dir.display()),
    }
}
