//! The scheduler's own model of a job, apart from the wire's `JobView`:
//! what was asked (fixed at submission, shared, never cloned deeply) and
//! where its current attempt stands (what every transition changes). The
//! view browsers and the database get is built from both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use trainyard_core::work::{Assignment, AttemptRef};
use trainyard_core::{AttemptView, JobStatus, JobView, Priority};

use crate::store::JobRow;

/// What a job asked for, fixed when it was queued.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct JobSpec {
    pub id: i64,
    pub sweep_id: i64,
    pub project: String,
    pub name: String,
    pub command: Vec<String>,
    pub workdir: Option<String>,
    /// GPUs asked for; 0 runs in a CPU slot.
    pub gpus: u32,
    pub host_pin: Option<String>,
    pub min_gpu_memory_mb: Option<u64>,
    /// Exactly these GPU indices; empty means any free ones.
    pub gpu_ids: Vec<u32>,
    /// Extra attempts allowed after a lost lease.
    pub retries: u32,
    pub timeout_secs: Option<u64>,
    pub params: Vec<(String, String)>,
    pub created_ms: i64,
    pub rerun_of: Option<i64>,
    /// Runs this job's exact code (a re-run pinned to its manifest).
    pub code_from: Option<i64>,
    /// The resolved experiment config handed to the process.
    pub config_yaml: String,
}

/// Where the job's current attempt stands.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AttemptState {
    pub status: JobStatus,
    /// Current attempt number, 0 before the first assignment.
    pub attempt: u32,
    pub host_id: Option<String>,
    pub gpu_indices: Vec<u32>,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    pub exit_code: Option<i32>,
    /// What happened: why it failed, was lost, requeued or cancelled.
    pub reason: Option<String>,
    pub cancel_requested: bool,
    /// Attempts that used no retry (preempted, started by *Resume*, or
    /// never received by their agent).
    pub free_attempts: u32,
    /// The job the running attempt is being stopped for (preemption).
    pub preempted_for: Option<i64>,
}

/// An unfinished job as the scheduler holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Job {
    pub spec: Arc<JobSpec>,
    pub priority: Priority,
    pub state: AttemptState,
    /// When the current attempt's lease runs out (assigned/running only).
    pub lease: Option<Instant>,
}

impl Job {
    /// A stored job, with `lease` as its current attempt's deadline.
    pub fn from_row(row: JobRow, lease: Option<Instant>) -> Job {
        let JobRow { view, config_yaml } = row;
        Job {
            spec: Arc::new(JobSpec {
                id: view.id,
                sweep_id: view.sweep_id,
                project: view.project,
                name: view.name,
                command: view.command,
                workdir: view.workdir,
                gpus: view.gpus,
                host_pin: view.host_pin,
                min_gpu_memory_mb: view.min_gpu_memory_mb,
                gpu_ids: view.gpu_ids,
                retries: view.retries,
                timeout_secs: view.timeout_secs,
                params: view.params,
                created_ms: view.created_ms,
                rerun_of: view.rerun_of,
                code_from: view.code_from,
                config_yaml,
            }),
            priority: view.priority,
            state: AttemptState {
                status: view.status,
                attempt: view.attempt,
                host_id: view.host_id,
                gpu_indices: view.gpu_indices,
                started_ms: view.started_ms,
                finished_ms: view.finished_ms,
                duration_ms: view.duration_ms,
                exit_code: view.exit_code,
                reason: view.reason,
                cancel_requested: view.cancel_requested,
                free_attempts: view.free_attempts,
                preempted_for: view.preempted_for,
            },
            lease,
        }
    }

    pub fn id(&self) -> i64 {
        self.spec.id
    }

    pub fn status(&self) -> JobStatus {
        self.state.status
    }

    /// The current attempt.
    pub fn attempt_ref(&self) -> AttemptRef {
        AttemptRef {
            job_id: self.spec.id,
            attempt: self.state.attempt,
        }
    }

    /// Whether `at` is this job's current attempt, which may still report.
    pub fn is_current(&self, at: AttemptRef) -> bool {
        self.state.attempt == at.attempt && self.state.status.holds_attempt()
    }

