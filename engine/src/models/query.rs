//! Reading the registry: models, a model's stages, resolving `latest`, and
//! the files clients download.

use std::collections::BTreeMap;
use std::path::PathBuf;

use trainyard_core::models::{
    ModelManifest, ModelSummary, ModelView, Stage, StageView, BUNDLE_FILE, LATEST, MANIFEST_FILE,
    PAYLOAD_DIR,
};
use trainyard_core::sync::{validate_run_path, xxh3_hex};

use super::{check_model_name, check_version_name, place, ModelDownload, Models};
use crate::error::EngineError;
use crate::files::DirEntry;
use crate::store::ModelVersionRow;

impl Models {
    pub async fn list(&self) -> Result<Vec<ModelSummary>, EngineError> {
        self.store.list_models().await
    }

    /// `ModelNotFound` unless model `name` exists; its creation time.
    pub(super) async fn require_model(&self, name: &str) -> Result<i64, EngineError> {
        check_model_name(name)?;
        self.store
            .model_created(name)
            .await?
            .ok_or_else(|| EngineError::ModelNotFound(name.to_string()))
    }

    /// A model's stages with their versions (oldest first) and LATEST.
    pub async fn model(&self, name: &str) -> Result<ModelView, EngineError> {
        let created_ms = self.require_model(name).await?;
        let rows = self.store.model_versions(name).await?;
        let latest = self.store.model_latest(name).await?;
        let stages = Stage::ALL
            .iter()
            .map(|stage| {
                let pointer = latest.get(stage).cloned();
                StageView {
                    stage: *stage,
                    versions: rows
                        .iter()
                        .filter(|r| r.view.stage == *stage)
                        .map(|r| {
                            let mut v = r.view.clone();
                            v.latest = pointer.as_deref() == Some(v.version.as_str());
                            v
                        })
                        .collect(),
                    latest: pointer,
                }
            })
            .collect();
        Ok(ModelView {
            name: name.to_string(),
            created_ms,
            stages,
            serving: Vec::new(),
        })
    }

    /// The version `version` (or the stage's LATEST for `latest`) of a
    /// model's stage, with its directory in place.
    pub async fn resolve(
        &self,
        name: &str,
        stage: &str,
        version: &str,
    ) -> Result<(ModelVersionRow, PathBuf), EngineError> {
        let stage: Stage = stage.parse().map_err(EngineError::StageNotFound)?;
        self.require_model(name).await?;
        let not_found = |v: &str| EngineError::ModelVersionNotFound {
            model: name.to_string(),
            stage: stage.to_string(),
            version: v.to_string(),
        };
        let concrete = if version == LATEST {
            self.store
                .model_latest(name)
                .await?
                .remove(&stage)
                .ok_or_else(|| not_found(LATEST))?
        } else {
            check_version_name(version)?;
            version.to_string()
        };
        let row = self
            .store
            .model_version(name, stage, &concrete)
            .await?
            .ok_or_else(|| not_found(&concrete))?;
        let dir = self.version_dir(name, stage, &concrete);
        // A commit whose rename has not happened yet (or was cut by a crash).
        place(&self.staging().join(&row.staged_as), &dir).await?;
        Ok((row, dir))
    }

    /// The manifest of a version.
    pub async fn manifest(
        &self,
        name: &str,
        stage: &str,
        version: &str,
    ) -> Result<ModelManifest, EngineError> {
        let (row, dir) = self.resolve(name, stage, version).await?;
        serde_json::from_str(&row.manifest_json).map_err(|e| EngineError::Io {
            path: dir.join(MANIFEST_FILE),
            source: std::io::Error::other(e),
        })
    }

    /// The bundle of a version, its size and hash.
    pub async fn bundle(
        &self,
        name: &str,
        stage: &str,
        version: &str,
    ) -> Result<ModelDownload, EngineError> {
        let (row, dir) = self.resolve(name, stage, version).await?;
        Ok(ModelDownload {
            version: row.view.version.clone(),
            path: dir.join(BUNDLE_FILE),
            size: row.view.bundle_bytes,
            xxh3: row.view.bundle_xxh3,
        })
    }

    /// `manifest.json` of a version as stored.
    pub async fn manifest_file(
        &self,
        name: &str,
        stage: &str,
        version: &str,
    ) -> Result<ModelDownload, EngineError> {
        let (row, dir) = self.resolve(name, stage, version).await?;
        Ok(ModelDownload {
            version: row.view.version.clone(),
            path: dir.join(MANIFEST_FILE),
            size: row.manifest_json.len() as u64,
            xxh3: xxh3_hex(row.manifest_json.as_bytes()),
        })
    }

    /// One payload file of a version.
    pub async fn file(
        &self,
        name: &str,
        stage: &str,
        version: &str,
        path: &str,
    ) -> Result<ModelDownload, EngineError> {
        let parts = validate_run_path(path).map_err(|e| EngineError::ModelInvalid {
            field: "path".into(),
            message: format!("{:?}: {e}", path.chars().take(200).collect::<String>()),
        })?;
        let manifest = self.manifest(name, stage, version).await?;
        let (_, dir) = self.resolve(name, stage, version).await?;
        let file = manifest
            .files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| EngineError::ModelFileNotFound {
                model: name.to_string(),
                version: manifest.version.clone(),
                path: path.chars().take(200).collect(),
            })?;
        let mut full = dir.join(PAYLOAD_DIR);
        for part in parts {
            full.push(part);
        }
        Ok(ModelDownload {
            version: manifest.version.clone(),
            path: full,
            size: file.bytes,
            xxh3: file.xxh3.clone(),
        })
    }

    /// The entries of payload directory `dir` (`""`: the root) of a
    /// version, from its manifest; `None` when `dir` is a file or holds
    /// nothing (MLflow's artifact listing answers `{}` then).
    pub async fn payload_entries(
        &self,
        name: &str,
        stage: &str,
        version: &str,
        dir: &str,
    ) -> Result<Option<Vec<DirEntry>>, EngineError> {
        let dir = dir.trim_matches('/');
        if !dir.is_empty() {
            validate_run_path(dir).map_err(|e| EngineError::ModelInvalid {
                field: "path".into(),
                message: format!("{:?}: {e}", dir.chars().take(200).collect::<String>()),
            })?;
        }
        let manifest = self.manifest(name, stage, version).await?;
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut entries: BTreeMap<String, DirEntry> = BTreeMap::new();
        for file in &manifest.files {
            let Some(rest) = file.path.strip_prefix(&prefix) else {
                continue;
            };
            let entry = match rest.split_once('/') {
                Some((sub, _)) => DirEntry {
                    name: sub.to_string(),
                    is_dir: true,
                    size: None,
                },
                None => DirEntry {
                    name: rest.to_string(),
                    is_dir: false,
                    size: Some(file.bytes),
                },
            };
            entries.entry(entry.name.clone()).or_insert(entry);
        }
        Ok((!entries.is_empty()).then(|| entries.into_values().collect()))
    }

    /// Points a stage's LATEST at one of its versions.
    pub async fn set_latest(
        &self,
        name: &str,
        stage: &str,
        version: &str,
    ) -> Result<(), EngineError> {
        let (row, _) = self.resolve(name, stage, version).await?;
        let lock = self.lock_of(name);
        let _held = lock.lock().await;
        self.store
            .set_model_latest(
                name,
                row.view.stage,
                &row.view.version,
                self.clock.now_ms(),
                self.mirror.target(),
            )
            .await?;
        self.mirror.wake();
        Ok(())
    }
}
