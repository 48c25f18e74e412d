//! The model registry's tables: `models`, `model_versions`, `model_latest`,
//! and the runs a best-run query ranks.

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use trainyard_core::models::{ModelSource, ModelSummary, ModelVersionView, Stage};
use trainyard_core::JobStatus;

use super::Store;
use crate::error::EngineError;

/// A version as stored.
#[derive(Debug, Clone)]
pub struct ModelVersionRow {
    /// `latest` is false here; the caller knows the stage's pointer.
    pub view: ModelVersionView,
    pub manifest_json: String,
    pub staged_as: String,
}

/// A version to insert.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub view: ModelVersionView,
    pub job_id: Option<i64>,
    pub manifest_json: String,
    pub staged_as: String,
}

/// A run of a best-run query with its series of the metric, if it has one.
#[derive(Debug, Clone)]
pub struct BestCandidate {
    pub job_id: i64,
    pub name: String,
    pub sweep_id: i64,
    pub status: JobStatus,
    pub created_ms: i64,
    /// `(count, min, max, last, last_step)` of the metric's series.
    pub series: Option<(u64, f64, f64, f64, f64)>,
}

const VERSION_COLUMNS: &str = "model, stage, version, created_ms, registered_by, notes, source, \
     files, bytes, bundle_bytes, bundle_xxh3, manifest, staged_as";