    /// The job as the API, the database and browsers see it.
    pub fn view(&self) -> JobView {
        let (spec, state) = (&*self.spec, &self.state);
        JobView {
            id: spec.id,
            sweep_id: spec.sweep_id,
            project: spec.project.clone(),
            name: spec.name.clone(),
            status: state.status,
            priority: self.priority,
            command: spec.command.clone(),
            workdir: spec.workdir.clone(),
            gpus: spec.gpus,
            host_pin: spec.host_pin.clone(),
            min_gpu_memory_mb: spec.min_gpu_memory_mb,
            gpu_ids: spec.gpu_ids.clone(),
            retries: spec.retries,
            timeout_secs: spec.timeout_secs,
            params: spec.params.clone(),
            attempt: state.attempt,
            host_id: state.host_id.clone(),
            gpu_indices: state.gpu_indices.clone(),
            created_ms: spec.created_ms,
            started_ms: state.started_ms,
            finished_ms: state.finished_ms,
            duration_ms: state.duration_ms,
            exit_code: state.exit_code,
            reason: state.reason.clone(),
            waiting: None,
            cancel_requested: state.cancel_requested,
            rerun_of: spec.rerun_of,
            code_from: spec.code_from,
            free_attempts: state.free_attempts,
            preempted_for: state.preempted_for,
        }
    }

    /// Whether a loss of the current attempt may still be retried: the
    /// attempts so far, less those that used no retry, are within
    /// `1 + retries`.
    pub fn retries_left(&self) -> bool {
        self.state.attempt.saturating_sub(self.state.free_attempts) <= self.spec.retries
    }

    /// The attempt row matching the current attempt, as assigned at `assigned_ms`.
    pub fn attempt_row(&self, assigned_ms: i64) -> AttemptView {
        let state = &self.state;
        AttemptView {
            attempt: state.attempt,
            host_id: state.host_id.clone().unwrap_or_default(),
            gpu_indices: state.gpu_indices.clone(),
            status: state.status,
            assigned_ms,
            started_ms: state.started_ms,
            finished_ms: state.finished_ms,
            exit_code: state.exit_code,
            reason: state.reason.clone(),
        }
    }

    /// What the agent is told to run for the current attempt.
    pub fn assignment(&self, lease: Duration) -> Assignment {
        let (spec, state) = (&*self.spec, &self.state);
        Assignment {
            job_id: spec.id,
            attempt: state.attempt,
            project: spec.project.clone(),
            name: spec.name.clone(),
            command: spec.command.clone(),
            workdir: spec.workdir.clone(),
            config_yaml: spec.config_yaml.clone(),
            gpu_indices: state.gpu_indices.clone(),
            timeout_secs: spec.timeout_secs,
            lease_ms: u64::try_from(lease.as_millis()).unwrap_or(u64::MAX),
            // With retries left, a lost attempt is run again elsewhere, so
            // the agent must kill it itself once it cannot renew.
            fence: self.retries_left(),
            // Filled in by the serving domain for its jobs.
            serve: None,
            // Any later attempt may find its predecessor's files.
            resume: state.attempt > 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_survives_the_round_trip_through_the_domain_type() {
        let view = JobView {
            id: 3,
            sweep_id: 2,
            project: "p".into(),
            name: "n".into(),
            status: JobStatus::Running,
            priority: Priority::High,
            command: vec!["python".into()],
            workdir: Some("w".into()),
            gpus: 2,
            host_pin: Some("h".into()),
            min_gpu_memory_mb: Some(5),
            gpu_ids: vec![0, 1],
            retries: 1,
            timeout_secs: Some(9),
            params: vec![("lr".into(), "0.1".into())],
            attempt: 2,
            host_id: Some("h".into()),
            gpu_indices: vec![0, 1],
            created_ms: 10,
            started_ms: Some(11),
            finished_ms: None,
            duration_ms: None,
            exit_code: None,
            reason: Some("r".into()),
            waiting: None,
            cancel_requested: true,
            rerun_of: Some(1),
            code_from: Some(1),
            free_attempts: 1,
            preempted_for: Some(9),
        };
        let job = Job::from_row(
            JobRow {
                view: view.clone(),
                config_yaml: "lr: 0.1\n".into(),
            },
            None,
        );
        assert_eq!(job.view(), view);
        assert_eq!(job.spec.config_yaml, "lr: 0.1\n");
    }
}
