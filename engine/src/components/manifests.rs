//! Manifests: what each attempt ran with, and the manifests CVLab-Kit's
//! client saves under its own experiment ids. `GET …/manifest/{uid}` reads a
//! job's when `uid` is a job id or a run name, else what was saved under it.

use std::collections::BTreeMap;

use trainyard_core::components::{iso_utc, ExperimentManifest, JobManifest};

use super::Components;
use crate::error::EngineError;

/// Longest experiment id accepted.
const MAX_UID_CHARS: usize = 200;

impl Components {
    /// The code the newest attempt of `job_id` that synced ran with.
    pub async fn job_manifest(&self, job_id: i64) -> Result<JobManifest, EngineError> {
        let job = self
            .store
            .job(job_id)
            .await?
            .ok_or(EngineError::JobNotFound(job_id))?;
        let Some((attempt, strategy, created_ms, entries)) =
            self.store.job_manifest(job_id).await?
        else {
            return Err(EngineError::ManifestNotFound(job_id.to_string()));
        };
        Ok(JobManifest {
            job_id,
            attempt,
            strategy,
            pinned_to: job.view.code_from,
            entries,
            created_ms,
        })
    }

    /// CVLab-Kit's `GET /manifest/{uid}`: a job's components (by id or run
    /// name), else what was saved under `uid`.
    pub async fn experiment_manifest(&self, uid: &str) -> Result<ExperimentManifest, EngineError> {
        let uid = checked_uid(uid)?;
        if let Some(job_id) = self.job_named(uid).await? {
            if let Ok(manifest) = self.job_manifest(job_id).await {
                return Ok(ExperimentManifest {
                    experiment_uid: uid.to_string(),
                    components: manifest
                        .entries
                        .into_iter()
                        .filter(|e| !e.code)
                        .map(|e| (e.path, e.hash))
                        .collect(),
                    created_at: iso_utc(manifest.created_ms),
                });
            }
        }
        match self.store.experiment_manifest(uid).await? {
            Some((components, created_ms)) if !components.is_empty() => Ok(ExperimentManifest {
                experiment_uid: uid.to_string(),
                components,
                created_at: iso_utc(created_ms),
            }),
            _ => Err(EngineError::ManifestNotFound(uid.to_string())),
        }
    }

    /// CVLab-Kit's `POST /manifest/{uid}` (`{path: hash}`): saved under `uid`.
    pub async fn save_experiment_manifest(
        &self,
        uid: &str,
        components: &BTreeMap<String, String>,
    ) -> Result<usize, EngineError> {
        let uid = checked_uid(uid)?;
        for (path, hash) in components {
            super::store_path(path)?;
            super::checked_hash(hash)?;
        }
        self.store
            .save_experiment_manifest(uid, components, self.clock.now_ms())
            .await?;
        Ok(components.len())
    }

    /// The job `uid` names: its id, or a run name (the newest such job).
    async fn job_named(&self, uid: &str) -> Result<Option<i64>, EngineError> {
        if let Ok(id) = uid.parse::<i64>() {
            if self.store.job(id).await?.is_some() {
                return Ok(Some(id));
            }
        }
        self.store.job_id_by_name(uid).await
    }
}

fn checked_uid(uid: &str) -> Result<&str, EngineError> {
    if uid.is_empty() || uid.chars().count() > MAX_UID_CHARS || uid.chars().any(char::is_control) {
        return Err(EngineError::BadOption(format!(
            "experiment_uid must be 1-{MAX_UID_CHARS} printable characters"
        )));
    }
    Ok(uid)
}
