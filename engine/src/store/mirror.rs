//! `model_mirror`: the FTP mirror's queue of tasks (migration 0014).

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use trainyard_core::models::{MirrorStatus, MirrorTask, Stage};

use super::Store;
use crate::error::EngineError;

const COLUMNS: &str = "id, model, stage, version, target, status, attempts, last_error, \
     created_ms, updated_ms, next_attempt_ms";

fn task(r: &SqliteRow) -> Result<MirrorTask, sqlx::Error> {
    let stage: String = r.try_get("stage")?;
    let status: String = r.try_get("status")?;
    let status: MirrorStatus = status
        .parse()
        .map_err(|e: String| sqlx::Error::Decode(e.into()))?;
    let next: i64 = r.try_get("next_attempt_ms")?;
    Ok(MirrorTask {
        id: r.try_get("id")?,
        model: r.try_get("model")?,
        stage: stage
            .parse()
            .map_err(|e: String| sqlx::Error::Decode(e.into()))?,
        version: r.try_get("version")?,
        target: r.try_get("target")?,
        status,
        attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        last_error: r.try_get("last_error")?,
        created_ms: r.try_get("created_ms")?,
        updated_ms: r.try_get("updated_ms")?,
        next_attempt_ms: (status == MirrorStatus::Failed).then_some(next),
    })
}

/// Queues a mirror task inside the caller's transaction.
pub(super) async fn queue(
    tx: &mut SqliteConnection,
    model: &str,
    stage: Stage,
    version: Option<&str>,
    target: &str,
    now_ms: i64,
) -> Result<(), EngineError> {
    sqlx::query(
        "INSERT INTO model_mirror (model, stage, version, target, status, created_ms,
           updated_ms, next_attempt_ms) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
    )
    .bind(model)
    .bind(stage.as_str())
    .bind(version)
    .bind(target)
    .bind(now_ms)
    .bind(now_ms)
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl Store {
    /// Queues every version that has no task for `target` yet (the mirror
    /// was configured after it, or pointed elsewhere), oldest first; how many.
    pub async fn queue_unmirrored(&self, target: &str, now_ms: i64) -> Result<u64, EngineError> {
        let done = sqlx::query(
            "INSERT INTO model_mirror (model, stage, version, target, status, created_ms,
               updated_ms, next_attempt_ms)
             SELECT v.model, v.stage, v.version, ?1, 'pending', ?2, ?2, ?2
               FROM model_versions v
              WHERE NOT EXISTS (SELECT 1 FROM model_mirror m
                                 WHERE m.model = v.model AND m.stage = v.stage
                                   AND m.version = v.version AND m.target = ?1)
              ORDER BY v.id",
        )
        .bind(target)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The task for `target` to run next: of the oldest not-done task of
    /// each model's stage (a stage's tasks run in order), the one due first.
    pub async fn next_mirror_task(&self, target: &str) -> Result<Option<MirrorTask>, EngineError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM model_mirror m
              WHERE status != 'done' AND target = ?1
                AND NOT EXISTS (SELECT 1 FROM model_mirror e
                                 WHERE e.status != 'done' AND e.target = ?1
                                   AND e.model = m.model AND e.stage = m.stage AND e.id < m.id)
              ORDER BY next_attempt_ms, id LIMIT 1"
        ))
        .bind(target)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(task).transpose()?)
    }

    /// Records an attempt: done, or failed with `error` and when to retry.
    pub async fn mirror_attempted(
        &self,
        id: i64,
        error: Option<&str>,
        next_attempt_ms: i64,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let status = if error.is_some() {
            MirrorStatus::Failed
        } else {
            MirrorStatus::Done
        };
        sqlx::query(
            "UPDATE model_mirror SET status = ?, attempts = attempts + 1, last_error = ?,
               updated_ms = ?, next_attempt_ms = ? WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(now_ms)
        .bind(next_attempt_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A model's newest `limit` tasks, newest first.
    pub async fn mirror_tasks(
        &self,
        model: &str,
        limit: u32,
    ) -> Result<Vec<MirrorTask>, EngineError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM model_mirror WHERE model = ? ORDER BY id DESC LIMIT ?"
        ))
        .bind(model)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(task).collect::<Result<_, _>>()?)
    }
}
