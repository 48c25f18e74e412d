//! The job lifecycle: every transition of a job, in one place, as pure
//! functions from the job as it is to the [`Change`] to commit. Nothing here
//! touches SQLite, the queue or the clock; callers pass `now`.
//!
//! | transition | from | to |
//! | --- | --- | --- |
//! | [`Job::assign`] | queued | assigned (attempt n+1, host, GPUs, lease) |
//! | [`Job::requeue_unreceived`] | assigned, absent from its agent's poll | queued (attempt row lost, no retry used) |
//! | [`Job::lose`] | assigned, running | queued (retries left) · cancelled (cancel asked) · lost |
//! | [`Job::revive`] | lost, its agent polls again | running |
//! | [`Job::start`] | assigned | running (a repeated report changes nothing) |
//! | [`Job::finish`] | assigned, running, lost | succeeded · failed · cancelled (a `lost` report: as `lose`) |
//! | [`Job::cancel`] | queued, lost | cancelled |
//! | [`Job::cancel`] | assigned, running | same status, cancel requested (agent stops it) |
//! | [`Job::reprioritize`] | queued | queued at another priority |
//! | [`Job::preempt`] | assigned, running | same status, preemption asked (agent stops it) |
//! | [`Job::finish`] | preemption asked, or a `preempted` report | queued (no retry used) |
//! | [`Job::resume`] | failed, cancelled, lost | queued as its next attempt (no retry used) |
//! | [`rerun_of`] | succeeded, failed, cancelled, lost | a new queued job |
//!
//! docs/architecture.md ("Job lifecycle") has the same table for readers of
//! the docs.

use std::time::Instant;

use trainyard_core::work::{FinishedReport, Outcome};
use trainyard_core::{AttemptView, JobStatus, Priority};

use super::job::{AttemptState, Job};
use crate::error::EngineError;
use crate::store::JobRow;

/// One job's new state, with the attempt row to write alongside.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub job: Job,
    pub attempt: Option<AttemptView>,
}

impl Change {
    /// A change that also writes the current attempt as it now is.
    fn with_attempt(job: Job, now_ms: i64) -> Change {
        let attempt = Some(job.attempt_row(now_ms));
        Change { job, attempt }
    }
}

impl Job {
    /// Hands a queued job to `host` on `gpus` as a new attempt.
    pub fn assign(&self, host: &str, gpus: Vec<u32>, lease_until: Instant, now_ms: i64) -> Change {
        let mut next = self.clone();
        let state = &mut next.state;
        state.status = JobStatus::Assigned;
        state.attempt += 1;
        state.host_id = Some(host.to_string());
        state.gpu_indices = gpus;
        state.started_ms = None;
        state.finished_ms = None;
        state.duration_ms = None;
        state.exit_code = None;
        state.reason = None;
        next.lease = Some(lease_until);
        Change::with_attempt(next, now_ms)
    }

    /// An assignment its agent never received (its answer was lost): the
    /// attempt is recorded lost and the job queued again without using a
    /// retry.
    pub fn requeue_unreceived(&self, now_ms: i64) -> Change {
        let mut row = self.attempt_row(now_ms);
        row.status = JobStatus::Lost;
        row.reason = Some("the agent never received this assignment".into());
        let mut next = self.clone();
        next.state.status = JobStatus::Queued;
        // The attempt number moves on, the retries left stay.
        next.state.free_attempts += 1;
        next.state.reason = None;
        next.state.host_id = None;
        next.state.gpu_indices.clear();
        next.lease = None;
        Change {
            job: next,
            attempt: Some(row),
        }
    }

