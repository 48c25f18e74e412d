//! The agent's side of dispatch: asking for work, being told to stop, and
//! reporting what a job did. Plain REST under `/api/v1/agents/…`; see
//! docs/agent-protocol.md.
//!
//! Every report names a `(job_id, attempt)` pair. The server refuses reports
//! from an attempt that is no longer current with the error code
//! [`crate::protocol::codes::SUPERSEDED`], and the agent then stops that
//! process.

use serde::{Deserialize, Serialize};

/// Longest long-poll the server honours; longer waits are cut to this.
pub const MAX_POLL_WAIT_MS: u64 = 30_000;

/// Names one attempt of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AttemptRef {
    pub job_id: i64,
    pub attempt: u32,
}

/// Body of `POST /api/v1/agents/poll`: the agent's free capacity and the
/// attempts it is running (which renews their leases). The server answers at
/// once if it has work or stop orders, otherwise holds the request up to
/// `wait_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollRequest {
    pub protocol_version: u32,
    pub host_id: String,
    /// GPU indices not used by this agent's own jobs.
    pub free_gpus: Vec<u32>,
    /// How many `gpus: 0` jobs it may still start.
    pub free_cpu_slots: u32,
    /// How many more jobs of any kind it may start (`--max-jobs`).
    pub free_job_slots: u32,
    /// Attempts still alive on this host (running, or finished but not yet
    /// reported).
    #[serde(default)]
    pub running: Vec<AttemptRef>,
    #[serde(default)]
    pub wait_ms: u64,
}

/// Answer to a poll.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PollResponse {
    #[serde(default)]
    pub assign: Vec<Assignment>,
    #[serde(default)]
    pub stop: Vec<StopOrder>,
}

/// A job handed to an agent: everything needed to start the process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub job_id: i64,
    pub attempt: u32,
    pub project: String,
    pub name: String,
    /// argv; `{config}`, `{run_dir}`, `{run_id}` and `{name}` are replaced by
    /// the agent.
    pub command: Vec<String>,
    #[serde(default)]
    pub workdir: Option<String>,
    /// Resolved config, written to the run dir as `config.yaml`.
    pub config_yaml: String,
    /// Becomes `CUDA_VISIBLE_DEVICES`; empty for a CPU job.
    pub gpu_indices: Vec<u32>,
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Lease length. If the agent cannot renew for this long minus a safety
    /// margin and `fence` is set, it kills the job itself: the server will
    /// have requeued it elsewhere.
    pub lease_ms: u64,
    /// True while retries remain (a lost lease means a new attempt runs
    /// elsewhere); false means keep running through a partition.
    pub fence: bool,
    /// Set for a model-serving job: the agent fetches and unpacks the
    /// bundle, fills `{model_dir}` and `{port}`, and reports the endpoint
    /// once the health path answers. Agents that do not know it run the
    /// command with those placeholders unfilled (and it fails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serve: Option<ServeSpec>,
    /// A later attempt (a retry, a preempted job's return, a *Resume*):
    /// before starting, the agent asks for the previous attempt's synced
    /// run files (`…/resume`) and, if there are any, puts them in a resume
    /// dir named by `TRAINYARD_RESUME_DIR`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
}

/// Answer to `GET /api/v1/agents/jobs/{job}/attempts/{n}/resume`: the
/// synced run files of the newest earlier attempt that has any.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResumeFiles {
    /// The attempt the files come from; `None` when no earlier attempt
    /// has synced files (nothing to resume).
    #[serde(default)]
    pub from_attempt: Option<u32>,
    #[serde(default)]
    pub files: Vec<crate::sync::FileEntry>,
}

/// What a serving attempt needs beyond a job's usual fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeSpec {
    pub model: String,
    pub stage: String,
    /// A concrete version (never `latest`): the bundle route to fetch.
    pub version: String,
    /// The bundle's xxh3: where the agent caches it, and its check.
    pub bundle_xxh3: String,
    pub bundle_bytes: u64,
    /// Probed on `127.0.0.1:{port}` until it answers 200.
    pub health_path: String,
}

/// Body of `POST /api/v1/agents/jobs/{job}/attempts/{n}/serving`: the
/// attempt's server answers its health path on `port`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingReport {
    pub port: u16,
    /// The address the server should proxy to (the agent's
    /// `--advertise-address`); default: the address the report came from.
    #[serde(default)]
    pub address: Option<String>,
}

/// Why an agent must stop an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StopReason {
    /// A user cancelled it.
    Cancelled,
    /// A newer attempt replaced it, or the server does not know it.
    Superseded,
    /// A higher-priority job needs its GPUs (`--preempt`): it gets its
    /// grace period to checkpoint and is requeued to resume. Sent only by
    /// servers started with `--preempt`.
    Preempted,
}

/// One attempt to stop: TERM to its process group, then KILL after a grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopOrder {
    #[serde(flatten)]
    pub attempt: AttemptRef,
    pub reason: StopReason,
}

/// Body of `POST /api/v1/agents/jobs/{job}/attempts/{n}/started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartedReport {
    #[serde(default)]
    pub pid: Option<u32>,
}

/// How an attempt ended, as the agent saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Exit code 0.
    Succeeded,
    /// Non-zero exit, killed by a signal, timed out, or could not start.
    Failed,
    /// Stopped because of a cancel order.
    Cancelled,
    /// The job's process vanished through no fault of its own (the host
    /// rebooted, or it ended while no agent watched and left no exit
    /// status): an infrastructure loss. The server requeues the job while
    /// retries remain, as for an expired lease. Agents send it only to
    /// servers that know it (protocol 1 servers from this version on).
    Lost,
    /// Stopped because of a `preempted` stop order: the server requeues
    /// the job without counting a retry.
    Preempted,
}

/// Body of `POST /api/v1/agents/jobs/{job}/attempts/{n}/finished`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishedReport {
    pub outcome: Outcome,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub signal: Option<i32>,
    /// What went wrong, for a human: "timed out after 60 s",
    /// "cannot start `foo`: No such file or directory (os error 2)".
    #[serde(default)]
    pub error: Option<String>,
    /// From the agent's monotonic clock.
    pub duration_ms: u64,
    /// Full size of the attempt's log, so the server knows when it has all
    /// of it.
    #[serde(default)]
    pub log_size: u64,
}

/// Answer to a log append (`PUT …/log?offset=N`): the server's log size
/// after the append. On 409 the body is an error whose `size` field tells
/// where to resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogAck {
    pub size: u64,
}

/// Body of the 409 a log append at the wrong offset gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OffsetMismatch {
    pub code: String,
    pub message: String,
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_order_is_flat_on_the_wire() {
        let order = StopOrder {
            attempt: AttemptRef {
                job_id: 7,
                attempt: 2,
            },
            reason: StopReason::Cancelled,
        };
        let json = serde_json::to_value(order).expect("it serializes");
        assert_eq!(
            json,
            serde_json::json!({"job_id": 7, "attempt": 2, "reason": "cancelled"})
        );
    }

    #[test]
    fn an_old_poll_without_optional_fields_parses() {
        let poll: PollRequest = serde_json::from_str(
            r#"{"protocol_version":1,"host_id":"a","free_gpus":[0],"free_cpu_slots":1,"free_job_slots":1}"#,
        ).expect("it parses");
        assert!(poll.running.is_empty());
        assert_eq!(poll.wait_ms, 0);
    }
}
