//! The `metric_series` table: the catalog of a job's metric series, with a
//! running summary each. The points are in files (see `crate::metrics`).

use sqlx::Row;

use super::Store;
use crate::error::EngineError;

/// Problems kept per job; later ones are only logged.
pub const MAX_PROBLEMS_PER_JOB: i64 = 100;

pub use trainyard_core::metrics::RunProblem;

/// One series as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub id: i64,
    pub job_id: i64,
    pub key: String,
    /// Records of the points file that are committed.
    pub count: u64,
    pub last: f64,
    pub min: f64,
    pub max: f64,
    pub last_step: f64,
    pub min_step: f64,
    pub max_step: f64,
    pub monotonic: bool,
    pub updated_ms: i64,
}

/// A CSV or event file's read position, saved with the points it produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorSave {
    pub table: CursorTable,
    pub job_id: i64,
    pub attempt: u32,
    pub path: String,
    pub cursor_json: String,
}

/// Which kind of file a cursor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorTable {
    /// `csv_cursors`.
    Csv,
    /// `tfevents_cursors` (TensorBoard event files).
    TfEvents,
}

impl CursorTable {
    fn select(self) -> &'static str {
        match self {
            CursorTable::Csv => {
                "SELECT cursor FROM csv_cursors WHERE job_id = ? AND attempt = ? AND path = ?"
            }
            CursorTable::TfEvents => {
                "SELECT cursor FROM tfevents_cursors WHERE job_id = ? AND attempt = ? AND path = ?"
            }
        }
    }

    fn upsert(self) -> &'static str {
        match self {
            CursorTable::Csv => {
                "INSERT INTO csv_cursors (job_id, attempt, path, cursor) VALUES (?, ?, ?, ?)
                 ON CONFLICT (job_id, attempt, path) DO UPDATE SET cursor = excluded.cursor"
            }
            CursorTable::TfEvents => {
                "INSERT INTO tfevents_cursors (job_id, attempt, path, cursor) VALUES (?, ?, ?, ?)
                 ON CONFLICT (job_id, attempt, path) DO UPDATE SET cursor = excluded.cursor"
            }
        }
    }
}

impl Store {
    /// The saved read position of a CSV run file, as JSON.
    pub async fn csv_cursor(
        &self,
        job_id: i64,
        attempt: u32,
        path: &str,
    ) -> Result<Option<String>, EngineError> {
        self.file_cursor(CursorTable::Csv, job_id, attempt, path)
            .await
    }

    /// The saved read position of a CSV or event file, as JSON.
    pub async fn file_cursor(
        &self,
        table: CursorTable,
        job_id: i64,
        attempt: u32,
        path: &str,
    ) -> Result<Option<String>, EngineError> {
        let row = sqlx::query(table.select())
            .bind(job_id)
            .bind(i64::from(attempt))
            .bind(path)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    /// Records problems found while indexing, keeping at most
    /// `MAX_PROBLEMS_PER_JOB` per job (the first ones).
    pub async fn add_run_problems(
        &self,
        job_id: i64,
        source: &str,
        problems: &[(Option<u64>, String)],
        now_ms: i64,
    ) -> Result<(), EngineError> {
        if problems.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let stored: i64 = sqlx::query("SELECT COUNT(*) FROM run_problems WHERE job_id = ?")
            .bind(job_id)
            .fetch_one(&mut *tx)
            .await?
            .get(0);
        let room =
            usize::try_from(MAX_PROBLEMS_PER_JOB - stored.min(MAX_PROBLEMS_PER_JOB)).unwrap_or(0);
        for (line, message) in problems.iter().take(room) {
            sqlx::query(
                "INSERT INTO run_problems (job_id, source, line, message, created_ms) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(job_id)
            .bind(source)
            .bind(line.map(|l| i64::try_from(l).unwrap_or(i64::MAX)))
            .bind(message)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Problems found while indexing the job's files, oldest first.
    pub async fn run_problems(&self, job_id: i64) -> Result<Vec<RunProblem>, EngineError> {
        let rows = sqlx::query(
            "SELECT source, line, message, created_ms FROM run_problems WHERE job_id = ? ORDER BY id",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| RunProblem {
                source: r.get(0),
                line: r
                    .get::<Option<i64>, _>(1)
                    .and_then(|l| u64::try_from(l).ok()),
                message: r.get(2),
                created_ms: r.get(3),
            })
            .collect())
    }

    /// Every series of `job_id`, empty ones included, ordered by key.
    pub async fn metric_series_of(&self, job_id: i64) -> Result<Vec<SeriesRow>, EngineError> {
        let rows = sqlx::query(
            "SELECT id, job_id, key, count, last, min, max, last_step, min_step, max_step,
                    monotonic, updated_ms
             FROM metric_series WHERE job_id = ? ORDER BY key",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(SeriesRow {
                    id: r.try_get("id")?,
                    job_id: r.try_get("job_id")?,
                    key: r.try_get("key")?,
                    count: u64::try_from(r.try_get::<i64, _>("count")?).unwrap_or(0),
                    last: r.try_get("last")?,
                    min: r.try_get("min")?,
                    max: r.try_get("max")?,
                    last_step: r.try_get("last_step")?,
                    min_step: r.try_get("min_step")?,
                    max_step: r.try_get("max_step")?,
                    monotonic: r.try_get::<i64, _>("monotonic")? != 0,
                    updated_ms: r.try_get("updated_ms")?,
                })
            })
            .collect()
    }

    /// Creates empty series for `keys` of `job_id` in one transaction and
    /// returns their ids, in the order of `keys`.
    pub async fn create_metric_series(
        &self,
        job_id: i64,
        keys: &[&str],
        now_ms: i64,
    ) -> Result<Vec<i64>, EngineError> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(keys.len());
        for key in keys {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO metric_series (job_id, key, updated_ms) VALUES (?, ?, ?) RETURNING id",
            )
            .bind(job_id)
            .bind(key)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await?;
            ids.push(id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    /// Writes the summaries of `rows` (by id) in one transaction.
    pub async fn update_metric_series(
        &self,
        rows: &[&SeriesRow],
        cursor: Option<&CursorSave>,
    ) -> Result<(), EngineError> {
        if rows.is_empty() && cursor.is_none() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if let Some(save) = cursor {
            sqlx::query(save.table.upsert())
                .bind(save.job_id)
                .bind(i64::from(save.attempt))
                .bind(&save.path)
                .bind(&save.cursor_json)
                .execute(&mut *tx)
                .await?;
        }
        for row in rows {
            sqlx::query(
                "UPDATE metric_series SET count = ?, last = ?, min = ?, max = ?, last_step = ?,
                        min_step = ?, max_step = ?, monotonic = ?, updated_ms = ?
                 WHERE id = ?",
            )
            .bind(i64::try_from(row.count).unwrap_or(i64::MAX))
            .bind(row.last)
            .bind(row.min)
            .bind(row.max)
            .bind(row.last_step)
            .bind(row.min_step)
            .bind(row.max_step)
            .bind(i64::from(row.monotonic))
            .bind(row.updated_ms)
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