    /// The attempt's lease is gone (or its agent no longer runs it):
    /// cancelled if a cancel was asked, requeued while retries remain, else
    /// lost until its agent reports.
    pub fn lose(&self, why: &str, now_ms: i64) -> Change {
        let host = self.state.host_id.clone().unwrap_or_default();
        let mut row = self.attempt_row(now_ms);
        row.status = JobStatus::Lost;
        row.reason = Some(why.to_string());
        let mut next = self.clone();
        next.lease = None;
        let state = &mut next.state;
        // A preemption in flight ends with the attempt: a lost attempt
        // follows the ordinary rule (its agent may not have heard the stop).
        state.preempted_for = None;
        if state.cancel_requested {
            state.status = JobStatus::Cancelled;
            state.finished_ms = Some(now_ms);
            state.reason = Some(format!("cancelled; {why}"));
        } else if self.retries_left() {
            state.status = JobStatus::Queued;
            state.reason = Some(format!(
                "attempt {} lost on {host} ({why}); requeued",
                state.attempt
            ));
            state.host_id = None;
            state.gpu_indices.clear();
        } else {
            state.status = JobStatus::Lost;
            state.reason = Some(format!(
                "lost on {host} ({why}); no retries left, waiting for its agent to report"
            ));
        }
        tracing::warn!(
            job = self.id(),
            attempt = state.attempt,
            host,
            "attempt lost: {why}"
        );
        Change {
            job: next,
            attempt: Some(row),
        }
    }

    /// A lost job's agent is back and still runs it.
    pub fn revive(&self, lease_until: Instant, now_ms: i64) -> Change {
        let mut next = self.clone();
        next.state.status = JobStatus::Running;
        next.state.reason = None;
        next.lease = Some(lease_until);
        Change::with_attempt(next, now_ms)
    }

    /// The agent started the process; `None` if it already said so.
    pub fn start(&self, lease_until: Instant, now_ms: i64) -> Option<Change> {
        if self.state.status == JobStatus::Running {
            return None;
        }
        let mut next = self.clone();
        next.state.status = JobStatus::Running;
        next.state.started_ms = Some(now_ms);
        next.lease = Some(lease_until);
        Some(Change::with_attempt(next, now_ms))
    }

    /// The attempt ended as `report` says. A `lost` report is an
    /// infrastructure loss, handled like an expired lease: requeued while
    /// retries remain.
    pub fn finish(&self, report: &FinishedReport, now_ms: i64) -> Change {
        let asked = self.state.preempted_for.is_some() && report.outcome != Outcome::Succeeded;
        if !self.state.cancel_requested && (asked || report.outcome == Outcome::Preempted) {
            return self.requeue_preempted(report, now_ms);
        }
        let mut next = self.clone();
        next.state.preempted_for = None;
        next.lease = None;
        let state = &mut next.state;
        state.status = match report.outcome {
            Outcome::Succeeded => JobStatus::Succeeded,
            Outcome::Cancelled | Outcome::Preempted => JobStatus::Cancelled,
            Outcome::Failed if state.cancel_requested => JobStatus::Cancelled,
            Outcome::Failed => JobStatus::Failed,
            Outcome::Lost => return self.lost_by_report(report, now_ms),
        };
        state.finished_ms = Some(now_ms);
        state.duration_ms = Some(i64::try_from(report.duration_ms).unwrap_or(i64::MAX));
        state.exit_code = report.exit_code;
        // A preemption's own words do not describe a job a user cancelled.
        let error = report
            .error
            .clone()
            .filter(|_| report.outcome != Outcome::Preempted);
        state.reason = error.or_else(|| match (state.status, report.signal) {
            (JobStatus::Cancelled, _) => Some("cancelled".into()),
            (_, Some(signal)) => Some(format!("killed by signal {signal}")),
            (JobStatus::Failed, None) => report.exit_code.map(|c| format!("exited with code {c}")),
            _ => None,
        });
        Change::with_attempt(next, now_ms)
    }

