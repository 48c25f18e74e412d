//! Jobs as the server, the agent and the browser see them.
//!
//! A sweep of N grid points becomes N jobs. A job runs as one or more
//! *attempts* (a retry after a lost lease is attempt n+1); the job's status
//! is its latest attempt's.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a job is in its life. docs/architecture.md ("Job lifecycle") has
/// the transition table; `engine/src/jobs/lifecycle.rs` is its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Where every new job starts.
    #[default]
    Queued,
    Assigned,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Lost,
}

/// `ALL`, `label`, `Display` and `FromStr` for a fieldless enum whose
/// labels are its serde names, so the two enums can't drift apart.
macro_rules! labels {
    ($ty:ident, $unknown:literal, $expected:literal, { $($variant:ident => $label:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: [$ty; [$($label),+].len()] = [$($ty::$variant),+];

            /// Lowercase name, as on the wire and in the database.
            pub fn label(self) -> &'static str {
                match self {
                    $($ty::$variant => $label),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }

        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $ty::ALL
                    .into_iter()
                    .find(|v| v.label() == s)
                    .ok_or_else(|| format!(concat!("unknown ", $unknown, " {:?}; expected ", $expected), s))
            }
        }
    };
}

labels!(JobStatus, "job status", "one of queued, assigned, running, succeeded, failed, cancelled, lost", {
    Queued => "queued",
    Assigned => "assigned",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Cancelled => "cancelled",
    Lost => "lost",
});

impl JobStatus {
    /// Holds a slot on a host (GPUs or a CPU slot).
    pub fn is_active(self) -> bool {
        matches!(self, JobStatus::Assigned | JobStatus::Running)
    }

    /// Has a current attempt the agent may still report on: assigned,
    /// running, or lost (its agent may come back after a partition).
    pub fn holds_attempt(self) -> bool {
        self.is_active() || self == JobStatus::Lost
    }

    /// Will not change again by itself. `Lost` is not final: the agent may
    /// still report the real outcome after a partition.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// Scheduling priority: high before normal before low, then first in first out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    High,
    #[default]
    Normal,
    Low,
}

labels!(Priority, "priority", "high, normal or low", {
    High => "high",
    Normal => "normal",
    Low => "low",
});

impl Priority {
    /// Sort key: smaller runs first.
    pub fn rank(self) -> u8 {
        match self {
            Priority::High => 0,
            Priority::Normal => 1,
            Priority::Low => 2,
        }
    }

    pub fn from_rank(rank: i64) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| i64::from(p.rank()) == rank)
    }
}

/// One job, as listed by the API and drawn by the Queue page. The default
/// is a queued job that has never run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: i64,
    pub sweep_id: i64,
    pub project: String,
    pub name: String,
    pub status: JobStatus,
    pub priority: Priority,
    /// The command as submitted (argv), before `{config}`-style placeholders
    /// are filled in on the agent.
    pub command: Vec<String>,
    #[serde(default)]
    pub workdir: Option<String>,
    /// GPUs asked for; 0 runs in a CPU slot.
    pub gpus: u32,
    #[serde(default)]
    pub host_pin: Option<String>,
    #[serde(default)]
    pub min_gpu_memory_mb: Option<u64>,
    /// Exactly these GPU indices (`device: [4, 5]` with a host pin); empty
    /// means any `gpus` free ones.
    #[serde(default)]
    pub gpu_ids: Vec<u32>,
    /// Extra attempts allowed after a lost lease.
    pub retries: u32,
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The grid point: axis key → value, in axis order.
    #[serde(default)]
    pub params: Vec<(String, String)>,
    /// Current attempt number, 0 before the first assignment.
    pub attempt: u32,
    #[serde(default)]
    pub host_id: Option<String>,
    #[serde(default)]
    pub gpu_indices: Vec<u32>,
    pub created_ms: i64,
    #[serde(default)]
    pub started_ms: Option<i64>,
    #[serde(default)]
    pub finished_ms: Option<i64>,
    /// Measured by the agent's monotonic clock when it reported the end.
    #[serde(default)]
    pub duration_ms: Option<i64>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// What happened to the job: why it failed, was lost, requeued or
    /// cancelled. Stored with the job.
    #[serde(default)]
    pub reason: Option<String>,
    /// Why a queued job has not started yet ("waiting for a free GPU"),
    /// computed from the fleet when the job is listed; `None` otherwise.
    #[serde(default)]
    pub waiting: Option<String>,
    /// Set when a running job was asked to stop and the agent has not yet
    /// confirmed.
    #[serde(default)]
    pub cancel_requested: bool,
    #[serde(default)]
    pub rerun_of: Option<i64>,
    /// A re-run pinned to this job's exact code (its manifest), not to the
    /// components' active versions.
    #[serde(default)]
    pub code_from: Option<i64>,
    /// Attempts that used no retry: those preempted for a higher-priority
    /// job, those a user's *Resume* started, and assignments their agent
    /// never received.
    #[serde(default)]
    pub free_attempts: u32,
    /// While set, the running attempt is being stopped (TERM, then KILL
    /// after the grace) to make room for this job; it is then requeued.
    #[serde(default)]
    pub preempted_for: Option<i64>,
}

