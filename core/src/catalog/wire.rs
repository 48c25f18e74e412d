//! The catalog and launch API's JSON (`/api/v1/catalog…`, `/api/v1/launch`).

use super::{FieldValue, LaunchRun, TaskForm};
use crate::config::ConfigError;
use crate::job::{JobView, Priority};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One saved catalog. Only valid catalogs are saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogRevision {
    pub id: i64,
    /// `api`, `file <path>` (at server start), `restore <id>`.
    pub source: String,
    /// Who saved it: the API key's user (`api key`), `ui`, or `local`.
    pub saved_by: String,
    pub created_ms: i64,
    pub bytes: u64,
}

/// `GET /api/v1/catalog`: the running catalog. `revision` is null (and
/// `content` empty) before any catalog was saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogView {
    #[serde(default)]
    pub revision: Option<CatalogRevision>,
    pub content: String,
}

/// `GET /api/v1/catalog/revisions/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogRevisionContent {
    #[serde(flatten)]
    pub revision: CatalogRevision,
    pub content: String,
}

/// Body of `POST /api/v1/catalog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveCatalog {
    pub content: String,
}

/// Answer to a save or a restore: the running revision, and whether this
/// call created it (identical content creates none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogSaved {
    pub revision: CatalogRevision,
    pub created: bool,
}

/// Body of a refused save (400 `invalid_catalog`): every problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogProblems {
    pub code: String,
    pub message: String,
    pub errors: Vec<ConfigError>,
}

/// `GET /api/v1/catalog/diff?from=A&to=B`: a unified line diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogDiff {
    pub from: i64,
    pub to: i64,
    pub unified: String,
}

/// `GET /api/v1/catalog/tasks`: the enabled tasks' forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogTasks {
    #[serde(default)]
    pub revision_id: Option<i64>,
    pub tasks: Vec<TaskForm>,
}

/// Body of `POST /api/v1/launch`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchRequest {
    pub task_type: String,
    /// Field name → value; a list (or a comma list in text) is a sweep.
    #[serde(default)]
    pub values: BTreeMap<String, FieldValue>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// GPUs per job (1 when absent).
    #[serde(default)]
    pub gpus: Option<u32>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub min_gpu_memory_mb: Option<u64>,
    /// Plan only: answer the argv of each run, queue nothing.
    #[serde(default)]
    pub preview: bool,
}

/// Answer to a launch: the runs planned and, unless previewed, the jobs
/// queued (same order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchResult {
    pub task_type: String,
    pub revision_id: i64,
    #[serde(default)]
    pub sweep_id: Option<i64>,
    pub runs: Vec<LaunchRun>,
    #[serde(default)]
    pub jobs: Vec<JobView>,
}

/// What launched a job (`GET /api/v1/jobs/{id}/launch`): enough for "Launch
/// again" to refill the form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobLaunch {
    pub job_id: i64,
    pub task_type: String,
    pub revision_id: i64,
    /// This job's own value of each field that had one.
    pub values: BTreeMap<String, FieldValue>,
}