    /// A preempted attempt ended (TERM, or KILL after its grace): the
    /// attempt is recorded `cancelled` with who preempted it, and the job
    /// goes back to the queue as its next attempt, which resumes from this
    /// one's files and uses no retry.
    fn requeue_preempted(&self, report: &FinishedReport, now_ms: i64) -> Change {
        let by = match self.state.preempted_for {
            Some(job) => format!("preempted by job {job}"),
            None => "preempted".to_string(),
        };
        let mut row = self.attempt_row(now_ms);
        row.status = JobStatus::Cancelled;
        row.finished_ms = Some(now_ms);
        row.exit_code = report.exit_code;
        row.reason = Some(match report.signal {
            Some(9) => format!("{by}; killed after its grace period"),
            _ => by.clone(),
        });
        let mut next = self.clone();
        next.lease = None;
        let state = &mut next.state;
        state.status = JobStatus::Queued;
        state.free_attempts += 1;
        state.preempted_for = None;
        state.host_id = None;
        state.gpu_indices.clear();
        state.reason = Some(format!(
            "attempt {} {by}; requeued to resume from its checkpoint",
            state.attempt
        ));
        tracing::info!(job = self.id(), attempt = state.attempt, "{by}; requeued");
        Change {
            job: next,
            attempt: Some(row),
        }
    }

    /// The scheduler takes this attempt's GPUs for `for_job`: its agent is
    /// told to stop it (TERM, then KILL after the grace) and it is requeued
    /// when it ends. `None` when it is already stopping (cancel or
    /// preemption asked) or not running.
    pub fn preempt(&self, for_job: i64) -> Option<Change> {
        let state = &self.state;
        if !state.status.is_active() || state.cancel_requested || state.preempted_for.is_some() {
            return None;
        }
        let mut next = self.clone();
        next.state.preempted_for = Some(for_job);
        next.state.reason = Some(format!(
            "preempting: stopping to make room for job {for_job}"
        ));
        Some(Change {
            job: next,
            attempt: None,
        })
    }

    /// A user's *Resume* of a job that ended without succeeding: it is
    /// queued again as its next attempt, which starts with the newest
    /// attempt's synced files and uses no retry. A lost job's attempt is
    /// closed (if its agent comes back, it is told to stop it).
    pub fn resume(&self, now_ms: i64) -> Result<Change, EngineError> {
        let why = match self.state.status {
            JobStatus::Failed | JobStatus::Cancelled | JobStatus::Lost => None,
            JobStatus::Succeeded => Some("it succeeded; re-run it to train again".to_string()),
            other => Some(format!(
                "it is {other}; only failed, cancelled or lost jobs resume"
            )),
        };
        if let Some(why) = why {
            return Err(EngineError::NotResumable { id: self.id(), why });
        }
        if self.state.attempt == 0 {
            return Err(EngineError::NotResumable {
                id: self.id(),
                why: "it never ran, so there is no attempt to resume from".into(),
            });
        }
        let closed = (self.state.status == JobStatus::Lost).then(|| {
            let mut row = self.attempt_row(now_ms);
            row.reason = Some("given up: the job was resumed".into());
            row
        });
        let mut next = self.clone();
        next.lease = None;
        let from = next.state.attempt;
        next.state = AttemptState {
            status: JobStatus::Queued,
            attempt: from,
            free_attempts: self.state.free_attempts + 1,
            reason: Some(format!("resumed from attempt {from}")),
            ..AttemptState::default()
        };
        Ok(Change {
            job: next,
            attempt: closed,
        })
    }

    /// A `lost` report: what its agent says about a job it can no longer
    /// see end, handled as [`Job::lose`] (requeued while retries remain).
    fn lost_by_report(&self, report: &FinishedReport, now_ms: i64) -> Change {
        let why = report
            .error
            .as_deref()
            .unwrap_or("the agent lost the job's process");
        let mut change = self.lose(why, now_ms);
        if change.job.state.status == JobStatus::Lost {
            // Its agent has said all it will: nothing to wait for.
            let host = self.state.host_id.as_deref().unwrap_or_default();
            change.job.state.reason = Some(format!("lost on {host} ({why}); no retries left"));
        }
        change
    }

