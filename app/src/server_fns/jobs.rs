//! Server functions for experiments and jobs: submit, list, inspect, steer.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use trainyard_core::{AttemptView, JobStatus, JobView, Priority, SubmitOptions};

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

/// A job's full record as the Job page reads it: the REST API's
/// `JobDetail` with the view nested instead of flattened. Serde reads a
/// flattened struct through its buffering `Content` layer, which would put a
/// second reader of every `JobView` field into the Job page's wasm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job: JobView,
    /// The resolved config handed to the process as `TRAINYARD_CONFIG`.
    pub config_yaml: String,
    pub attempts: Vec<AttemptView>,
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

/// What the Dashboard shows of the queue: what runs, what waits next, and
/// the newest runs that started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardJobs {
    pub server_time_ms: i64,
    /// Assigned or running jobs (at most [`QUEUE_LIMIT`] counted).
    pub running_count: usize,
    /// The newest of them.
    pub running: Vec<JobView>,
    /// Queued jobs (at most [`QUEUE_LIMIT`] counted).
    pub queued_count: usize,
    /// The head of the queue, in the order jobs will start.
    pub queue_head: Vec<JobView>,
    /// The runs that started most recently (running or finished), newest first.
    pub recent: Vec<JobView>,
}

/// Running jobs listed on the Dashboard.
pub const DASHBOARD_RUNNING: usize = 6;
/// Queued jobs listed on the Dashboard.
pub const DASHBOARD_QUEUE_HEAD: usize = 5;
/// Runs on the Dashboard's timeline.
pub const DASHBOARD_RECENT: usize = 30;

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

/// Running and queued jobs at a glance and a timeline of recent runs,
/// optionally of one project (found among the newest 1,000 jobs of each
/// status).
#[server(prefix = "/ui")]
pub async fn get_dashboard_jobs(project: Option<String>) -> Result<DashboardJobs, UiError> {
    let engine = engine()?;
    let of = |status, limit| trainyard_engine::JobFilter {
        status: Some(status),
        sweep_id: None,
        limit: Some(limit),
    };
    let in_project = |jobs: Vec<JobView>| -> Vec<JobView> {
        match &project {
            Some(p) => jobs.into_iter().filter(|j| &j.project == p).collect(),
            None => jobs,
        }
    };
    let mut running = in_project(engine.jobs(of(JobStatus::Running, QUEUE_LIMIT)).await?);
    running.extend(in_project(
        engine.jobs(of(JobStatus::Assigned, QUEUE_LIMIT)).await?,
    ));
    running.sort_by_key(|j| std::cmp::Reverse(j.started_ms.unwrap_or(j.created_ms)));
    let mut queued = in_project(engine.jobs(of(JobStatus::Queued, QUEUE_LIMIT)).await?);
    queued.sort_by_key(|j| (j.priority.rank(), j.id));
    // The timeline: running jobs and the newest finished ones by start.
    let mut recent: Vec<JobView> = running.clone();
    let finished_limit = if project.is_some() {
        QUEUE_LIMIT
    } else {
        DASHBOARD_RECENT as u32
    };
    for status in [
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
        JobStatus::Lost,
    ] {
        recent.extend(in_project(engine.jobs(of(status, finished_limit)).await?));
    }
    recent.retain(|j| j.started_ms.is_some());
    recent.sort_by_key(|j| std::cmp::Reverse(j.started_ms));
    recent.truncate(DASHBOARD_RECENT);
    Ok(DashboardJobs {
        server_time_ms: engine.now_ms(),
        running_count: running.len(),
        queued_count: queued.len(),
        running: running.into_iter().take(DASHBOARD_RUNNING).collect(),
        queue_head: queued.into_iter().take(DASHBOARD_QUEUE_HEAD).collect(),
        recent,
    })
}

#[server(prefix = "/ui")]
pub async fn get_job(id: i64) -> Result<JobRecord, UiError> {
    let detail = engine()?.job(id).await?;
    Ok(JobRecord {
        job: detail.job,
        config_yaml: detail.config_yaml,
        attempts: detail.attempts,
    })
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
