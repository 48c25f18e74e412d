//! Trainyard agent: runs on a GPU host, posts a heartbeat describing the
//! host's hardware to the Trainyard server every few seconds, and runs the
//! jobs the server assigns (see `jobs/`).
//!
//! The server embeds this library to run a "local agent" in-process; the
//! `trainyard-agent` binary (`main.rs` plus the `cli/` folder) wraps the same
//! [`run`] for remote hosts.

mod agent;
mod backoff;
mod client;
mod collector;
mod config;
mod error;
pub mod gpu;
mod hostname;
mod http;
mod jobs;
mod system_stats;
mod text;

pub use agent::run;
pub use backoff::BackoffPolicy;
pub use config::{AgentConfig, GpuSource, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_KILL_GRACE};
pub use error::AgentError;
pub use hostname::{default_host_id, os_hostname};