    /// A user cancels: a queued or lost job at once; an assigned or running
    /// one is marked so its agent is told to stop it. `None` when a cancel
    /// was already asked.
    pub fn cancel(&self, now_ms: i64) -> Option<Change> {
        let mut next = self.clone();
        let state = &mut next.state;
        match state.status {
            JobStatus::Queued | JobStatus::Lost => {
                let was_lost = state.status == JobStatus::Lost;
                state.status = JobStatus::Cancelled;
                state.finished_ms = Some(now_ms);
                state.reason = Some(if was_lost {
                    "cancelled while its agent was unreachable".into()
                } else {
                    "cancelled before it started".into()
                });
                let attempt = was_lost.then(|| next.attempt_row(0));
                Some(Change { job: next, attempt })
            }
            _ if state.cancel_requested => None,
            _ => {
                state.cancel_requested = true;
                state.reason = Some("cancelling: waiting for the agent to stop it".into());
                Some(Change {
                    job: next,
                    attempt: None,
                })
            }
        }
    }

    /// A queued job moves to another priority.
    pub fn reprioritize(&self, priority: Priority) -> Result<Change, EngineError> {
        if self.state.status != JobStatus::Queued {
            return Err(EngineError::JobNotQueued {
                id: self.id(),
                status: self.state.status,
            });
        }
        let mut next = self.clone();
        next.priority = priority;
        Ok(Change {
            job: next,
            attempt: None,
        })
    }
}

