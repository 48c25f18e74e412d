//! Everything the engine can refuse or fail at.

use std::path::PathBuf;

use thiserror::Error;
use trainyard_core::catalog::LaunchErrors;
use trainyard_core::config::ConfigErrors;
use trainyard_core::work::AttemptRef;
use trainyard_core::{HeartbeatError, HostHealth, JobStatus};

/// What callers see instead of an internal error's text.
pub const INTERNAL_MESSAGE: &str = "internal error; the server log has the details";

#[derive(Debug, Error)]
pub enum EngineError {
    /// The agent speaks a protocol version this server does not accept.
    #[error("agent speaks protocol version {got}; this server accepts {accepted}. Install matching versions of trainyard and trainyard-agent")]
    ProtocolMismatch { got: u32, accepted: String },
    #[error("invalid heartbeat: {0}")]
    InvalidHeartbeat(#[from] HeartbeatError),
    #[error("no host with id {0:?}")]
    HostNotFound(String),
    #[error("host {host_id:?} is {}; only disconnected hosts can be removed (stop its agent first)", health.label())]
    HostNotDisconnected { host_id: String, health: HostHealth },
    /// The experiment config is invalid (each error has its line and column).
    #[error("invalid config: {0}")]
    Config(#[from] ConfigErrors),
    #[error("the config has no `command` and the server has no default (start it with --default-command)")]
    NoCommand,
    /// A submission option or query parameter is out of range.
    #[error("{0}")]
    BadOption(String),
    #[error("no job with id {0}")]
    JobNotFound(i64),
    #[error("job {id} is already {status}; cannot {action} it")]
    JobFinished {
        id: i64,
        status: JobStatus,
        action: &'static str,
    },
    #[error("job {id} is {status}; only queued jobs can change priority")]
    JobNotQueued { id: i64, status: JobStatus },
    #[error("job {id} is {status}; only finished or lost jobs can be re-run")]
    JobNotFinished { id: i64, status: JobStatus },
    /// *Resume* of a job that cannot be resumed; the text says why and what
    /// to do instead.
    #[error("job {id} cannot be resumed: {why}")]
    NotResumable { id: i64, why: String },
    /// A report from an attempt that is no longer the job's current one.
    #[error("job {} attempt {} was superseded (cancelled, requeued or finished); stop it", .0.job_id, .0.attempt)]
    Superseded(AttemptRef),
    #[error("log chunk at offset {offset} does not continue the server's copy, which has {size} bytes; resend from {size}")]
    LogOffsetMismatch { offset: u64, size: u64 },
    #[error("log is over the {limit}-byte limit")]
    LogTooLarge { limit: u64 },
    /// A run-file path from the network that the server will not store.
    #[error("run file path {path:?}: {message}")]
    BadRunPath { path: String, message: String },
    #[error("{path}: chunk at offset {offset} does not continue the server's copy, which has {size} bytes; resend from {size}")]
    FileOffsetMismatch {
        path: String,
        offset: u64,
        size: u64,
    },
    #[error("{path}: {message}")]
    HashMismatch { path: String, message: String },
    #[error("{path}: {size} bytes is over the server's {limit}-byte file limit (--max-file-mb)")]
    FileTooLarge { path: String, size: u64, limit: u64 },
    #[error("job {job_id} has no file {path:?}")]
    RunFileNotFound { job_id: i64, path: String },
    /// A metric key or chart query parameter is invalid; `field` names it.
    /// A TensorBoard import's directory or project cannot be used.
    #[error("cannot import {path:?}: {message}")]
    BadImportDir { path: String, message: String },
    #[error("{field}: {message}")]
    BadMetricQuery {
        field: &'static str,
        message: String,
    },
    #[error("job {job_id} has no metric {key:?}")]
    MetricNotFound { job_id: i64, key: String },
    /// A component path (or category) the store will not hold.
    #[error("component path {path:?}: {message}")]
    BadComponentPath { path: String, message: String },
    #[error("{path}: {message}")]
    BadComponentContent { path: String, message: String },
    #[error("{path}: {size} bytes is over the components store's {limit}-byte limit")]
    ComponentTooLarge { path: String, size: u64, limit: u64 },
    #[error("the components store has no {0}")]
    ComponentNotFound(String),
    #[error("no manifest for {0:?}: it never started, or synced no code")]
    ManifestNotFound(String),
    #[error("no notification with id {0}")]
    NoticeNotFound(i64),
    #[error("{path}: not part of this attempt's sync plan; sync again")]
    NotInPlan { path: String },
    #[error("the server has no components dir; start it with --components-dir <a CVLab-Kit tree>")]
    NoComponentsDir,
    /// A tracking (MLflow API) request the engine refuses; `field` names
    /// what is wrong.
    #[error("{field}: {message}")]
    TrackingInvalid { field: String, message: String },
    #[error("no experiment {0:?}")]
    ExperimentNotFound(String),
    #[error("an experiment (project) named {0:?} already exists")]
    ExperimentExists(String),
    #[error("run {run} has no tag {key:?}")]
    RunTagNotFound { run: i64, key: String },
    #[error("run {id} is {status}; only finished runs can be archived (cancel it first)")]
    RunActive { id: i64, status: JobStatus },
    #[error("project {project:?} has no run named {name:?}")]
    RunNotFound { project: String, name: String },
    #[error("the catalog is not valid; nothing was saved:\n{0}")]
    InvalidCatalog(ConfigErrors),
    #[error("no catalog revision {0}")]
    RevisionNotFound(i64),
    #[error("no task {task:?} in the catalog; tasks: {known}")]
    UnknownTask { task: String, known: String },
    #[error("{0}")]
    InvalidLaunch(#[from] LaunchErrors),
    #[error("job {0} was not launched from the catalog")]
    NotLaunched(i64),
    /// A webhook that cannot be saved; `field` is the request's field.
    #[error("{field}: {message}")]
    BadWebhook {
        field: &'static str,
        message: String,
    },
    #[error("no webhook with id {0}")]
    WebhookNotFound(i64),
    /// A model registry request with an invalid field; `field` names it.
    #[error("{field}: {message}")]
    ModelInvalid { field: String, message: String },
    #[error("no model named {0:?}")]
    ModelNotFound(String),
    #[error("model {model:?} has no version {version:?} in {stage}")]
    ModelVersionNotFound {
        model: String,
        stage: String,
        version: String,
    },
    #[error("{0}")]
    StageNotFound(String),
    #[error("nothing serves model {model:?} {stage}; serve it with POST /api/v1/models/{model}/{stage}/serve")]
    NotServing { model: String, stage: String },
    #[error("model {model:?} version {version:?} has no file {path:?}")]
    ModelFileNotFound {
        model: String,
        version: String,
        path: String,
    },
    #[error("model {model:?} already has version {version:?} in {stage}; version names are never reused")]
    ModelVersionExists {
        model: String,
        stage: String,
        version: String,
    },
    #[error("a model named {0:?} already exists")]
    ModelExists(String),
    #[error("model {0:?} has versions; versions are never deleted, so neither is the model")]
    ModelHasVersions(String),
    #[error(
        "model {model:?} has no version {number} (MLflow's version N is the dev version v000N)"
    )]
    MlflowVersionNotFound { model: String, number: u64 },
    #[error("model {model:?} has no alias {alias:?}")]
    ModelAliasNotFound { model: String, alias: String },
    #[error("run {job_id}: {message}")]
    RunFilesMissing { job_id: i64, message: String },
    #[error("no project named {0:?}")]
    ProjectNotFound(String),
    #[error("no run of {scope} has a point of metric {metric:?}")]
    NoBestRun { scope: String, metric: String },
    /// Reading or writing a file or directory of the engine failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

/// What kind of refusal an error is, for the boundaries (REST status,
/// server-function error): the one table every client's handling rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is wrong; sending it again will not help (400).
    BadRequest,
    /// What it names does not exist (404).
    NotFound,
    /// It conflicts with the current state (409).
    Conflict,
    /// It is over a size limit (413).
    TooLarge,
    /// Its bytes do not match their announced hash (422).
    Unprocessable,
    /// The peer must be upgraded (426).
    UpgradeRequired,
    /// The server failed; details are for its log, not for the caller (500).
    Internal,
}

impl EngineError {
    /// The stable code clients branch on (`trainyard_core::protocol::codes`)
    /// and the kind of refusal.
    pub fn code(&self) -> (&'static str, ErrorKind) {
        use trainyard_core::protocol::codes;
        use ErrorKind::*;
        match self {
            EngineError::ProtocolMismatch { .. } => (codes::PROTOCOL_MISMATCH, UpgradeRequired),
            EngineError::InvalidHeartbeat(_) => (codes::INVALID_HEARTBEAT, BadRequest),
            EngineError::HostNotFound(_) => (codes::HOST_NOT_FOUND, NotFound),
            EngineError::HostNotDisconnected { .. } => (codes::HOST_NOT_DISCONNECTED, Conflict),
            EngineError::Config(_) => (codes::INVALID_CONFIG, BadRequest),
            EngineError::NoCommand => (codes::NO_COMMAND, BadRequest),
            EngineError::BadOption(_) => (codes::BAD_OPTION, BadRequest),
            EngineError::JobNotFound(_) => (codes::JOB_NOT_FOUND, NotFound),
            EngineError::JobFinished { .. } => (codes::JOB_FINISHED, Conflict),
            EngineError::JobNotQueued { .. } => (codes::JOB_NOT_QUEUED, Conflict),
            EngineError::JobNotFinished { .. } => (codes::JOB_NOT_FINISHED, Conflict),
            EngineError::NotResumable { .. } => (codes::NOT_RESUMABLE, Conflict),
            EngineError::Superseded(_) => (codes::SUPERSEDED, Conflict),
            EngineError::LogOffsetMismatch { .. } => (codes::OFFSET_MISMATCH, Conflict),
            EngineError::LogTooLarge { .. } => (codes::LOG_TOO_LARGE, TooLarge),
            EngineError::BadRunPath { .. } => (codes::BAD_PATH, BadRequest),
            EngineError::FileOffsetMismatch { .. } => (codes::OFFSET_MISMATCH, Conflict),
            EngineError::HashMismatch { .. } => (codes::HASH_MISMATCH, Unprocessable),
            EngineError::FileTooLarge { .. } => (codes::TOO_LARGE, TooLarge),
            EngineError::RunFileNotFound { .. } => (codes::FILE_NOT_FOUND, NotFound),
            EngineError::BadMetricQuery { .. } => (codes::BAD_METRIC_QUERY, BadRequest),
            EngineError::MetricNotFound { .. } => (codes::METRIC_NOT_FOUND, NotFound),
            EngineError::BadComponentPath { .. } => (codes::BAD_COMPONENT_PATH, BadRequest),
            EngineError::BadComponentContent { .. } => (codes::BAD_CONTENT, BadRequest),
            EngineError::ComponentTooLarge { .. } => (codes::TOO_LARGE, TooLarge),
            EngineError::ComponentNotFound(_) => (codes::COMPONENT_NOT_FOUND, NotFound),
            EngineError::ManifestNotFound(_) => (codes::MANIFEST_NOT_FOUND, NotFound),
            EngineError::NoticeNotFound(_) => (codes::NOTICE_NOT_FOUND, NotFound),
            EngineError::NotInPlan { .. } => (codes::NOT_IN_PLAN, Conflict),
            EngineError::NoComponentsDir => (codes::NO_COMPONENTS_DIR, Conflict),
            EngineError::TrackingInvalid { .. } => (codes::INVALID_PARAMETER_VALUE, BadRequest),
            EngineError::ExperimentNotFound(_) => (codes::EXPERIMENT_NOT_FOUND, NotFound),
            EngineError::ExperimentExists(_) => (codes::EXPERIMENT_EXISTS, Conflict),
            EngineError::RunTagNotFound { .. } => (codes::TAG_NOT_FOUND, NotFound),
            EngineError::RunActive { .. } => (codes::RUN_ACTIVE, Conflict),
            EngineError::RunNotFound { .. } => (codes::RUN_NOT_FOUND, NotFound),
            EngineError::BadImportDir { .. } => (codes::BAD_IMPORT_DIR, BadRequest),
            EngineError::InvalidCatalog(_) => (codes::INVALID_CATALOG, BadRequest),
            EngineError::RevisionNotFound(_) => (codes::REVISION_NOT_FOUND, NotFound),
            EngineError::UnknownTask { .. } => (codes::UNKNOWN_TASK, BadRequest),
            EngineError::InvalidLaunch(_) => (codes::INVALID_LAUNCH, BadRequest),
            EngineError::NotLaunched(_) => (codes::NOT_LAUNCHED, NotFound),
            EngineError::BadWebhook { .. } => (codes::BAD_WEBHOOK, BadRequest),
            EngineError::WebhookNotFound(_) => (codes::WEBHOOK_NOT_FOUND, NotFound),
            EngineError::ModelInvalid { .. } => (codes::INVALID_MODEL_REQUEST, BadRequest),
            EngineError::ModelNotFound(_) => (codes::MODEL_NOT_FOUND, NotFound),
            EngineError::ModelVersionNotFound { .. } => (codes::MODEL_VERSION_NOT_FOUND, NotFound),
            EngineError::StageNotFound(_) => (codes::STAGE_NOT_FOUND, NotFound),
            EngineError::NotServing { .. } => (codes::NOT_SERVING, NotFound),
            EngineError::ModelFileNotFound { .. } => (codes::FILE_NOT_FOUND, NotFound),
            EngineError::ModelVersionExists { .. } => (codes::MODEL_VERSION_EXISTS, Conflict),
            EngineError::RunFilesMissing { .. } => (codes::RUN_FILES_MISSING, BadRequest),
            EngineError::ModelExists(_) => (codes::MODEL_EXISTS, Conflict),
            EngineError::ModelHasVersions(_) => (codes::MODEL_HAS_VERSIONS, Conflict),
            EngineError::MlflowVersionNotFound { .. } | EngineError::ModelAliasNotFound { .. } => {
                (codes::MODEL_VERSION_NOT_FOUND, NotFound)
            }
            EngineError::ProjectNotFound(_) => (codes::PROJECT_NOT_FOUND, NotFound),
            EngineError::NoBestRun { .. } => (codes::NO_BEST_RUN, NotFound),
            EngineError::Io { .. } | EngineError::Database(_) | EngineError::Migration(_) => {
                (codes::INTERNAL, Internal)
            }
        }
    }

    /// The message a caller may see: the error itself, except for internal
    /// failures, whose text (paths, SQL) is logged here and replaced.
    pub fn public_message(&self) -> String {
        match self.code().1 {
            ErrorKind::Internal => {
                tracing::error!("internal error: {self}");
                INTERNAL_MESSAGE.to_string()
            }
            _ => self.to_string(),
        }
    }

    /// `Ok` if an agent speaking `version` is accepted, else `ProtocolMismatch`.
    pub fn check_protocol(version: u32) -> Result<(), EngineError> {
        if trainyard_core::protocol::is_supported(version) {
            Ok(())
        } else {
            Err(EngineError::ProtocolMismatch {
                got: version,
                accepted: trainyard_core::protocol::supported_range(),
            })
        }
    }
}
