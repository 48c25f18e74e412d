//! The server's brain: everything the `trainyard` binary does that is not
//! HTTP. [`Engine`] is the one door; behind it each domain is a module that
//! owns its state and rules and is handed the other domains it needs:
//!
//! - `hosts/`: the live fleet, health, persistence of telemetry
//! - `jobs/`: the queue, dispatch, leases, the job lifecycle, job output
//! - `files/`: run files synced from agents (appends, staged uploads)
//! - `metrics/`: series and their points, metric lines, CSV indexing, progress
//! - `runs/`: results: projects, runs table, compare, notes, a run's files
//! - `import/`: CVLab-Kit trees indexed in place
//! - `components/`: the lab's code, versioned; manifests; worker sync plans
//! - `tracking/`: MLflow's rules: experiments, runs, params, tags, search
//! - `launcher/`: the catalog of training scripts (revisions) and launches
//! - `models/`: the model registry: versions, stages, LATEST, bundles
//! - `mirror/`: the registry's FTP mirror (a queue, one worker) and the FTP client
//!
//! Shared underneath: `store/` (SQLite, one module per table), `events.rs`
//! (the bus browsers subscribe to), `clock.rs`, `append_only.rs`.

mod append_only;
mod clock;
mod components;
mod engine;
mod error;
mod events;
mod exposition;
mod files;
mod hosts;
mod import;
mod jobs;
mod launcher;
mod metrics;
mod mirror;
mod models;
mod notify;
mod prometheus;
mod runs;
mod settings;
mod store;
mod tracking;

pub use clock::Clock;
pub use components::Actor;
pub use engine::Engine;
pub use error::{EngineError, ErrorKind, INTERNAL_MESSAGE};
pub use events::{BusEvent, EventBus, PublishedEvent, Subscription};
pub use exposition::CONTENT_TYPE as PROMETHEUS_CONTENT_TYPE;
pub use files::{DirEntry, FileSettings, MAX_CHUNK_BYTES};
pub use jobs::{
    JobFilter, JobSettings, LogAppended, LogRead, LogSlice, DEFAULT_PROJECT, MAX_GPUS_PER_JOB,
    MAX_LOG_BYTES,
};
pub use launcher::MAX_CATALOG_BYTES;
pub use metrics::MetricPoint;
pub use mirror::{ftp, MirrorSettings};
pub use models::{
    mlflow_number, MlflowStage, ModelDownload, ModelDraft, NewMlflowVersion, RegisteredModel,
    RegisteredVersion, ServingTarget, SERVING_PROJECT, SERVING_RETRIES,
};
pub use notify::{validate_url as validate_webhook_url, FlagWebhook, NotifySettings};
pub use runs::{RunFileSlice, OUTPUT_LOG};
pub use settings::EngineSettings;
pub use tracking::{
    Experiment, HistoryPoint, LatestMetric, LoggedMetric, MetricHistory, NewRun, RunSearch,
    RunSearchPage, RunUpdate, TrackedBatch, TrackedRun, TrackedStatus, ViewType, ARTIFACTS_DIR,
    DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, MAX_KEY_CHARS,
};
