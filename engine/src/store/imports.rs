//! The `imported_runs` table: runs indexed from an existing log tree, each a
//! job found again by `(root, project, run)` so re-indexing keeps its id
//! (and with it notes, tags and metric series).

use sqlx::Row;

use super::jobs::{insert_job, insert_single_sweep, JobRow, NewSweep};
use super::Store;
use crate::error::EngineError;

/// Where an imported run's files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRun {
    pub job_id: i64,
    pub root: String,
    pub project: String,
    pub run: String,
    /// Sizes and modification times of its files when last indexed.
    pub signature: String,
    /// A TensorBoard run: the directory holding its event files.
    pub run_dir: Option<String>,
}

impl ImportedRun {
    /// The directory its file paths are relative to: a TensorBoard run's
    /// own, or a CVLab-Kit run's project directory.
    pub fn base_dir(&self) -> std::path::PathBuf {
        match &self.run_dir {
            Some(dir) => dir.into(),
            None => std::path::Path::new(&self.root).join(&self.project),
        }
    }
}

impl Store {
    pub async fn imported_run(
        &self,
        root: &str,
        project: &str,
        run: &str,
    ) -> Result<Option<ImportedRun>, EngineError> {
        let row = sqlx::query(
            "SELECT job_id, root, project, run, signature, run_dir FROM imported_runs
             WHERE root = ? AND project = ? AND run = ?",
        )
        .bind(root)
        .bind(project)
        .bind(run)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| imported(&r)))
    }

    pub async fn imported_run_of_job(
        &self,
        job_id: i64,
    ) -> Result<Option<ImportedRun>, EngineError> {
        let row = sqlx::query(
            "SELECT job_id, root, project, run, signature, run_dir FROM imported_runs WHERE job_id = ?",
        )
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| imported(&r)))
    }

    /// Inserts a run found in a log tree: its own sweep, the job and the
    /// import record, in one transaction.
    pub async fn insert_imported_run(
        &self,
        sweep: NewSweep<'_>,
        mut job: JobRow,
        root: &str,
        run: &str,
        signature: &str,
    ) -> Result<JobRow, EngineError> {
        let mut tx = self.pool.begin().await?;
        job.view.sweep_id = insert_single_sweep(&mut tx, &sweep).await?;
        job.view.id = insert_job(&mut tx, &job).await?;
        sqlx::query(
            "INSERT INTO imported_runs (job_id, root, project, run, signature) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(job.view.id)
        .bind(root)
        .bind(sweep.project)
        .bind(run)
        .bind(signature)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Saves what a re-index found: the job's status and times, its config
    /// and parameters, and the files' new signature.
    pub async fn update_imported_run(
        &self,
        job: &JobRow,
        signature: &str,
    ) -> Result<(), EngineError> {
        let view = &job.view;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE jobs SET status = ?, started_ms = ?, finished_ms = ?, duration_ms = ?,
               reason = ?, config_yaml = ?, params = ?, command = ?
             WHERE id = ?",
        )
        .bind(view.status.label())
        .bind(view.started_ms)
        .bind(view.finished_ms)
        .bind(view.duration_ms)
        .bind(&view.reason)
        .bind(&job.config_yaml)
        .bind(serde_json::to_string(&view.params).unwrap_or_else(|_| "[]".into()))
        .bind(serde_json::to_string(&view.command).unwrap_or_else(|_| "[]".into()))
        .bind(view.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE imported_runs SET signature = ? WHERE job_id = ?")
            .bind(signature)
            .bind(view.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records where an imported TensorBoard run's event files are.
    pub async fn set_imported_run_dir(
        &self,
        job_id: i64,
        run_dir: &str,
    ) -> Result<(), EngineError> {
        sqlx::query("UPDATE imported_runs SET run_dir = ? WHERE job_id = ?")
            .bind(run_dir)
            .bind(job_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets every signature, so the next scan re-reads every run.
    pub async fn clear_import_signatures(&self) -> Result<(), EngineError> {
        sqlx::query("UPDATE imported_runs SET signature = ''")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn imported(r: &sqlx::sqlite::SqliteRow) -> ImportedRun {
    ImportedRun {
        job_id: r.get(0),
        root: r.get(1),
        project: r.get(2),
        run: r.get(3),
        signature: r.get(4),
        run_dir: r.get(5),
    }
}
