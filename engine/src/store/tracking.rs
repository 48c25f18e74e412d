//! The tracking tables: projects as numbered MLflow experiments, runs an
//! MLflow client created, and MLflow tags of any run.

use sqlx::Row;

use super::jobs::{insert_job, insert_single_sweep, JobRow, NewSweep};
use super::Store;
use crate::error::EngineError;

/// A project as an MLflow experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentRow {
    pub id: i64,
    pub project: String,
    pub lifecycle_stage: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

const EXPERIMENT_COLUMNS: &str = "id, project, lifecycle_stage, created_ms, updated_ms";

fn experiment(r: &sqlx::sqlite::SqliteRow) -> ExperimentRow {
    ExperimentRow {
        id: r.get(0),
        project: r.get(1),
        lifecycle_stage: r.get(2),
        created_ms: r.get(3),
        updated_ms: r.get(4),
    }
}

impl Store {
    pub async fn experiment_by_id(&self, id: i64) -> Result<Option<ExperimentRow>, EngineError> {
        let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM tracking_experiments WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(experiment))
    }

    pub async fn experiment_by_project(
        &self,
        project: &str,
    ) -> Result<Option<ExperimentRow>, EngineError> {
        let sql =
            format!("SELECT {EXPERIMENT_COLUMNS} FROM tracking_experiments WHERE project = ?");
        let row = sqlx::query(&sql)
            .bind(project)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(experiment))
    }

    /// Numbers `project` as an experiment (once; an existing number is kept).
    pub async fn number_project(
        &self,
        project: &str,
        now_ms: i64,
    ) -> Result<ExperimentRow, EngineError> {
        // Reads first: numbering happens once per project, reading always.
        if let Some(row) = self.experiment_by_project(project).await? {
            return Ok(row);
        }
        sqlx::query(
            "INSERT INTO tracking_experiments (project, created_ms, updated_ms) VALUES (?, ?, ?)
             ON CONFLICT (project) DO NOTHING",
        )
        .bind(project)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        self.experiment_by_project(project)
            .await?
            .ok_or_else(|| EngineError::ExperimentNotFound(project.to_string()))
    }

    /// Every project that has jobs or an experiment number, numbered.
    pub async fn number_all_projects(
        &self,
        now_ms: i64,
    ) -> Result<Vec<ExperimentRow>, EngineError> {
        sqlx::query(
            "INSERT INTO tracking_experiments (project, created_ms, updated_ms)
             SELECT DISTINCT project, ?, ? FROM jobs WHERE true
             ON CONFLICT (project) DO NOTHING",
        )
        .bind(now_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        let sql = format!("SELECT {EXPERIMENT_COLUMNS} FROM tracking_experiments ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(experiment).collect())
    }

    /// Renames an experiment's project: its jobs move with it.
    pub async fn rename_experiment(
        &self,
        id: i64,
        old: &str,
        new: &str,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE tracking_experiments SET project = ?, updated_ms = ? WHERE id = ?")
            .bind(new)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE jobs SET project = ? WHERE project = ?")
            .bind(new)
            .bind(old)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sweeps SET project = ? WHERE project = ?")
            .bind(new)
            .bind(old)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_experiment_stage(
        &self,
        id: i64,
        stage: &str,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        sqlx::query(
            "UPDATE tracking_experiments SET lifecycle_stage = ?, updated_ms = ? WHERE id = ?",
        )
        .bind(stage)
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn experiment_tags(&self, id: i64) -> Result<Vec<(String, String)>, EngineError> {
        let rows = sqlx::query(
            "SELECT key, value FROM tracking_experiment_tags WHERE experiment_id = ? ORDER BY key",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn set_experiment_tag(
        &self,
        id: i64,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), EngineError> {
        match value {
            Some(value) => {
                sqlx::query(
                    "INSERT INTO tracking_experiment_tags (experiment_id, key, value) VALUES (?, ?, ?)
                     ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                )
                .bind(id)
                .bind(key)
                .bind(value)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM tracking_experiment_tags WHERE experiment_id = ? AND key = ?",
                )
                .bind(id)
                .bind(key)
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }

    /// Inserts a run an MLflow client created: its own sweep, the job, the
    /// tracked-run record and its first tags, in one transaction.
    pub async fn insert_tracked_run(
        &self,
        sweep: NewSweep<'_>,
        mut job: JobRow,
        user_id: &str,
        tags: &[(String, String)],
    ) -> Result<JobRow, EngineError> {
        let mut tx = self.pool.begin().await?;
        job.view.sweep_id = insert_single_sweep(&mut tx, &sweep).await?;
        job.view.id = insert_job(&mut tx, &job).await?;
        sqlx::query("INSERT INTO tracked_runs (job_id, user_id) VALUES (?, ?)")
            .bind(job.view.id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for (key, value) in tags {
            sqlx::query(
                "INSERT INTO tracking_tags (job_id, key, value) VALUES (?, ?, ?)
                 ON CONFLICT (job_id, key) DO UPDATE SET value = excluded.value",
            )
            .bind(job.view.id)
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(job)
    }

    /// The MLflow user of a run an MLflow client created; `None` for jobs
    /// the queue ran.
    pub async fn tracked_run_user(&self, job_id: i64) -> Result<Option<String>, EngineError> {
        let row = sqlx::query("SELECT user_id FROM tracked_runs WHERE job_id = ?")
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn run_tags(&self, job_id: i64) -> Result<Vec<(String, String)>, EngineError> {
        let rows =
            sqlx::query("SELECT key, value FROM tracking_tags WHERE job_id = ? ORDER BY key")
                .bind(job_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Writes a batch of params and tags of a run in one transaction:
    /// `params` replace the job's parameter list, `tags` are upserted,
    /// `name` renames the job.
    pub async fn save_tracked_fields(
        &self,
        job_id: i64,
        params: Option<&[(String, String)]>,
        tags: &[(String, String)],
        name: Option<&str>,
    ) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        if let Some(params) = params {
            sqlx::query("UPDATE jobs SET params = ? WHERE id = ?")
                .bind(serde_json::to_string(params).unwrap_or_else(|_| "[]".into()))
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        for (key, value) in tags {
            sqlx::query(
                "INSERT INTO tracking_tags (job_id, key, value) VALUES (?, ?, ?)
                 ON CONFLICT (job_id, key) DO UPDATE SET value = excluded.value",
            )
            .bind(job_id)
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(name) = name {
            sqlx::query("UPDATE jobs SET name = ? WHERE id = ?")
                .bind(name)
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_run_tag(&self, job_id: i64, key: &str) -> Result<bool, EngineError> {
        let done = sqlx::query("DELETE FROM tracking_tags WHERE job_id = ? AND key = ?")
            .bind(job_id)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Status and times of a run an MLflow client created.
    pub async fn update_tracked_status(&self, job: &JobRow) -> Result<(), EngineError> {
        let v = &job.view;
        sqlx::query(
            "UPDATE jobs SET status = ?, started_ms = ?, finished_ms = ?, duration_ms = ?
             WHERE id = ? AND id IN (SELECT job_id FROM tracked_runs)",
        )
        .bind(v.status.label())
        .bind(v.started_ms)
        .bind(v.finished_ms)
        .bind(v.duration_ms)
        .bind(v.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether job `job_id` is archived (MLflow's `deleted`); `None` if
    /// there is no such job.
    pub async fn archived(&self, job_id: i64) -> Result<Option<bool>, EngineError> {
        let row = sqlx::query("SELECT archived_ms IS NOT NULL FROM jobs WHERE id = ?")
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<bool, _>(0)))
    }

    /// Whether job `job_id` is archived (false if there is no such job).
    pub async fn is_archived(&self, job_id: i64) -> Result<bool, EngineError> {
        Ok(self.archived(job_id).await?.unwrap_or(false))
    }

    /// Ids of the jobs of `projects`, newest first.
    pub async fn job_ids_of_projects(&self, projects: &[String]) -> Result<Vec<i64>, EngineError> {
        let mut ids = Vec::new();
        for project in projects {
            let rows = sqlx::query("SELECT id FROM jobs WHERE project = ? ORDER BY id DESC")
                .bind(project)
                .fetch_all(&self.pool)
                .await?;
            ids.extend(rows.iter().map(|r| r.get::<i64, _>(0)));
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ids)
    }
}
