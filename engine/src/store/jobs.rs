//! The `sweeps`, `jobs` and `attempts` tables. Every job transition is
//! written here before it is published, so a restart (even `kill -9`) loses
//! no queued or running job.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use trainyard_core::{AttemptView, JobStatus, JobView, Priority};

use super::Store;
use crate::error::EngineError;

/// A job as stored: what the API shows plus the resolved config.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub view: JobView,
    pub config_yaml: String,
}

/// A new sweep to insert.
pub struct NewSweep<'a> {
    pub project: &'a str,
    pub source_yaml: &'a str,
    pub created_ms: i64,
    /// The catalog launch that made it: one `job_launches` row per job,
    /// written in the same transaction.
    pub launch: Option<&'a NewLaunch>,
}

/// What launched a sweep from the catalog: the task, the revision, and each
/// job's field values (JSON objects, in job order).
#[derive(Debug, Clone, PartialEq)]
pub struct NewLaunch {
    pub task_type: String,
    pub revision_id: i64,
    pub values_json: Vec<String>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub sweep_id: Option<i64>,
    /// At most this many, newest first (default 500, at most 5,000).
    pub limit: Option<u32>,
}

const DEFAULT_LIST_LIMIT: u32 = 500;
const MAX_LIST_LIMIT: u32 = 5_000;

pub(super) const JOB_COLUMNS: &str =
    "id, sweep_id, project, name, status, priority, command, workdir, \
    config_yaml, params, gpus, host_pin, min_gpu_memory_mb, gpu_ids, retries, timeout_secs, attempt, \
    host_id, gpu_indices, created_ms, started_ms, finished_ms, duration_ms, exit_code, reason, \
    cancel_requested, rerun_of, code_from, free_attempts, preempted_for";

