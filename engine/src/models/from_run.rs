//! A version from a run's files: the selected files (or the checkpoint
//! found by its usual names), plus the run's resolved config as
//! `config.yaml`, its component manifest and, for publish-best, the metric
//! value that chose it.

use std::collections::BTreeSet;

use trainyard_core::models::{
    pick_checkpoint, ModelSource, ModelVersionView, PublishBest, PublishedBest, RegisterFromRun,
    SourceMetric, CHECKPOINT_NAMES,
};
use trainyard_core::sync::validate_run_path;

use super::{parse_stage, Models, VersionMeta};
use crate::components::Components;
use crate::error::EngineError;
use crate::metrics::Metrics;
use crate::runs::{Results, RunFileSources, OUTPUT_LOG};
use trainyard_core::models::Stage;

/// The name the run's resolved config gets in the payload.
pub const CONFIG_FILE: &str = "config.yaml";

/// What registering from a run needs of the other domains.
pub(crate) struct RunSide<'a> {
    pub results: &'a Results,
    pub sources: RunFileSources<'a>,
    pub components: &'a Components,
}

impl Models {
    /// Picks the best run of `req.project` (or its sweep) by `req.metric`
    /// and registers it with the metric value that chose it.
    pub async fn publish_best(
        &self,
        name: &str,
        req: &PublishBest,
        registered_by: &str,
        run: &RunSide<'_>,
        metrics: &Metrics,
    ) -> Result<PublishedBest, EngineError> {
        super::check_model_name(name)?;
        let report = run
            .results
            .best_run(&req.project, req.sweep, &req.metric, req.mode, metrics)
            .await?;
        let Some(best) = report.best else {
            let scope = match req.sweep {
                Some(s) => format!("sweep {s} of project {:?}", req.project),
                None => format!("project {:?}", req.project),
            };
            return Err(EngineError::NoBestRun {
                scope,
                metric: req.metric.clone(),
            });
        };
        let register = RegisterFromRun {
            job_id: best.job_id,
            files: req.files.clone(),
            stage: req.stage.clone(),
            version: req.version.clone(),
            notes: req.notes.clone(),
            set_latest: req.set_latest,
        };
        let metric = SourceMetric {
            key: req.metric.clone(),
            mode: req.mode,
            value: best.best.value,
            step: best.best.step,
        };
        let version = self
            .register_from_run(name, &register, Some(metric), registered_by, run)
            .await?;
        Ok(PublishedBest { best, version })
    }

    pub async fn register_from_run(
        &self,
        name: &str,
        req: &RegisterFromRun,
        metric: Option<SourceMetric>,
        registered_by: &str,
        run: &RunSide<'_>,
    ) -> Result<ModelVersionView, EngineError> {
        let stage = parse_stage(req.stage.as_deref())?;
        let meta = self
            .run_meta(
                name,
                req.job_id,
                RunVersion {
                    stage,
                    version: req.version.clone(),
                    notes: req.notes.clone().unwrap_or_default(),
                    set_latest: req.set_latest.unwrap_or(false),
                },
                metric,
                registered_by,
                run,
            )
            .await?;
        self.check_free(&meta).await?;
        let listed = run.results.run_files(req.job_id, &run.sources).await?;
        let selected: Vec<String> = match &req.files {
            Some(files) => {
                if files.is_empty() {
                    return Err(EngineError::ModelInvalid {
                        field: "files".into(),
                        message: "empty: name run files, or leave it out for the checkpoint".into(),
                    });
                }
                let mut seen = BTreeSet::new();
                for (i, path) in files.iter().enumerate() {
                    validate_run_path(path).map_err(|e| EngineError::ModelInvalid {
                        field: format!("files[{i}]"),
                        message: format!("{:?}: {e}", path.chars().take(200).collect::<String>()),
                    })?;
                    if !seen.insert(path.as_str()) {
                        return Err(EngineError::ModelInvalid {
                            field: format!("files[{i}]"),
                            message: format!("{path:?} is given twice"),
                        });
                    }
                }
                let missing: Vec<String> = files
                    .iter()
                    .filter(|p| !listed.iter().any(|f| &f.path == *p))
                    .map(|p| format!("{p:?}"))
                    .collect();
                if !missing.is_empty() {
                    return Err(EngineError::RunFilesMissing {
                        job_id: req.job_id,
                        message: format!("has no file {} (selected in files)", missing.join(", ")),
                    });
                }
                files.clone()
            }
            None => {
                let candidates: Vec<(&str, i64)> = listed
                    .iter()
                    .filter(|f| f.path != OUTPUT_LOG)
                    .map(|f| (f.path.as_str(), f.modified_ms))
                    .collect();
                match pick_checkpoint(&candidates) {
                    Some(p) => vec![p.to_string()],
                    None => {
                        return Err(EngineError::RunFilesMissing {
                            job_id: req.job_id,
                            message: format!(
                            "has no checkpoint ({} or any *.pt/*.pth); select its files in files",
                            CHECKPOINT_NAMES.join(", ")
                        ),
                        })
                    }
                }
            }
        };
        let mut draft = self.draft().await?;
        for (i, path) in selected.iter().enumerate() {
            let (full, _) = run
                .results
                .locate_run_file(req.job_id, path, &run.sources)
                .await?;
            draft.add_copy(&format!("files[{i}]"), path, &full).await?;
        }
        if let Some(config) = &meta.config_yaml {
            if !selected.iter().any(|p| p == CONFIG_FILE) {
                draft.add_bytes(CONFIG_FILE, config.as_bytes()).await?;
            }
        }
        self.commit(draft, meta).await
    }
}