impl JobView {
    /// Forgets everything its attempts wrote (host, GPUs, times, exit,
    /// reason, cancel request): the job as it was before it first ran.
    pub fn clear_run_state(&mut self) {
        let kept = std::mem::take(self);
        *self = JobView {
            id: kept.id,
            sweep_id: kept.sweep_id,
            project: kept.project,
            name: kept.name,
            priority: kept.priority,
            command: kept.command,
            workdir: kept.workdir,
            gpus: kept.gpus,
            host_pin: kept.host_pin,
            min_gpu_memory_mb: kept.min_gpu_memory_mb,
            gpu_ids: kept.gpu_ids,
            retries: kept.retries,
            timeout_secs: kept.timeout_secs,
            params: kept.params,
            created_ms: kept.created_ms,
            rerun_of: kept.rerun_of,
            code_from: kept.code_from,
            ..JobView::default()
        };
    }
}

/// A job's full record: the view plus its resolved config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    #[serde(flatten)]
    pub job: JobView,
    /// The resolved config handed to the process as `TRAINYARD_CONFIG`.
    pub config_yaml: String,
    pub attempts: Vec<AttemptView>,
}

/// One attempt of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptView {
    pub attempt: u32,
    pub host_id: String,
    pub gpu_indices: Vec<u32>,
    pub status: JobStatus,
    pub assigned_ms: i64,
    #[serde(default)]
    pub started_ms: Option<i64>,
    #[serde(default)]
    pub finished_ms: Option<i64>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// Scheduling choices made at submission, overriding the config's own
/// reserved keys when set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubmitOptions {
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub gpus: Option<u32>,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub min_gpu_memory_mb: Option<u64>,
}

/// What a submission created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmitResult {
    pub sweep_id: i64,
    pub jobs: Vec<JobView>,
}

/// Body of `POST /api/v1/jobs/{id}/priority`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorityChange {
    pub priority: Priority,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_priority_round_trip_through_their_labels() {
        for status in JobStatus::ALL {
            assert_eq!(status.label().parse::<JobStatus>(), Ok(status));
        }
        for priority in Priority::ALL {
            assert_eq!(priority.label().parse::<Priority>(), Ok(priority));
            assert_eq!(Priority::from_rank(priority.rank().into()), Some(priority));
        }
    }

    #[test]
    fn labels_are_the_serde_names() {
        let json = |v: serde_json::Result<String>| v.unwrap_or_default();
        for status in JobStatus::ALL {
            assert_eq!(
                json(serde_json::to_string(&status)),
                format!("{:?}", status.label())
            );
        }
        for priority in Priority::ALL {
            assert_eq!(
                json(serde_json::to_string(&priority)),
                format!("{:?}", priority.label())
            );
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_choices() {
        let err = "urgent".parse::<Priority>().err().unwrap_or_default();
        assert!(err.contains("high, normal or low"), "{err}");
        assert!("done"
            .parse::<JobStatus>()
            .err()
            .unwrap_or_default()
            .contains("succeeded"));
    }

    #[test]
    fn clearing_run_state_keeps_what_was_asked_for() {
        let mut ran = JobView {
            id: 4,
            name: "a".into(),
            gpus: 2,
            retries: 1,
            status: JobStatus::Failed,
            attempt: 2,
            host_id: Some("h".into()),
            gpu_indices: vec![0, 1],
            exit_code: Some(3),
            reason: Some("exited with code 3".into()),
            cancel_requested: true,
            ..JobView::default()
        };
        ran.clear_run_state();
        let expected = JobView {
            id: 4,
            name: "a".into(),
            gpus: 2,
            retries: 1,
            ..JobView::default()
        };
        assert_eq!(ran, expected);
    }

    #[test]
    fn lost_is_neither_active_nor_final() {
        assert!(!JobStatus::Lost.is_active());
        assert!(!JobStatus::Lost.is_final());
        assert!(JobStatus::Lost.holds_attempt());
        assert!(JobStatus::Assigned.holds_attempt());
        assert!(!JobStatus::Queued.holds_attempt());
        assert!(!JobStatus::Failed.holds_attempt());
        assert!(JobStatus::Running.is_active());
        assert!(JobStatus::Cancelled.is_final());
    }
}
