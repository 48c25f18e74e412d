//! Server functions for experiments and jobs: submit, list, inspect, steer.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use trainyard_core::{JobDetail, JobStatus, JobView, Priority, SubmitOptions};

#[cfg(feature = "ssr")]
use super::engine;
use super::UiError;
use crate::experiment::Diagnostic;

/// Jobs plus the server's clock at the time of the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobsSnapshot {
    pub server_time_ms: i64,
    pub jobs: Vec<JobView>,
}

/// What a submission from the Execute page led to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SubmitOutcome {
    Queued {
        sweep_id: i64,
        jobs: usize,
    },
    /// The server found problems in the config; shown in the editor.
    Invalid(Vec<Diagnostic>),
}

/// Jobs listed on the Queue page at most (newest first).
pub const QUEUE_LIMIT: u32 = 1000;

/// The most runs one submission may expand to.
#[server(prefix = "/ui")]
pub async fn max_sweep_runs() -> Result<u64, UiError> {
    Ok(engine()?.sweep_limits().max_runs)
}

#[server(prefix = "/ui", input = Json)]
pub async fn submit_experiment(
    yaml: String,
    options: SubmitOptions,
) -> Result<SubmitOutcome, UiError> {
    use trainyard_engine::EngineError;
    match engine()?.submit(&yaml, options).await {
        Ok(result) => Ok(SubmitOutcome::Queued {
            sweep_id: result.sweep_id,
            jobs: result.jobs.len(),
        }),
        Err(EngineError::Config(errors)) => {
            Ok(SubmitOutcome::Invalid(Diagnostic::from_errors(&errors)))
        }
        Err(e) => Err(e.into()),
    }
}

#[server(prefix = "/ui")]
pub async fn list_jobs(
    status: Option<JobStatus>,
    sweep_id: Option<i64>,
) -> Result<JobsSnapshot, UiError> {
    let engine = engine()?;
    let filter = trainyard_engine::JobFilter {
        status,
        sweep_id,
        limit: Some(QUEUE_LIMIT),
    };
    let jobs = engine.jobs(filter).await?;
    Ok(JobsSnapshot {
        server_time_ms: engine.now_ms(),
        jobs,
    })
}

#[server(prefix = "/ui")]
pub async fn get_job(id: i64) -> Result<JobDetail, UiError> {
    Ok(engine()?.job(id).await?)
}

#[server(prefix = "/ui")]
pub async fn cancel_job(id: i64) -> Result<JobView, UiError> {
    Ok(engine()?.cancel_job(id).await?)
}

#[server(prefix = "/ui")]
pub async fn set_job_priority(id: i64, priority: Priority) -> Result<JobView, UiError> {
    Ok(engine()?.set_priority(id, priority).await?)
}

#[server(prefix = "/ui")]
pub async fn rerun_job(id: i64) -> Result<JobView, UiError> {
    Ok(engine()?.rerun_job(id).await?)
}

/// Queues a failed, cancelled or lost job again from its last checkpoint.
#[server(prefix = "/ui")]
pub async fn resume_job(id: i64) -> Result<JobView, UiError> {
    Ok(engine()?.resume_job(id).await?)
}