/// A run-file directory (or file) of a run; `field` names it in errors.
pub(crate) struct RunDir<'a> {
    pub job_id: i64,
    pub dir: &'a str,
    pub field: &'a str,
}

/// Where a version from a run goes and what it says.
pub(crate) struct RunVersion {
    pub stage: Stage,
    /// An explicit name; `None`: the stage's next number.
    pub version: Option<String>,
    pub notes: String,
    pub set_latest: bool,
}

impl Models {
    /// What a version from run `job_id` says about itself: the run as its
    /// source, its resolved config and component manifest.
    async fn run_meta(
        &self,
        name: &str,
        job_id: i64,
        to: RunVersion,
        metric: Option<SourceMetric>,
        registered_by: &str,
        run: &RunSide<'_>,
    ) -> Result<VersionMeta, EngineError> {
        let job = self
            .store
            .job(job_id)
            .await?
            .ok_or(EngineError::JobNotFound(job_id))?;
        Ok(VersionMeta {
            model: name.to_string(),
            stage: to.stage,
            version: to.version,
            notes: to.notes,
            registered_by: registered_by.to_string(),
            set_latest: to.set_latest,
            source: ModelSource::Run {
                job_id,
                project: job.view.project.clone(),
                run_name: job.view.name.clone(),
                metric,
            },
            job_id: Some(job_id),
            config_yaml: (!job.config_yaml.is_empty()).then(|| job.config_yaml.clone()),
            components: match run.components.job_manifest(job_id).await {
                Ok(m) => Some(m),
                Err(EngineError::ManifestNotFound(_)) => None,
                Err(e) => return Err(e),
            },
        })
    }

    /// Registers the run files under `dir` (a run-relative directory, or
    /// one file) as a version whose payload is that directory's content:
    /// paths relative to `dir` (a file: its base name). Nothing is added
    /// (the run's config stays in the manifest), so the version holds
    /// exactly what the run logged there. `field` names `dir` in errors.
    pub(crate) async fn register_run_dir(
        &self,
        name: &str,
        from: RunDir<'_>,
        to: RunVersion,
        registered_by: &str,
        run: &RunSide<'_>,
    ) -> Result<ModelVersionView, EngineError> {
        let RunDir { job_id, dir, field } = from;
        let dir = dir.trim_matches('/');
        validate_run_path(dir).map_err(|e| EngineError::ModelInvalid {
            field: field.to_string(),
            message: format!("{:?}: {e}", dir.chars().take(200).collect::<String>()),
        })?;
        let meta = self
            .run_meta(name, job_id, to, None, registered_by, run)
            .await?;
        self.check_free(&meta).await?;
        let listed = run.results.run_files(job_id, &run.sources).await?;
        let prefix = format!("{dir}/");
        let selected: Vec<(String, String)> = listed
            .iter()
            .filter_map(|f| {
                if f.path == dir {
                    let base = dir.rsplit('/').next().unwrap_or(dir);
                    Some((f.path.clone(), base.to_string()))
                } else {
                    f.path
                        .strip_prefix(&prefix)
                        .map(|rest| (f.path.clone(), rest.to_string()))
                }
            })
            .collect();
        if selected.is_empty() {
            return Err(EngineError::RunFilesMissing {
                job_id,
                message: format!(
                    "has no file at or under {:?} ({field})",
                    dir.chars().take(200).collect::<String>()
                ),
            });
        }
        let mut draft = self.draft().await?;
        for (i, (from, to)) in selected.iter().enumerate() {
            let (full, _) = run
                .results
                .locate_run_file(job_id, from, &run.sources)
                .await?;
            draft.add_copy(&format!("{field}[{i}]"), to, &full).await?;
        }
        self.commit(draft, meta).await
    }
}