impl Store {
    /// Inserts a sweep and its jobs in one transaction; returns the sweep id
    /// and the jobs with their ids filled in.
    pub async fn insert_sweep(
        &self,
        sweep: NewSweep<'_>,
        mut jobs: Vec<JobRow>,
    ) -> Result<(i64, Vec<JobRow>), EngineError> {
        let mut tx = self.pool.begin().await?;
        let sweep_id = sqlx::query(
            "INSERT INTO sweeps (project, source_yaml, created_ms, job_count) VALUES (?, ?, ?, ?)",
        )
        .bind(sweep.project)
        .bind(sweep.source_yaml)
        .bind(sweep.created_ms)
        .bind(i64::try_from(jobs.len()).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        for (i, job) in jobs.iter_mut().enumerate() {
            job.view.sweep_id = sweep_id;
            job.view.id = insert_job(&mut tx, job).await?;
            if let Some(launch) = sweep.launch {
                sqlx::query(
                    "INSERT INTO job_launches (job_id, task_type, revision_id, field_values)
                     VALUES (?, ?, ?, ?)",
                )
                .bind(job.view.id)
                .bind(&launch.task_type)
                .bind(launch.revision_id)
                .bind(launch.values_json.get(i).map_or("{}", String::as_str))
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok((sweep_id, jobs))
    }

    /// Inserts one job into an existing sweep (a re-run); returns it with its id.
    pub async fn insert_job(&self, mut job: JobRow) -> Result<JobRow, EngineError> {
        let mut tx = self.pool.begin().await?;
        job.view.id = insert_job(&mut tx, &job).await?;
        sqlx::query("UPDATE sweeps SET job_count = job_count + 1 WHERE id = ?")
            .bind(job.view.sweep_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Writes the changing columns of `jobs` and upserts `attempts`, all in
    /// one transaction.
    pub async fn save_job_changes(
        &self,
        jobs: &[&JobView],
        attempts: &[(i64, AttemptView)],
    ) -> Result<(), EngineError> {
        if jobs.is_empty() && attempts.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for job in jobs {
            sqlx::query(
                "UPDATE jobs SET status = ?, priority = ?, attempt = ?, host_id = ?, gpu_indices = ?,
                   started_ms = ?, finished_ms = ?, duration_ms = ?, exit_code = ?, reason = ?,
                   cancel_requested = ?, free_attempts = ?, preempted_for = ?
                 WHERE id = ?",
            )
            .bind(job.status.label())
            .bind(i64::from(job.priority.rank()))
            .bind(i64::from(job.attempt))
            .bind(&job.host_id)
            .bind(json(&job.gpu_indices))
            .bind(job.started_ms)
            .bind(job.finished_ms)
            .bind(job.duration_ms)
            .bind(job.exit_code)
            .bind(&job.reason)
            .bind(job.cancel_requested)
            .bind(i64::from(job.free_attempts))
            .bind(job.preempted_for)
            .bind(job.id)
            .execute(&mut *tx)
            .await?;
        }
        for (job_id, attempt) in attempts {
            sqlx::query(
                "INSERT INTO attempts (job_id, attempt, host_id, gpu_indices, status, assigned_ms,
                   started_ms, finished_ms, exit_code, reason)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(job_id, attempt) DO UPDATE SET
                   status = excluded.status, started_ms = excluded.started_ms,
                   finished_ms = excluded.finished_ms, exit_code = excluded.exit_code,
                   reason = excluded.reason",
            )
            .bind(job_id)
            .bind(i64::from(attempt.attempt))
            .bind(&attempt.host_id)
            .bind(json(&attempt.gpu_indices))
            .bind(attempt.status.label())
            .bind(attempt.assigned_ms)
            .bind(attempt.started_ms)
            .bind(attempt.finished_ms)
            .bind(attempt.exit_code)
            .bind(&attempt.reason)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Jobs that are not finished (queued, assigned, running, lost): what the
    /// scheduler keeps in memory. Imported runs and runs an MLflow client
    /// created are never scheduled.
    pub async fn unfinished_jobs(&self) -> Result<Vec<JobRow>, EngineError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs
             WHERE status IN {}
               AND id NOT IN (SELECT job_id FROM imported_runs)
               AND id NOT IN (SELECT job_id FROM tracked_runs)
             ORDER BY id",
            super::unfinished_statuses_sql()
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(job_row).collect()
    }

    /// Jobs matching `filter`, newest first.
    pub async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<JobView>, EngineError> {
        let limit = filter
            .limit
            .unwrap_or(DEFAULT_LIST_LIMIT)
            .clamp(1, MAX_LIST_LIMIT);
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR sweep_id = ?2)
             ORDER BY id DESC LIMIT ?3"
        );
        let rows = sqlx::query(&sql)
            .bind(filter.status.map(JobStatus::label))
            .bind(filter.sweep_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| job_row(r).map(|row| row.view))
            .collect()
    }

    /// One job, if it exists.
    pub async fn job(&self, id: i64) -> Result<Option<JobRow>, EngineError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_row).transpose()
    }

    /// The newest job named `name` (run names are unique within a sweep).
    pub async fn job_id_by_name(&self, name: &str) -> Result<Option<i64>, EngineError> {
        let row = sqlx::query("SELECT id FROM jobs WHERE name = ? ORDER BY id DESC LIMIT 1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// A job's attempts, oldest first.
    pub async fn attempts(&self, job_id: i64) -> Result<Vec<AttemptView>, EngineError> {
        let rows = sqlx::query(
            "SELECT attempt, host_id, gpu_indices, status, assigned_ms, started_ms, finished_ms,
               exit_code, reason
             FROM attempts WHERE job_id = ? ORDER BY attempt",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AttemptView {
                    attempt: u32_col(r, "attempt")?,
                    host_id: r.try_get("host_id")?,
                    gpu_indices: from_json(r, "gpu_indices")?,
                    status: status_col(r)?,
                    assigned_ms: r.try_get("assigned_ms")?,
                    started_ms: r.try_get("started_ms")?,
                    finished_ms: r.try_get("finished_ms")?,
                    exit_code: r.try_get("exit_code")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }
}

/// Inserts a sweep of one job, for a run that was not submitted (an
/// imported or client-created run); returns its id.
pub(super) async fn insert_single_sweep(
    tx: &mut Transaction<'_, Sqlite>,
    sweep: &NewSweep<'_>,
) -> Result<i64, EngineError> {
    Ok(sqlx::query(
        "INSERT INTO sweeps (project, source_yaml, created_ms, job_count) VALUES (?, ?, ?, 1)",
    )
    .bind(sweep.project)
    .bind(sweep.source_yaml)
    .bind(sweep.created_ms)
    .execute(&mut **tx)
    .await?
    .last_insert_rowid())
}

pub(super) async fn insert_job(
    tx: &mut Transaction<'_, Sqlite>,
    job: &JobRow,
) -> Result<i64, EngineError> {
    let v = &job.view;
    let id = sqlx::query(
        "INSERT INTO jobs (sweep_id, project, name, status, priority, command, workdir, config_yaml,
           params, gpus, host_pin, min_gpu_memory_mb, gpu_ids, retries, timeout_secs, attempt,
           created_ms, rerun_of, code_from, started_ms, reason)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(v.sweep_id)
    .bind(&v.project)
    .bind(&v.name)
    .bind(v.status.label())
    .bind(i64::from(v.priority.rank()))
    .bind(json(&v.command))
    .bind(&v.workdir)
    .bind(&job.config_yaml)
    .bind(json(&v.params))
    .bind(i64::from(v.gpus))
    .bind(&v.host_pin)
    .bind(v.min_gpu_memory_mb.map(|m| i64::try_from(m).unwrap_or(i64::MAX)))
    .bind(json(&v.gpu_ids))
    .bind(i64::from(v.retries))
    .bind(v.timeout_secs.map(|t| i64::try_from(t).unwrap_or(i64::MAX)))
    .bind(i64::from(v.attempt))
    .bind(v.created_ms)
    .bind(v.rerun_of)
    .bind(v.code_from)
    .bind(v.started_ms)
    .bind(&v.reason)
    .execute(&mut **tx)
    .await?
    .last_insert_rowid();
    Ok(id)
}

pub(super) fn job_row(r: &SqliteRow) -> Result<JobRow, EngineError> {
    let priority_rank: i64 = r.try_get("priority")?;
    let view = JobView {
        id: r.try_get("id")?,
        sweep_id: r.try_get("sweep_id")?,
        project: r.try_get("project")?,
        name: r.try_get("name")?,
        status: status_col(r)?,
        priority: Priority::from_rank(priority_rank).unwrap_or_default(),
        command: from_json(r, "command")?,
        workdir: r.try_get("workdir")?,
        gpus: u32_col(r, "gpus")?,
        host_pin: r.try_get("host_pin")?,
        min_gpu_memory_mb: opt_u64_col(r, "min_gpu_memory_mb")?,
        gpu_ids: from_json(r, "gpu_ids")?,
        retries: u32_col(r, "retries")?,
        timeout_secs: opt_u64_col(r, "timeout_secs")?,
        params: from_json(r, "params")?,
        attempt: u32_col(r, "attempt")?,
        host_id: r.try_get("host_id")?,
        gpu_indices: from_json(r, "gpu_indices")?,
        created_ms: r.try_get("created_ms")?,
        started_ms: r.try_get("started_ms")?,
        finished_ms: r.try_get("finished_ms")?,
        duration_ms: r.try_get("duration_ms")?,
        exit_code: r.try_get("exit_code")?,
        reason: r.try_get("reason")?,
        waiting: None,
        cancel_requested: r.try_get("cancel_requested")?,
        rerun_of: r.try_get("rerun_of")?,
        code_from: r.try_get("code_from")?,
        free_attempts: u32_col(r, "free_attempts")?,
        preempted_for: r.try_get("preempted_for")?,
    };
    Ok(JobRow {
        view,
        config_yaml: r.try_get("config_yaml")?,
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

fn corrupt(column: &str, detail: impl std::fmt::Display) -> EngineError {
    EngineError::Database(sqlx::Error::Decode(
        format!("column {column}: {detail}").into(),
    ))
}

fn from_json<T: serde::de::DeserializeOwned>(
    r: &SqliteRow,
    column: &str,
) -> Result<T, EngineError> {
    let text: String = r.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(column, e))
}

fn status_col(r: &SqliteRow) -> Result<JobStatus, EngineError> {
    let text: String = r.try_get("status")?;
    text.parse().map_err(|e| corrupt("status", e))
}

fn u32_col(r: &SqliteRow, column: &str) -> Result<u32, EngineError> {
    let value: i64 = r.try_get(column)?;
    u32::try_from(value).map_err(|e| corrupt(column, e))
}

fn opt_u64_col(r: &SqliteRow, column: &str) -> Result<Option<u64>, EngineError> {
    let value: Option<i64> = r.try_get(column)?;
    value
        .map(|v| u64::try_from(v).map_err(|e| corrupt(column, e)))
        .transpose()
}
