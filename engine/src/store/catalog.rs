//! The `catalog_revisions` and `job_launches` tables.

use sqlx::Row;
use trainyard_core::catalog::CatalogRevision;

use super::Store;
use crate::error::EngineError;

const REVISION_COLUMNS: &str =
    "id, source, saved_by, created_ms, length(CAST(content AS BLOB)) AS bytes";

fn revision(row: &sqlx::sqlite::SqliteRow) -> Result<CatalogRevision, sqlx::Error> {
    Ok(CatalogRevision {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        saved_by: row.try_get("saved_by")?,
        created_ms: row.try_get("created_ms")?,
        bytes: u64::try_from(row.try_get::<i64, _>("bytes")?).unwrap_or(0),
    })
}

/// A job's launch record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchRow {
    pub task_type: String,
    pub revision_id: i64,
    pub values_json: String,
}

impl Store {
    /// The newest revision with its content.
    pub async fn latest_catalog(&self) -> Result<Option<(CatalogRevision, String)>, EngineError> {
        let row = sqlx::query(&format!(
            "SELECT {REVISION_COLUMNS}, content FROM catalog_revisions ORDER BY id DESC LIMIT 1"
        ))
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some((revision(&r)?, r.try_get("content")?)),
            None => None,
        })
    }

    /// One revision with its content.
    pub async fn catalog_revision(
        &self,
        id: i64,
    ) -> Result<Option<(CatalogRevision, String)>, EngineError> {
        let row = sqlx::query(&format!(
            "SELECT {REVISION_COLUMNS}, content FROM catalog_revisions WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some((revision(&r)?, r.try_get("content")?)),
            None => None,
        })
    }

    /// Every revision, newest first, without content.
    pub async fn catalog_revisions(&self) -> Result<Vec<CatalogRevision>, EngineError> {
        let rows = sqlx::query(&format!(
            "SELECT {REVISION_COLUMNS} FROM catalog_revisions ORDER BY id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(revision).collect::<Result<_, _>>()?)
    }

    /// Appends a revision; returns its id.
    pub async fn insert_catalog_revision(
        &self,
        content: &str,
        source: &str,
        saved_by: &str,
        created_ms: i64,
    ) -> Result<i64, EngineError> {
        Ok(sqlx::query(
            "INSERT INTO catalog_revisions (content, source, saved_by, created_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(content)
        .bind(source)
        .bind(saved_by)
        .bind(created_ms)
        .execute(&self.pool)
        .await?
        .last_insert_rowid())
    }

    /// What launched job `job_id`, if the catalog did.
    pub async fn job_launch(&self, job_id: i64) -> Result<Option<LaunchRow>, EngineError> {
        let row = sqlx::query(
            "SELECT task_type, revision_id, field_values FROM job_launches WHERE job_id = ?",
        )
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some(LaunchRow {
                task_type: r.try_get("task_type")?,
                revision_id: r.try_get("revision_id")?,
                values_json: r.try_get("field_values")?,
            }),
            None => None,
        })
    }
}
