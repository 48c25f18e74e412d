//! Server functions for experiments and jobs: submit, list, inspect, steer.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use trainyard_core::{JobDetail, JobStatus, JobView, Priority, SubmitOptions};

#[cfg(feature = "ssr")]
use super::engine_error;
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
pub async fn max_sweep_runs() -> Result<u64, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    Ok(ctx.engine.sweep_limits().max_runs)
}

#[server(prefix = "/ui", input = Json)]
pub async fn submit_experiment(
    yaml: String,
    options: SubmitOptions,
) -> Result<SubmitOutcome, ServerFnError> {
    use trainyard_engine::EngineError;
    let ctx = crate::server_context::server_context()?;
    match ctx.engine.submit(&yaml, options).await {
        Ok(result) => Ok(SubmitOutcome::Queued {
            sweep_id: result.sweep_id,
            jobs: result.jobs.len(),
        }),
        Err(EngineError::Config(errors)) => {
            Ok(SubmitOutcome::Invalid(Diagnostic::from_errors(&errors)))
        }
        Err(e) => Err(engine_error(e)),
    }
}

#[server(prefix = "/ui")]
pub async fn list_jobs(
    status: Option<JobStatus>,
    sweep_id: Option<i64>,
) -> Result<JobsSnapshot, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    let filter = trainyard_engine::JobFilter {
        status,
        sweep_id,
        limit: Some(QUEUE_LIMIT),
    };
    let jobs = ctx.engine.jobs(filter).await.map_err(engine_error)?;
    Ok(JobsSnapshot {
        server_time_ms: ctx.engine.now_ms(),
        jobs,
    })
}

#[server(prefix = "/ui")]
pub async fn get_job(id: i64) -> Result<JobDetail, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.job(id).await.map_err(engine_error)
}

#[server(prefix = "/ui")]
pub async fn cancel_job(id: i64) -> Result<JobView, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.cancel_job(id).await.map_err(engine_error)
}

#[server(prefix = "/ui")]
pub async fn set_job_priority(id: i64, priority: Priority) -> Result<JobView, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine
        .set_priority(id, priority)
        .await
        .map_err(engine_error)
}

#[server(prefix = "/ui")]
pub async fn rerun_job(id: i64) -> Result<JobView, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.rerun_job(id).await.map_err(engine_error)
}

/// A server function's error as a sentence for people (without the
/// framework's "error running server function" prefix).
pub fn error_text(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(message) => message.clone(),
        other => other.to_string(),
    }
}
