//! Promotion: a version of one stage copied (hard-linked: versions are
//! immutable) into the other, with where it came from.

use trainyard_core::models::{
    ModelManifest, ModelSource, ModelVersionView, PromoteRequest, PAYLOAD_DIR,
};

use super::{parse_stage, Models, VersionMeta};
use crate::error::EngineError;

impl Models {
    pub async fn promote(
        &self,
        name: &str,
        version: &str,
        req: &PromoteRequest,
        registered_by: &str,
    ) -> Result<ModelVersionView, EngineError> {
        let from = parse_stage(req.from.as_deref())?;
        let to = parse_stage(Some(&req.to))?;
        if from == to {
            return Err(EngineError::ModelInvalid {
                field: "to".into(),
                message: format!("version {version:?} is in {from}; promote it to the other stage"),
            });
        }
        let (row, dir) = self.resolve(name, from.as_str(), version).await?;
        let source: ModelManifest =
            serde_json::from_str(&row.manifest_json).map_err(|e| EngineError::Io {
                path: dir.clone(),
                source: std::io::Error::other(e),
            })?;
        let job_id = match &source.source {
            ModelSource::Run { job_id, .. } => Some(*job_id),
            ModelSource::Promotion { origin, .. } => match origin.as_ref() {
                ModelSource::Run { job_id, .. } => Some(*job_id),
                _ => None,
            },
            ModelSource::Upload => None,
        };
        let meta = VersionMeta {
            model: name.to_string(),
            stage: to,
            version: req.version.clone(),
            notes: req.notes.clone().unwrap_or_else(|| source.notes.clone()),
            registered_by: registered_by.to_string(),
            set_latest: req.set_latest.unwrap_or(false),
            source: ModelSource::Promotion {
                from_stage: from,
                source_version: row.view.version.clone(),
                source_bundle_xxh3: row.view.bundle_xxh3.clone(),
                origin: Box::new(source.source.clone()),
            },
            job_id,
            config_yaml: source.config_yaml.clone(),
            components: source.components.clone(),
        };
        self.check_free(&meta).await?;
        let mut draft = self.draft().await?;
        for file in &source.files {
            let from_path = dir.join(PAYLOAD_DIR).join(&file.path);
            draft.add_link(&file.path, &from_path, file).await?;
        }
        self.commit(draft, meta).await
    }
}
