//! What MLflow's registry API keeps beside the model registry's own rows
//! (migration 0016): model descriptions and tags, and per dev version a
//! description, MLflow's stage label, the source URI, tags and aliases.

use std::collections::HashMap;

use sqlx::Row;

use super::Store;
use crate::error::EngineError;

/// A model's annotations, all at once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelAnnotations {
    pub description: String,
    /// When the description last changed (`None`: never).
    pub updated_ms: Option<i64>,
    /// By key.
    pub tags: Vec<(String, String)>,
    /// `(alias, version name)`, by alias.
    pub aliases: Vec<(String, String)>,
    /// By version name.
    pub versions: HashMap<String, VersionAnnotations>,
}

/// A version's annotations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionAnnotations {
    /// `None`: the manifest's notes.
    pub description: Option<String>,
    /// MLflow's stage label (`None` when never set).
    pub stage: Option<String>,
    pub source: Option<String>,
    pub updated_ms: Option<i64>,
    pub tags: Vec<(String, String)>,
}

impl Store {
    /// Creates model `name` with no versions; false if it exists (nothing
    /// is changed then).
    pub async fn create_model(
        &self,
        name: &str,
        description: &str,
        tags: &[(String, String)],
        now_ms: i64,
    ) -> Result<bool, EngineError> {
        let mut tx = self.pool.begin().await?;
        let created = sqlx::query("INSERT OR IGNORE INTO models (name, created_ms) VALUES (?, ?)")
            .bind(name)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if !created {
            return Ok(false);
        }
        sqlx::query("INSERT INTO model_meta (model, description, updated_ms) VALUES (?, ?, ?)")
            .bind(name)
            .bind(description)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        for (key, value) in tags {
            sqlx::query("INSERT OR REPLACE INTO model_tags (model, key, value) VALUES (?, ?, ?)")
                .bind(name)
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Deletes model `name` and its annotations if it has no version;
    /// false (nothing changed) if it has one.
    pub async fn delete_empty_model(&self, name: &str) -> Result<bool, EngineError> {
        let mut tx = self.pool.begin().await?;
        let versions: i64 = sqlx::query("SELECT COUNT(*) AS n FROM model_versions WHERE model = ?")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if versions > 0 {
            return Ok(false);
        }
        for table in [
            "model_tags",
            "model_aliases",
            "model_version_tags",
            "model_version_meta",
            "model_meta",
            "model_latest",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE model = ?"))
                .bind(name)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM models WHERE name = ?")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Everything annotated on model `name` and its versions.
    pub async fn model_annotations(&self, name: &str) -> Result<ModelAnnotations, EngineError> {
        let mut out = ModelAnnotations::default();
        if let Some(r) =
            sqlx::query("SELECT description, updated_ms FROM model_meta WHERE model = ?")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?
        {
            out.description = r.try_get("description")?;
            out.updated_ms = Some(r.try_get("updated_ms")?);
        }
        for r in sqlx::query("SELECT key, value FROM model_tags WHERE model = ? ORDER BY key")
            .bind(name)
            .fetch_all(&self.pool)
            .await?
        {
            out.tags.push((r.try_get("key")?, r.try_get("value")?));
        }
        for r in
            sqlx::query("SELECT alias, version FROM model_aliases WHERE model = ? ORDER BY alias")
                .bind(name)
                .fetch_all(&self.pool)
                .await?
        {
            out.aliases
                .push((r.try_get("alias")?, r.try_get("version")?));
        }
        for r in sqlx::query(
            "SELECT version, description, mlflow_stage, source, updated_ms
             FROM model_version_meta WHERE model = ?",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?
        {
            let v = out.versions.entry(r.try_get("version")?).or_default();
            v.description = r.try_get("description")?;
            v.stage = Some(r.try_get("mlflow_stage")?);
            v.source = r.try_get("source")?;
            v.updated_ms = Some(r.try_get("updated_ms")?);
        }
        for r in sqlx::query(
            "SELECT version, key, value FROM model_version_tags WHERE model = ? ORDER BY key",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?
        {
            out.versions
                .entry(r.try_get("version")?)
                .or_default()
                .tags
                .push((r.try_get("key")?, r.try_get("value")?));
        }
        Ok(out)
    }

    /// Sets a model's description.
    pub async fn set_model_description(
        &self,
        name: &str,
        description: &str,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        sqlx::query(
            "INSERT INTO model_meta (model, description, updated_ms) VALUES (?, ?, ?)
             ON CONFLICT (model) DO UPDATE SET description = excluded.description,
               updated_ms = excluded.updated_ms",
        )
        .bind(name)
        .bind(description)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets (`Some`) or removes (`None`) a model's tag; false when there
    /// was no tag to remove.
    pub async fn set_model_tag(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<bool, EngineError> {
        let query = match value {
            Some(value) => sqlx::query(
                "INSERT OR REPLACE INTO model_tags (model, key, value) VALUES (?, ?, ?)",
            )
            .bind(name)
            .bind(key)
            .bind(value),
            None => sqlx::query("DELETE FROM model_tags WHERE model = ? AND key = ?")
                .bind(name)
                .bind(key),
        };
        Ok(query.execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Sets (`Some`) or removes (`None`) a version's tag; false when there
    /// was no tag to remove.
    pub async fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<bool, EngineError> {
        let query = match value {
            Some(value) => sqlx::query(
                "INSERT OR REPLACE INTO model_version_tags (model, version, key, value)
                 VALUES (?, ?, ?, ?)",
            )
            .bind(name)
            .bind(version)
            .bind(key)
            .bind(value),
            None => sqlx::query(
                "DELETE FROM model_version_tags WHERE model = ? AND version = ? AND key = ?",
            )
            .bind(name)
            .bind(version)
            .bind(key),
        };
        Ok(query.execute(&self.pool).await?.rows_affected() > 0)
    }

    /// Sets one column of a version's annotations (`description`,
    /// `mlflow_stage` or `source`).
    pub async fn set_model_version_meta(
        &self,
        name: &str,
        version: &str,
        column: VersionColumn,
        value: &str,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let column = column.as_str();
        sqlx::query(&format!(
            "INSERT INTO model_version_meta (model, version, {column}, updated_ms)
             VALUES (?, ?, ?, ?)
             ON CONFLICT (model, version) DO UPDATE SET {column} = excluded.{column},
               updated_ms = excluded.updated_ms"
        ))
        .bind(name)
        .bind(version)
        .bind(value)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Relabels the versions of a model in MLflow stage `stage` (but
    /// `except`) as `Archived`.
    pub async fn archive_model_stage(
        &self,
        name: &str,
        stage: &str,
        except: &str,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        sqlx::query(
            "UPDATE model_version_meta SET mlflow_stage = 'Archived', updated_ms = ?
             WHERE model = ? AND mlflow_stage = ? AND version != ?",
        )
        .bind(now_ms)
        .bind(name)
        .bind(stage)
        .bind(except)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Points alias `alias` of a model at `version` (moving it if set).
    pub async fn set_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        sqlx::query(
            "INSERT INTO model_aliases (model, alias, version, updated_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version,
               updated_ms = excluded.updated_ms",
        )
        .bind(name)
        .bind(alias)
        .bind(version)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes an alias; false if the model had no such alias.
    pub async fn delete_model_alias(&self, name: &str, alias: &str) -> Result<bool, EngineError> {
        Ok(
            sqlx::query("DELETE FROM model_aliases WHERE model = ? AND alias = ?")
                .bind(name)
                .bind(alias)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0,
        )
    }
}

/// The annotation columns of a version one call may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionColumn {
    Description,
    Stage,
    Source,
}

impl VersionColumn {
    fn as_str(self) -> &'static str {
        match self {
            VersionColumn::Description => "description",
            VersionColumn::Stage => "mlflow_stage",
            VersionColumn::Source => "source",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn annotations_round_trip_and_only_empty_models_are_deleted() {
        let store = Store::in_memory().await.expect("store");
        assert!(store
            .create_model("m", "first", &[("team".into(), "cv".into())], 5)
            .await
            .expect("create"));
        assert!(!store
            .create_model("m", "again", &[], 6)
            .await
            .expect("create"));
        store
            .set_model_version_meta("m", "v0001", VersionColumn::Stage, "Production", 7)
            .await
            .expect("stage");
        store
            .set_model_version_meta("m", "v0001", VersionColumn::Source, "runs:/1/model", 8)
            .await
            .expect("source");
        store
            .set_model_version_tag("m", "v0001", "k", Some("v"))
            .await
            .expect("tag");
        store
            .set_model_alias("m", "champion", "v0001", 9)
            .await
            .expect("alias");
        store
            .archive_model_stage("m", "Production", "v0002", 10)
            .await
            .expect("archive");
        let a = store.model_annotations("m").await.expect("read");
        assert_eq!(a.description, "first");
        assert_eq!(a.tags, vec![("team".to_string(), "cv".to_string())]);
        assert_eq!(
            a.aliases,
            vec![("champion".to_string(), "v0001".to_string())]
        );
        let v = &a.versions["v0001"];
        assert_eq!(v.stage.as_deref(), Some("Archived"));
        assert_eq!(v.source.as_deref(), Some("runs:/1/model"));
        assert_eq!(v.description, None);
        assert_eq!(v.tags, vec![("k".to_string(), "v".to_string())]);
        assert!(store
            .delete_model_alias("m", "champion")
            .await
            .expect("del"));
        assert!(!store
            .delete_model_alias("m", "champion")
            .await
            .expect("del"));
        assert!(!store.set_model_tag("m", "nope", None).await.expect("del"));
        assert!(store.delete_empty_model("m").await.expect("delete"));
        assert_eq!(store.model_created("m").await.expect("read"), None);
    }
}