/// A new queued job with a finished (or lost) job's exact config and
/// command, created at `now_ms`; with `exact_code`, pinned to the code the
/// old job ran with.
pub(crate) fn rerun_of(
    stored: &JobRow,
    now_ms: i64,
    exact_code: bool,
) -> Result<JobRow, EngineError> {
    let old = &stored.view;
    if !(old.status.is_final() || old.status == JobStatus::Lost) {
        return Err(EngineError::JobNotFinished {
            id: old.id,
            status: old.status,
        });
    }
    if old.command.is_empty() {
        // An imported run without --default-command: nothing to run.
        return Err(EngineError::NoCommand);
    }
    let mut view = old.clone();
    view.clear_run_state();
    view.id = 0;
    view.created_ms = now_ms;
    view.rerun_of = Some(old.id);
    view.code_from = exact_code.then_some(old.id);
    Ok(JobRow {
        view,
        config_yaml: stored.config_yaml.clone(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::jobs::testing::job;

    const NOW: i64 = 1_000;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    fn queued(retries: u32) -> Job {
        let mut j = job(1, Priority::Normal, JobStatus::Queued, None);
        std::sync::Arc::make_mut(&mut j.spec).retries = retries;
        j
    }

    fn running(retries: u32) -> Job {
        let assigned = queued(retries).assign("h", vec![0], later(), NOW).job;
        assigned
            .start(later(), NOW)
            .map(|c| c.job)
            .unwrap_or(assigned)
    }

    fn report(outcome: Outcome, exit_code: Option<i32>, signal: Option<i32>) -> FinishedReport {
        FinishedReport {
            outcome,
            exit_code,
            signal,
            duration_ms: 1_500,
            error: None,
            log_size: 0,
        }
    }

    #[test]
    fn assign_starts_a_new_attempt_on_the_host_with_a_lease() {
        let deadline = later();
        let change = queued(0).assign("gpu-1", vec![2, 3], deadline, NOW);
        let s = &change.job.state;
        assert_eq!(
            (
                s.status,
                s.attempt,
                s.host_id.as_deref(),
                &s.gpu_indices[..]
            ),
            (JobStatus::Assigned, 1, Some("gpu-1"), &[2, 3][..])
        );
        assert_eq!(change.job.lease, Some(deadline));
        let row = change.attempt.expect("an attempt row");
        assert_eq!((row.attempt, row.assigned_ms), (1, NOW));
    }

    #[test]
    fn an_unreceived_assignment_goes_back_to_the_queue_without_a_retry() {
        let assigned = queued(0).assign("h", vec![0], later(), NOW).job;
        let change = assigned.requeue_unreceived(NOW);
        let s = &change.job.state;
        assert_eq!(
            (s.status, s.attempt, s.host_id.clone()),
            (JobStatus::Queued, 1, None)
        );
        assert!(s.gpu_indices.is_empty() && change.job.lease.is_none());
        let row = change.attempt.expect("the attempt is recorded");
        assert_eq!((row.status, row.host_id.as_str()), (JobStatus::Lost, "h"));
        // The next assignment is attempt 2, and the job still may not retry.
        let again = change.job.assign("h", vec![0], later(), NOW).job;
        assert_eq!(again.state.attempt, 2);
        assert!(!again.retries_left());
        let mut one_retry = queued(1).assign("h", vec![0], later(), NOW).job;
        one_retry = one_retry.requeue_unreceived(NOW).job;
        let second = one_retry.assign("h", vec![0], later(), NOW).job;
        assert!(
            second.retries_left(),
            "the unreceived attempt used no retry"
        );
    }

    #[test]
    fn a_lost_attempt_is_requeued_while_retries_remain() {
        let change = running(1).lose("lease expired", NOW);
        let s = &change.job.state;
        assert_eq!(s.status, JobStatus::Queued);
        assert!(s.reason.as_deref().is_some_and(|r| r.contains("requeued")));
        assert_eq!((s.host_id.clone(), s.gpu_indices.len()), (None, 0));
        assert_eq!(
            change.attempt.map(|a| (a.status, a.reason)),
            Some((JobStatus::Lost, Some("lease expired".into())))
        );
    }

    #[test]
    fn a_lost_attempt_without_retries_waits_for_its_agent() {
        let change = running(0).lose("lease expired", NOW);
        let s = &change.job.state;
        assert_eq!(
            (s.status, s.host_id.as_deref()),
            (JobStatus::Lost, Some("h"))
        );
        assert!(s
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("no retries left")));
        assert!(
            change.job.is_current(change.job.attempt_ref()),
            "lost may still report"
        );
    }

    #[test]
    fn losing_a_job_being_cancelled_cancels_it() {
        let asked = running(3).cancel(NOW).expect("a cancel request").job;
        let change = asked.lose("lease expired", NOW);
        assert_eq!(change.job.state.status, JobStatus::Cancelled);
        assert_eq!(change.job.state.finished_ms, Some(NOW));
    }

    #[test]
    fn a_lost_job_whose_agent_returns_runs_again() {
        let lost = running(0).lose("lease expired", NOW).job;
        let deadline = later();
        let change = lost.revive(deadline, NOW);
        assert_eq!(
            (
                change.job.state.status,
                change.job.state.reason.clone(),
                change.job.lease
            ),
            (JobStatus::Running, None, Some(deadline))
        );
    }

    #[test]
    fn start_is_recorded_once() {
        let assigned = queued(0).assign("h", vec![0], later(), NOW).job;
        let started = assigned.start(later(), NOW + 5).expect("a change");
        assert_eq!(
            (started.job.state.status, started.job.state.started_ms),
            (JobStatus::Running, Some(NOW + 5))
        );
        assert!(started.job.start(later(), NOW + 9).is_none());
    }

    #[test]
    fn finish_takes_the_outcome_and_explains_failures() {
        let job = running(0);
        let ok = job.finish(&report(Outcome::Succeeded, Some(0), None), NOW);
        assert_eq!(
            (
                ok.job.state.status,
                ok.job.state.reason.clone(),
                ok.job.state.duration_ms
            ),
            (JobStatus::Succeeded, None, Some(1_500))
        );
        let failed = job.finish(&report(Outcome::Failed, Some(3), None), NOW);
        assert_eq!(
            failed.job.state.reason.as_deref(),
            Some("exited with code 3")
        );
        let killed = job.finish(&report(Outcome::Failed, None, Some(9)), NOW);
        assert_eq!(
            killed.job.state.reason.as_deref(),
            Some("killed by signal 9")
        );
        assert!(ok.job.lease.is_none() && ok.attempt.is_some());
    }

    #[test]
    fn a_lost_report_requeues_while_retries_remain_like_an_expired_lease() {
        let mut lost = report(Outcome::Lost, None, None);
        lost.error = Some("the job's process vanished".into());
        let change = running(1).finish(&lost, NOW);
        assert_eq!(change.job.state.status, JobStatus::Queued);
        assert_eq!(
            change.attempt.map(|a| (a.status, a.reason)),
            Some((JobStatus::Lost, Some("the job's process vanished".into())))
        );
        let last = running(0).finish(&lost, NOW);
        assert_eq!(last.job.state.status, JobStatus::Lost);
        assert_eq!(
            last.job.state.reason.as_deref(),
            Some("lost on h (the job's process vanished); no retries left")
        );
    }

    #[test]
    fn a_failure_after_a_cancel_request_is_a_cancel() {
        let asked = running(0).cancel(NOW).expect("a cancel request").job;
        let change = asked.finish(&report(Outcome::Failed, None, Some(15)), NOW);
        assert_eq!(
            (change.job.state.status, change.job.state.reason.as_deref()),
            (JobStatus::Cancelled, Some("cancelled"))
        );
    }

    #[test]
    fn cancel_ends_a_queued_or_lost_job_and_asks_a_running_one() {
        let queued_cancel = queued(0).cancel(NOW).expect("a change");
        assert_eq!(queued_cancel.job.state.status, JobStatus::Cancelled);
        assert!(queued_cancel.attempt.is_none(), "it never had an attempt");

        let lost = running(0).lose("lease expired", NOW).job;
        let lost_cancel = lost.cancel(NOW).expect("a change");
        assert_eq!(lost_cancel.job.state.status, JobStatus::Cancelled);
        assert!(
            lost_cancel.attempt.is_some(),
            "the lost attempt is closed too"
        );

        let asked = running(0).cancel(NOW).expect("a change");
        assert_eq!(asked.job.state.status, JobStatus::Running);
        assert!(asked.job.state.cancel_requested);
        assert!(
            asked.job.cancel(NOW).is_none(),
            "asking twice changes nothing"
        );
    }

    #[test]
    fn only_a_queued_job_changes_priority() {
        let moved = queued(0).reprioritize(Priority::High).expect("queued");
        assert_eq!(moved.job.priority, Priority::High);
        assert!(matches!(
            running(0).reprioritize(Priority::Low),
            Err(EngineError::JobNotQueued { .. })
        ));
    }

    #[test]
    fn a_rerun_is_a_fresh_queued_copy_of_a_finished_job() {
        let finished = running(0)
            .finish(&report(Outcome::Failed, Some(1), None), NOW)
            .job;
        let stored = JobRow {
            view: finished.view(),
            config_yaml: "lr: 1\n".into(),
        };
        let fresh = rerun_of(&stored, NOW + 1, false).expect("finished jobs re-run");
        assert_eq!(
            (
                fresh.view.id,
                fresh.view.status,
                fresh.view.attempt,
                fresh.view.rerun_of
            ),
            (0, JobStatus::Queued, 0, Some(1))
        );
        assert_eq!(
            (fresh.view.created_ms, fresh.config_yaml.as_str()),
            (NOW + 1, "lr: 1\n")
        );
        let still_running = JobRow {
            view: running(0).view(),
            config_yaml: String::new(),
        };
        assert!(matches!(
            rerun_of(&still_running, NOW, false),
            Err(EngineError::JobNotFinished { .. })
        ));
    }

    #[test]
    fn a_preempted_attempt_is_requeued_without_using_a_retry() {
        let asked = running(0).preempt(9).expect("a running job preempts").job;
        assert_eq!(asked.state.preempted_for, Some(9));
        assert!(asked.preempt(10).is_none(), "asked once");
        assert!(asked.cancel(NOW).is_some(), "a user may still cancel it");
        let change = asked.finish(&report(Outcome::Preempted, None, Some(15)), NOW);
        let s = &change.job.state;
        assert_eq!(
            (
                s.status,
                s.free_attempts,
                s.preempted_for,
                s.host_id.clone()
            ),
            (JobStatus::Queued, 1, None, None)
        );
        let row = change.attempt.expect("the attempt is closed");
        assert_eq!(row.status, JobStatus::Cancelled);
        assert_eq!(row.reason.as_deref(), Some("preempted by job 9"));
        // Attempt 2 has the job's retries still: none were used.
        let again = change.job.assign("h", vec![0], later(), NOW).job;
        assert_eq!(again.state.attempt, 2);
        assert!(!again.retries_left(), "no retries were configured");
        let mut with_one = running(1).preempt(9).expect("preempts").job;
        with_one = with_one
            .finish(&report(Outcome::Failed, None, Some(9)), NOW)
            .job
            .assign("h", vec![0], later(), NOW)
            .job;
        assert!(with_one.retries_left(), "the one retry is intact");
        assert!(
            with_one
                .assignment(std::time::Duration::from_secs(1))
                .resume
        );
        assert_eq!(
            with_one.lose("lease expired", NOW).job.state.status,
            JobStatus::Queued
        );
    }

    #[test]
    fn a_preemption_ends_as_the_job_did_when_it_succeeded_or_was_cancelled() {
        let asked = running(0).preempt(9).expect("preempts").job;
        let done = asked.finish(&report(Outcome::Succeeded, Some(0), None), NOW);
        assert_eq!(done.job.state.status, JobStatus::Succeeded);
        let cancelled = asked.cancel(NOW).expect("a cancel request").job;
        let change = cancelled.finish(&report(Outcome::Preempted, None, Some(15)), NOW);
        assert_eq!(change.job.state.status, JobStatus::Cancelled);
        assert!(
            running(0)
                .cancel(NOW)
                .expect("asked")
                .job
                .preempt(9)
                .is_none(),
            "a job being cancelled is not preempted"
        );
        let lost = asked.lose("lease expired", NOW).job;
        assert_eq!(
            lost.state.preempted_for, None,
            "a lost attempt ends the preemption"
        );
    }

    #[test]
    fn resume_queues_an_ended_job_as_its_next_attempt_and_refuses_the_rest() {
        let failed = running(0)
            .finish(&report(Outcome::Failed, Some(1), None), NOW)
            .job;
        let change = failed.resume(NOW).expect("a failed job resumes");
        let s = &change.job.state;
        assert_eq!(
            (
                s.status,
                s.attempt,
                s.free_attempts,
                s.finished_ms,
                s.exit_code
            ),
            (JobStatus::Queued, 1, 1, None, None)
        );
        assert_eq!(s.reason.as_deref(), Some("resumed from attempt 1"));
        assert!(change.attempt.is_none());
        let lost = running(0).lose("lease expired", NOW).job;
        let closed = lost.resume(NOW).expect("a lost job resumes").attempt;
        assert_eq!(
            closed.and_then(|a| a.reason),
            Some("given up: the job was resumed".into())
        );
        for refused in [
            running(0)
                .finish(&report(Outcome::Succeeded, Some(0), None), NOW)
                .job,
            running(0),
            queued(0),
        ] {
            assert!(matches!(
                refused.resume(NOW),
                Err(EngineError::NotResumable { .. })
            ));
        }
        let never_ran = queued(0).cancel(NOW).expect("cancelled").job;
        assert!(matches!(
            never_ran.resume(NOW),
            Err(EngineError::NotResumable { why, .. }) if why.contains("never ran")
        ));
    }
}