fn version_row(r: &SqliteRow) -> Result<ModelVersionRow, EngineError> {
    let stage: String = r.try_get("stage")?;
    let source: String = r.try_get("source")?;
    let source: ModelSource =
        serde_json::from_str(&source).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let count = |name: &str| -> Result<u64, EngineError> {
        Ok(u64::try_from(r.try_get::<i64, _>(name)?).unwrap_or(0))
    };
    Ok(ModelVersionRow {
        view: ModelVersionView {
            model: r.try_get("model")?,
            stage: stage
                .parse()
                .map_err(|e: String| sqlx::Error::Decode(e.into()))?,
            version: r.try_get("version")?,
            created_ms: r.try_get("created_ms")?,
            registered_by: r.try_get("registered_by")?,
            notes: r.try_get("notes")?,
            source,
            files: count("files")?,
            bytes: count("bytes")?,
            bundle_bytes: count("bundle_bytes")?,
            bundle_xxh3: r.try_get("bundle_xxh3")?,
            latest: false,
        },
        manifest_json: r.try_get("manifest")?,
        staged_as: r.try_get("staged_as")?,
    })
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

impl Store {
    /// Every model, most recently changed first.
    pub async fn list_models(&self) -> Result<Vec<ModelSummary>, EngineError> {
        let rows = sqlx::query(
            "SELECT m.name, m.created_ms,
               COALESCE(MAX(v.created_ms), m.created_ms) AS updated_ms,
               COUNT(v.id) AS versions,
               (SELECT version FROM model_latest l WHERE l.model = m.name AND l.stage = 'dev') AS latest_dev,
               (SELECT version FROM model_latest l WHERE l.model = m.name AND l.stage = 'release') AS latest_release
             FROM models m LEFT JOIN model_versions v ON v.model = m.name
             GROUP BY m.name ORDER BY updated_ms DESC, m.name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ModelSummary {
                    name: r.try_get("name")?,
                    created_ms: r.try_get("created_ms")?,
                    updated_ms: r.try_get("updated_ms")?,
                    versions: u64::try_from(r.try_get::<i64, _>("versions")?).unwrap_or(0),
                    latest_dev: r.try_get("latest_dev")?,
                    latest_release: r.try_get("latest_release")?,
                })
            })
            .collect()
    }

    /// When model `name` was created; `None` if there is no such model.
    pub async fn model_created(&self, name: &str) -> Result<Option<i64>, EngineError> {
        let row = sqlx::query("SELECT created_ms FROM models WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("created_ms")?),
            None => None,
        })
    }

    /// Every version of a model, oldest first.
    pub async fn model_versions(&self, name: &str) -> Result<Vec<ModelVersionRow>, EngineError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions WHERE model = ? ORDER BY id"
        ))
        .bind(name)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version_row).collect()
    }

    /// Every version of every model (the restart's placement check).
    pub async fn all_model_versions(&self) -> Result<Vec<ModelVersionRow>, EngineError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version_row).collect()
    }

    pub async fn model_version(
        &self,
        name: &str,
        stage: Stage,
        version: &str,
    ) -> Result<Option<ModelVersionRow>, EngineError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions
             WHERE model = ? AND stage = ? AND version = ?"
        ))
        .bind(name)
        .bind(stage.as_str())
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(version_row).transpose()
    }

    /// The version names of a stage.
    pub async fn model_version_names(
        &self,
        name: &str,
        stage: Stage,
    ) -> Result<Vec<String>, EngineError> {
        let rows = sqlx::query("SELECT version FROM model_versions WHERE model = ? AND stage = ?")
            .bind(name)
            .bind(stage.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("version")?)).collect()
    }

    /// Each stage's LATEST of a model.
    pub async fn model_latest(&self, name: &str) -> Result<HashMap<Stage, String>, EngineError> {
        let rows = sqlx::query("SELECT stage, version FROM model_latest WHERE model = ?")
            .bind(name)
            .fetch_all(&self.pool)
            .await?;
        let mut out = HashMap::new();
        for r in rows {
            let stage: String = r.try_get("stage")?;
            if let Ok(stage) = stage.parse() {
                out.insert(stage, r.try_get("version")?);
            }
        }
        Ok(out)
    }

    /// Inserts a version (and its model, on its first), in one transaction;
    /// moves the stage's LATEST to it when `set_latest` or when the stage
    /// has none. Returns whether LATEST moved; a taken name is
    /// `ModelVersionExists` and changes nothing.
    /// Inserts a version (and moves LATEST if asked or if the stage has
    /// none); with a `mirror` target, queues its mirroring in the same
    /// transaction.
    pub async fn insert_model_version(
        &self,
        new: &NewVersion,
        set_latest: bool,
        mirror: Option<&str>,
    ) -> Result<bool, EngineError> {
        let v = &new.view;
        let source = serde_json::to_string(&v.source).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT OR IGNORE INTO models (name, created_ms) VALUES (?, ?)")
            .bind(&v.model)
            .bind(v.created_ms)
            .execute(&mut *tx)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO model_versions (model, stage, version, created_ms, registered_by, notes,
               source, job_id, files, bytes, bundle_bytes, bundle_xxh3, manifest, staged_as)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&v.model)
        .bind(v.stage.as_str())
        .bind(&v.version)
        .bind(v.created_ms)
        .bind(&v.registered_by)
        .bind(&v.notes)
        .bind(source)
        .bind(new.job_id)
        .bind(i64::try_from(v.files).unwrap_or(i64::MAX))
        .bind(i64::try_from(v.bytes).unwrap_or(i64::MAX))
        .bind(i64::try_from(v.bundle_bytes).unwrap_or(i64::MAX))
        .bind(&v.bundle_xxh3)
        .bind(&new.manifest_json)
        .bind(&new.staged_as)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(EngineError::ModelVersionExists {
                    model: v.model.clone(),
                    stage: v.stage.to_string(),
                    version: v.version.clone(),
                })
            }
            Err(e) => return Err(e.into()),
        }
        let sql = if set_latest {
            "INSERT INTO model_latest (model, stage, version, updated_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT (model, stage) DO UPDATE SET version = excluded.version,
               updated_ms = excluded.updated_ms"
        } else {
            "INSERT OR IGNORE INTO model_latest (model, stage, version, updated_ms) VALUES (?, ?, ?, ?)"
        };
        let moved = sqlx::query(sql)
            .bind(&v.model)
            .bind(v.stage.as_str())
            .bind(&v.version)
            .bind(v.created_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if let Some(target) = mirror {
            super::mirror::queue(
                &mut tx,
                &v.model,
                v.stage,
                Some(&v.version),
                target,
                v.created_ms,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// Points a stage's LATEST at an existing version.
    /// Points a stage's LATEST at `version`; with a `mirror` target, queues
    /// the stage's mirroring in the same transaction.
    pub async fn set_model_latest(
        &self,
        name: &str,
        stage: Stage,
        version: &str,
        now_ms: i64,
        mirror: Option<&str>,
    ) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO model_latest (model, stage, version, updated_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT (model, stage) DO UPDATE SET version = excluded.version,
               updated_ms = excluded.updated_ms",
        )
        .bind(name)
        .bind(stage.as_str())
        .bind(version)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if let Some(target) = mirror {
            super::mirror::queue(&mut tx, name, stage, None, target, now_ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The runs of `project` (of one sweep if given), archived ones left
    /// out, newest first, each with its series `metric` if it has one.
    pub async fn best_candidates(
        &self,
        project: &str,
        sweep: Option<i64>,
        metric: &str,
    ) -> Result<Vec<BestCandidate>, EngineError> {
        let rows = sqlx::query(
            "SELECT j.id, j.name, j.sweep_id, j.status, j.created_ms,
               m.count, m.min, m.max, m.last, m.last_step
             FROM jobs j LEFT JOIN metric_series m ON m.job_id = j.id AND m.key = ?
             WHERE j.project = ? AND (? IS NULL OR j.sweep_id = ?) AND j.archived_ms IS NULL
             ORDER BY j.created_ms DESC, j.id DESC",
        )
        .bind(metric)
        .bind(project)
        .bind(sweep)
        .bind(sweep)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                let count: Option<i64> = r.try_get("count")?;
                let series = match count {
                    Some(n) if n > 0 => Some((
                        u64::try_from(n).unwrap_or(0),
                        r.try_get("min")?,
                        r.try_get("max")?,
                        r.try_get("last")?,
                        r.try_get("last_step")?,
                    )),
                    _ => None,
                };
                Ok(BestCandidate {
                    job_id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    sweep_id: r.try_get("sweep_id")?,
                    status: status.parse().unwrap_or_default(),
                    created_ms: r.try_get("created_ms")?,
                    series,
                })
            })
            .collect()
    }
}
