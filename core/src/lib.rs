//! Types that cross a process boundary: agent ↔ server, server ↔ browser.
//!
//! Nothing here does IO, so the same code runs in the server, the agent and
//! the browser (wasm32). New fields on wire types are `#[serde(default)]` so an
//! older peer's messages still parse.

pub mod catalog;
pub mod components;
pub mod config;
pub mod decimal;
pub mod event;
pub mod health;
pub mod heartbeat;
pub mod host;
pub mod host_query;
pub mod ids;
pub mod job;
pub mod metrics;
pub mod models;
pub mod protocol;
pub mod runs;
pub mod serving;
pub mod status;
pub mod sync;
pub mod tar;
pub mod telemetry;
pub mod webhooks;
pub mod work;

pub use config::{
    parse_experiment, Axis, ConfigError, ConfigErrors, Experiment, RunSpec, Scheduling, SweepLimits,
};
pub use event::{LogStreamEvent, ServerEvent};
pub use health::{HealthThresholds, HostHealth};
pub use heartbeat::{GpuProcess, GpuStats, Heartbeat, HeartbeatAck, HeartbeatError, SystemStats};
pub use host::{FleetCounts, HostView};
pub use host_query::{HostFilter, HostListParams, HostQuery, HostQueryError, HostStart, HostsPage};
pub use ids::{validate_host_id, HostIdError};
pub use job::{
    AttemptView, JobDetail, JobStatus, JobView, Priority, PriorityChange, SubmitOptions,
    SubmitResult,
};
pub use metrics::{validate_metric_key, MetricKeyError, MetricSeries, MetricSummary, SeriesBucket};
pub use protocol::{ApiErrorBody, PROTOCOL_HEADER, PROTOCOL_VERSION};
pub use status::ServerStatus;
pub use telemetry::{
    FleetTelemetry, GpuTelemetry, HostLoad, HostTelemetry, TelemetryParams, TelemetryWindow,
};
