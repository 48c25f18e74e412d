//! Committing a draft: the version's name, its manifest and bundle, one
//! transaction, then the rename into place.

use trainyard_core::components::JobManifest;
use trainyard_core::models::{
    auto_number, auto_version, ModelFile, ModelManifest, ModelSource, ModelVersionView, Stage,
    UploadVersion, MANIFEST_FILE, MAX_NOTES_CHARS,
};

use super::draft::ModelDraft;
use super::{bundle, check_model_name, check_version_name, place, Models};
use crate::error::EngineError;
use crate::store::NewVersion;

/// What a new version says about itself besides its files.
#[derive(Debug, Clone)]
pub(crate) struct VersionMeta {
    pub model: String,
    pub stage: Stage,
    /// An explicit name; `None`: the stage's next `v0001`-style number.
    pub version: Option<String>,
    pub notes: String,
    pub registered_by: String,
    pub set_latest: bool,
    pub source: ModelSource,
    pub job_id: Option<i64>,
    pub config_yaml: Option<String>,
    pub components: Option<JobManifest>,
}

impl VersionMeta {
    /// Checks the name, version and notes before any file is copied.
    pub fn check(&self) -> Result<(), EngineError> {
        check_model_name(&self.model)?;
        if let Some(v) = &self.version {
            check_version_name(v)?;
        }
        if self.notes.chars().count() > MAX_NOTES_CHARS {
            return Err(EngineError::ModelInvalid {
                field: "notes".into(),
                message: format!("at most {MAX_NOTES_CHARS} characters"),
            });
        }
        Ok(())
    }
}

impl Models {
    /// Refuses an explicit version name the stage already has, early
    /// (before files are copied); the commit checks again.
    pub async fn check_free(&self, meta: &VersionMeta) -> Result<(), EngineError> {
        meta.check()?;
        if let Some(version) = &meta.version {
            if self
                .store
                .model_version(&meta.model, meta.stage, version)
                .await?
                .is_some()
            {
                return Err(EngineError::ModelVersionExists {
                    model: meta.model.clone(),
                    stage: meta.stage.to_string(),
                    version: version.clone(),
                });
            }
        }
        Ok(())
    }

    /// Makes an uploaded `draft` a version of model `name`.
    pub async fn commit_upload(
        &self,
        name: &str,
        draft: ModelDraft,
        upload: &UploadVersion,
        registered_by: &str,
    ) -> Result<ModelVersionView, EngineError> {
        let meta = VersionMeta {
            model: name.to_string(),
            stage: super::parse_stage(upload.stage.as_deref())?,
            version: upload.version.clone(),
            notes: upload.notes.clone().unwrap_or_default(),
            registered_by: registered_by.to_string(),
            set_latest: upload.set_latest.unwrap_or(false),
            source: ModelSource::Upload,
            job_id: None,
            config_yaml: None,
            components: None,
        };
        self.check_free(&meta).await?;
        self.commit(draft, meta).await
    }

    /// Makes `draft` a version: names it, writes its manifest and bundle,
    /// records it (moving LATEST if asked or if the stage has none) and
    /// renames it into place.
    pub async fn commit(
        &self,
        mut draft: ModelDraft,
        meta: VersionMeta,
    ) -> Result<ModelVersionView, EngineError> {
        meta.check()?;
        if draft.files.is_empty() {
            return Err(EngineError::ModelInvalid {
                field: "files".into(),
                message: "a version needs at least one file".into(),
            });
        }
        let lock = self.lock_of(&meta.model);
        let _held = lock.lock().await;
        let version = match &meta.version {
            Some(v) => v.clone(),
            None => {
                let names = self
                    .store
                    .model_version_names(&meta.model, meta.stage)
                    .await?;
                let next = names
                    .iter()
                    .filter_map(|n| auto_number(n))
                    .max()
                    .unwrap_or(0)
                    + 1;
                auto_version(next)
            }
        };
        let files: Vec<ModelFile> = draft.files.values().cloned().collect();
        let manifest = ModelManifest {
            model: meta.model.clone(),
            stage: meta.stage,
            version: version.clone(),
            created_ms: self.clock.now_ms(),
            registered_by: meta.registered_by.clone(),
            notes: meta.notes.clone(),
            source: meta.source.clone(),
            files: files.clone(),
            config_yaml: meta.config_yaml.clone(),
            components: meta.components.clone(),
        };
        let manifest_json =
            serde_json::to_string_pretty(&manifest).map_err(|e| EngineError::Io {
                path: draft.dir.join(MANIFEST_FILE),
                source: std::io::Error::other(e),
            })?;
        let dir = draft.dir.clone();
        let manifest_path = dir.join(MANIFEST_FILE);
        let io = |source| EngineError::Io {
            path: manifest_path.clone(),
            source,
        };
        tokio::fs::write(&manifest_path, manifest_json.as_bytes())
            .await
            .map_err(io)?;
        let bytes_for_bundle = manifest_json.clone().into_bytes();
        let files_for_bundle = files.clone();
        let bundle_dir = dir.clone();
        let (bundle_bytes, bundle_xxh3) = tokio::task::spawn_blocking(move || {
            bundle::build(&bundle_dir, &bytes_for_bundle, &files_for_bundle)
        })
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(|source| EngineError::Io {
            path: dir.join(trainyard_core::models::BUNDLE_FILE),
            source,
        })?;
        let view = ModelVersionView {
            model: meta.model.clone(),
            stage: meta.stage,
            version: version.clone(),
            created_ms: manifest.created_ms,
            registered_by: meta.registered_by.clone(),
            notes: meta.notes.clone(),
            source: meta.source.clone(),
            files: files.len() as u64,
            bytes: files.iter().map(|f| f.bytes).sum(),
            bundle_bytes,
            bundle_xxh3,
            latest: false,
        };
        let new = NewVersion {
            view: view.clone(),
            job_id: meta.job_id,
            manifest_json,
            staged_as: draft.id.clone(),
        };
        let moved = self
            .store
            .insert_model_version(&new, meta.set_latest, self.mirror.target())
            .await?;
        self.mirror.wake();
        // Recorded: from here on the staging dir is the version's, and a
        // restart finishes the rename if this one does not happen.
        draft.committed = true;
        place(
            &draft.dir,
            &self.version_dir(&meta.model, meta.stage, &version),
        )
        .await?;
        Ok(ModelVersionView {
            latest: moved,
            ..view
        })
    }
}
