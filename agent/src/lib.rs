//! Trainyard agent: runs on a GPU host, posts a heartbeat describing the
//! host's hardware to the Trainyard server every few seconds, and runs the
//! jobs the server assigns (see `jobs/`).
//!
//! The server embeds this library to run a "local agent" in-process; the
//! `trainyard-agent` binary (`main.rs` plus the `cli/` folder) wraps the same
//! [`run`] for remote hosts.
//!
//! `agent` runs the two loops side by side: `heartbeat/` (what the host
//! looks like, posted every interval) and `jobs/` (the poll for work, the
//! processes, their logs and run files). Both speak to the server through
//! `http/`; `gpu/` reads the GPUs for the heartbeat.
//!
//! One agent may work for several servers (`AgentSettings::extra_servers`):
//! each gets its own heartbeat loop, poll and jobs, and `jobs/host_slots`
//! keeps their jobs off each other's GPUs.
//!
//! For the binary's daemon mode: `workdir_lock` keeps one agent per work
//! dir, `status` is the status file `--status` reads, and [`Control`] is
//! how a running agent is told to drain or exit.

mod agent;
mod backoff;
pub mod bundle;
mod control;
mod error;
pub mod gpu;
mod heartbeat;
mod http;
mod jobs;
mod settings;
pub mod status;
pub mod supervisor;
pub mod workdir_lock;

pub use agent::{run, run_controlled};
pub use backoff::BackoffPolicy;
pub use control::Control;
pub use error::AgentError;
pub use heartbeat::hostname::{default_host_id, os_hostname};
pub use settings::{
    workspace_of, AgentSettings, GpuSource, ServerEndpoint, DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_KILL_GRACE,
};
