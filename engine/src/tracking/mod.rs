//! Experiment tracking with MLflow's rules: projects as numbered
//! experiments, runs (jobs) that an MLflow client creates, updates and
//! logs params, tags and metrics into, run search with MLflow's filter
//! language, metric histories and artifacts. The wire format is the
//! server's (`server/src/api/mlflow/`); what is stored and refused is here.
//! See docs/tracking.md.
//!
//! A run's id is its job id, so a job the queue runs is a run scripts can
//! log into (`MLFLOW_RUN_ID`), and an MLflow run is a job the Projects page
//! shows. Params are the job's parameters, metrics go to the metric store,
//! artifacts are run files under `artifacts/`.

mod artifacts;
mod experiments;
pub(crate) mod filter;
mod logging;
mod runs;
mod search;

pub use artifacts::ARTIFACTS_DIR;
pub use experiments::parse_experiment_id;
pub use logging::{LoggedMetric, TrackedBatch};
pub use runs::{NewRun, RunUpdate};
pub use search::{RunSearch, RunSearchPage, ViewType};

use trainyard_core::JobStatus;

use crate::clock::Clock;
use crate::error::EngineError;
use crate::store::Store;

/// Longest key of a param, tag or metric (MLflow's limit).
pub const MAX_KEY_CHARS: usize = 250;
/// Param values longer than this are cut to it (as MLflow does).
pub const MAX_PARAM_VALUE_CHARS: usize = 6000;
/// Tag values longer than this are cut to it (as MLflow does).
pub const MAX_TAG_VALUE_CHARS: usize = 8000;
/// Most metrics in one batch.
pub const MAX_BATCH_METRICS: usize = 1000;
/// Most params in one batch.
pub const MAX_BATCH_PARAMS: usize = 100;
/// Most tags in one batch.
pub const MAX_BATCH_TAGS: usize = 100;
/// Most entities (metrics + params + tags) in one batch.
pub const MAX_BATCH_ENTITIES: usize = 1000;
/// The tag that names a run.
pub const RUN_NAME_TAG: &str = "mlflow.runName";
/// Experiment 0, MLflow's default; its project is `default`.
pub const DEFAULT_EXPERIMENT_ID: i64 = 0;
/// The name clients see for experiment 0.
pub const DEFAULT_EXPERIMENT_NAME: &str = "Default";

/// An MLflow run status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackedStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl TrackedStatus {
    pub fn label(self) -> &'static str {
        match self {
            TrackedStatus::Running => "RUNNING",
            TrackedStatus::Scheduled => "SCHEDULED",
            TrackedStatus::Finished => "FINISHED",
            TrackedStatus::Failed => "FAILED",
            TrackedStatus::Killed => "KILLED",
        }
    }

    pub fn parse(text: &str) -> Option<TrackedStatus> {
        Some(match text {
            "RUNNING" => TrackedStatus::Running,
            "SCHEDULED" => TrackedStatus::Scheduled,
            "FINISHED" => TrackedStatus::Finished,
            "FAILED" => TrackedStatus::Failed,
            "KILLED" => TrackedStatus::Killed,
            _ => return None,
        })
    }

    /// How a job's status reads as an MLflow status.
    pub fn of_job(status: JobStatus) -> TrackedStatus {
        match status {
            JobStatus::Queued | JobStatus::Assigned => TrackedStatus::Scheduled,
            JobStatus::Running => TrackedStatus::Running,
            JobStatus::Succeeded => TrackedStatus::Finished,
            JobStatus::Failed | JobStatus::Lost => TrackedStatus::Failed,
            JobStatus::Cancelled => TrackedStatus::Killed,
        }
    }

    fn job_status(self) -> JobStatus {
        match self {
            TrackedStatus::Running => JobStatus::Running,
            TrackedStatus::Scheduled => JobStatus::Queued,
            TrackedStatus::Finished => JobStatus::Succeeded,
            TrackedStatus::Failed => JobStatus::Failed,
            TrackedStatus::Killed => JobStatus::Cancelled,
        }
    }
}

/// A project as an MLflow experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub id: i64,
    pub name: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub tags: Vec<(String, String)>,
}

/// The latest value of a run's metric.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestMetric {
    pub key: String,
    pub value: f64,
    pub step: i64,
    pub timestamp_ms: i64,
}

/// A run as MLflow shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedRun {
    pub id: i64,
    pub name: String,
    pub experiment_id: i64,
    pub user_id: String,
    pub status: TrackedStatus,
    pub start_ms: i64,
    pub end_ms: Option<i64>,
    /// `active` or `deleted` (archived).
    pub lifecycle_stage: String,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    pub metrics: Vec<LatestMetric>,
    /// Created by an MLflow client (else a job the queue ran or an import).
    pub client_created: bool,
}

/// One point of a metric's history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistoryPoint {
    pub value: f64,
    pub step: i64,
    pub timestamp_ms: i64,
}

/// A page of a metric's history.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricHistory {
    pub points: Vec<HistoryPoint>,
    pub next_page_token: Option<String>,
}

/// The tracking domain.
pub(crate) struct Tracking {
    store: Store,
    clock: Clock,
    /// One writer of params and tags at a time, so immutability checks and
    /// their writes cannot interleave.
    writes: tokio::sync::Mutex<()>,
}

impl Tracking {
    pub fn new(store: Store, clock: Clock) -> Tracking {
        Tracking {
            store,
            clock,
            writes: tokio::sync::Mutex::new(()),
        }
    }
}

/// A refusal naming the field, as MLflow's INVALID_PARAMETER_VALUE.
pub(crate) fn invalid(field: &str, message: impl Into<String>) -> EngineError {
    EngineError::TrackingInvalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Checks a param, tag or metric key: non-empty, at most 250 characters,
/// no path tricks (MLflow's rules).
pub(crate) fn check_key(field: &str, key: &str) -> Result<(), EngineError> {
    if key.is_empty() {
        return Err(invalid(field, "a key must not be empty"));
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(invalid(
            field,
            format!(
                "key {:?}… is longer than {MAX_KEY_CHARS} characters",
                short(key)
            ),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("key {:?} has a control character", short(key)),
        ));
    }
    if key.starts_with('/') || key.split('/').any(|part| part == ".." || part == ".") {
        return Err(invalid(
            field,
            format!("key {:?} would resolve to another path", short(key)),
        ));
    }
    Ok(())
}

/// The first 40 characters, for messages.
pub(crate) fn short(text: &str) -> String {
    text.chars().take(40).collect()
}

/// `text` cut to `max` characters.
pub(crate) fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}
