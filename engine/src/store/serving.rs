//! `model_serving`: deployments of a model's stage and where their
//! current attempt answers.

use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::Store;
use crate::error::EngineError;

/// A deployment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServingRow {
    pub id: i64,
    pub model: String,
    pub stage: String,
    pub version: String,
    pub command: String,
    pub health_path: String,
    pub gpus: u32,
    pub host_pin: Option<String>,
    pub job_id: i64,
    pub created_ms: i64,
    pub endpoint_attempt: Option<u32>,
    pub endpoint_address: Option<String>,
    pub endpoint_port: Option<u16>,
    pub healthy_ms: Option<i64>,
    pub stopped_ms: Option<i64>,
}

const COLUMNS: &str = "id, model, stage, version, command, health_path, gpus, host_pin, job_id, \
    created_ms, endpoint_attempt, endpoint_address, endpoint_port, healthy_ms, stopped_ms";

fn row(r: &SqliteRow) -> Result<ServingRow, EngineError> {
    let gpus: i64 = r.try_get("gpus")?;
    let attempt: Option<i64> = r.try_get("endpoint_attempt")?;
    let port: Option<i64> = r.try_get("endpoint_port")?;
    Ok(ServingRow {
        id: r.try_get("id")?,
        model: r.try_get("model")?,
        stage: r.try_get("stage")?,
        version: r.try_get("version")?,
        command: r.try_get("command")?,
        health_path: r.try_get("health_path")?,
        gpus: u32::try_from(gpus).unwrap_or(0),
        host_pin: r.try_get("host_pin")?,
        job_id: r.try_get("job_id")?,
        created_ms: r.try_get("created_ms")?,
        endpoint_attempt: attempt.and_then(|a| u32::try_from(a).ok()),
        endpoint_address: r.try_get("endpoint_address")?,
        endpoint_port: port.and_then(|p| u16::try_from(p).ok()),
        healthy_ms: r.try_get("healthy_ms")?,
        stopped_ms: r.try_get("stopped_ms")?,
    })
}

impl Store {
    /// Records a new deployment; `replaces` (the stage's live one, if any)
    /// is marked stopped in the same transaction.
    pub async fn insert_serving(
        &self,
        new: &ServingRow,
        replaces: Option<i64>,
    ) -> Result<i64, EngineError> {
        let mut tx = self.pool.begin().await?;
        if let Some(old) = replaces {
            sqlx::query(
                "UPDATE model_serving SET stopped_ms = ? WHERE id = ? AND stopped_ms IS NULL",
            )
            .bind(new.created_ms)
            .bind(old)
            .execute(&mut *tx)
            .await?;
        }
        let id = sqlx::query(
            "INSERT INTO model_serving (model, stage, version, command, health_path, gpus,
               host_pin, job_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&new.model)
        .bind(&new.stage)
        .bind(&new.version)
        .bind(&new.command)
        .bind(&new.health_path)
        .bind(i64::from(new.gpus))
        .bind(&new.host_pin)
        .bind(new.job_id)
        .bind(new.created_ms)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        tx.commit().await?;
        Ok(id)
    }

    /// The live (not stopped) deployment of a model's stage.
    pub async fn live_serving(
        &self,
        model: &str,
        stage: &str,
    ) -> Result<Option<ServingRow>, EngineError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM model_serving WHERE model = ? AND stage = ? AND stopped_ms IS NULL"
        );
        let found = sqlx::query(&sql)
            .bind(model)
            .bind(stage)
            .fetch_optional(&self.pool)
            .await?;
        found.as_ref().map(row).transpose()
    }

    /// The deployment a job runs, if it is one.
    pub async fn serving_of_job(&self, job_id: i64) -> Result<Option<ServingRow>, EngineError> {
        let sql = format!("SELECT {COLUMNS} FROM model_serving WHERE job_id = ?");
        let found = sqlx::query(&sql)
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?;
        found.as_ref().map(row).transpose()
    }

    /// A model's deployments, newest first, at most `limit`.
    pub async fn model_serving(
        &self,
        model: &str,
        limit: u32,
    ) -> Result<Vec<ServingRow>, EngineError> {
        let sql =
            format!("SELECT {COLUMNS} FROM model_serving WHERE model = ? ORDER BY id DESC LIMIT ?");
        let rows = sqlx::query(&sql)
            .bind(model)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row).collect()
    }

    /// The command the model was last served with, for a default.
    pub async fn last_serving_command(&self, model: &str) -> Result<Option<String>, EngineError> {
        Ok(sqlx::query_scalar(
            "SELECT command FROM model_serving WHERE model = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(model)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records where `attempt` of a deployment answers; the first healthy
    /// report of an attempt sets `healthy_ms`.
    pub async fn set_serving_endpoint(
        &self,
        id: i64,
        attempt: u32,
        address: &str,
        port: u16,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        sqlx::query(
            "UPDATE model_serving SET
               healthy_ms = CASE WHEN endpoint_attempt IS ? THEN healthy_ms ELSE ? END,
               endpoint_attempt = ?, endpoint_address = ?, endpoint_port = ?
             WHERE id = ?",
        )
        .bind(i64::from(attempt))
        .bind(now_ms)
        .bind(i64::from(attempt))
        .bind(address)
        .bind(i64::from(port))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Marks a deployment stopped (once).
    pub async fn stop_serving(&self, id: i64, now_ms: i64) -> Result<(), EngineError> {
        sqlx::query("UPDATE model_serving SET stopped_ms = ? WHERE id = ? AND stopped_ms IS NULL")
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
