//! Launches: a task's form values → planned runs (core) → queued jobs (the
//! scheduler), each recorded with its task, revision and values.

use std::collections::BTreeMap;

use trainyard_core::catalog::{plan_launch, FieldValue, JobLaunch, LaunchRequest, LaunchResult};
use trainyard_core::SubmitOptions;

use super::{server_env, Launcher};
use crate::error::EngineError;
use crate::jobs::{PreparedSweep, Scheduler};
use crate::store::NewLaunch;

impl Launcher {
    /// Plans `req` against the running catalog and, unless it is a preview,
    /// queues one job per run. Refuses an unknown task and every bad value
    /// (naming the field) before anything is stored.
    pub async fn launch(
        &self,
        req: LaunchRequest,
        scheduler: &Scheduler,
    ) -> Result<LaunchResult, EngineError> {
        let (catalog, revision_id) = self.catalog();
        let task = catalog
            .task(&req.task_type)
            .filter(|_| revision_id.is_some())
            .ok_or_else(|| EngineError::UnknownTask {
                task: req.task_type.clone(),
                known: {
                    let names: Vec<&str> = catalog
                        .tasks
                        .iter()
                        .filter(|t| t.enabled)
                        .map(|t| t.task_type.as_str())
                        .collect();
                    if names.is_empty() {
                        "(none: save a catalog first)".to_string()
                    } else {
                        names.join(", ")
                    }
                },
            })?;
        let revision_id = revision_id.unwrap_or_default();
        let plan = plan_launch(task, &req.values, &scheduler.sweep_limits(), &server_env)?;
        if req.preview {
            return Ok(LaunchResult {
                task_type: plan.task_type,
                revision_id,
                sweep_id: None,
                runs: plan.runs,
                jobs: Vec::new(),
            });
        }
        let launch = NewLaunch {
            task_type: plan.task_type.clone(),
            revision_id,
            values_json: plan
                .runs
                .iter()
                .map(|r| {
                    let values: BTreeMap<&str, &FieldValue> =
                        r.values.iter().map(|(k, v)| (k.as_str(), v)).collect();
                    serde_json::to_string(&values).unwrap_or_else(|_| "{}".into())
                })
                .collect(),
        };
        let options = SubmitOptions {
            priority: req.priority,
            gpus: req.gpus,
            host: req.host.clone(),
            min_gpu_memory_mb: req.min_gpu_memory_mb,
        };
        let submitted = scheduler
            .submit_prepared(
                PreparedSweep {
                    project: &plan.project,
                    source_yaml: &plan.source_yaml,
                    workdir: plan.workdir.clone(),
                    runs: plan.runs.clone(),
                    launch: Some(&launch),
                    retries: 0,
                },
                options,
            )
            .await?;
        Ok(LaunchResult {
            task_type: plan.task_type,
            revision_id,
            sweep_id: Some(submitted.sweep_id),
            runs: plan.runs,
            jobs: submitted.jobs,
        })
    }

    /// What launched job `job_id`.
    pub async fn job_launch(&self, job_id: i64) -> Result<JobLaunch, EngineError> {
        let row = self
            .store
            .job_launch(job_id)
            .await?
            .ok_or(EngineError::NotLaunched(job_id))?;
        Ok(JobLaunch {
            job_id,
            task_type: row.task_type,
            revision_id: row.revision_id,
            values: serde_json::from_str(&row.values_json).unwrap_or_default(),
        })
    }
}
