//! The server's brain: everything the `trainyard` binary does that is not
//! HTTP. Tests drive it directly on an in-memory SQLite database.

mod append_only;
mod clock;
mod engine;
mod error;
pub mod events;
pub mod files;
pub mod import;
pub mod jobs;
pub mod metrics;
mod monitor;
mod registry;
mod runs;
pub mod store;

pub use engine::{Engine, EngineConfig};
pub use error::{EngineError, ErrorKind, INTERNAL_MESSAGE};
pub use jobs::{JobFilter, JobSettings, LogAppended, LogSlice};
pub use files::{FileSettings, RunFileSlice};
pub use metrics::MetricPoint;
pub use events::{BusEvent, EventBus, PublishedEvent, Subscription};
