//! What a (re)starting agent does with attempts its previous life left
//! unreported. One whose job still runs under its supervisor is adopted:
//! watched, shipped and reported as if this agent had started it. One
//! whose job ended meanwhile is reported as its supervisor recorded it.
//! One whose job is gone with nothing recorded (the host rebooted, the
//! process was killed) is reported lost: an infrastructure loss, which the
//! server retries while retries remain, never the job's failure.

use std::sync::Arc;
use std::time::Duration;

use trainyard_core::work::FinishedReport;

use super::attempt::append_line;
use super::outcome::Ending;
use super::process::{runs_in, signal_group, Exit, Process, VANISHED};
use super::spool::{unreported, AttemptState, RunDir, Spooled};
use super::JobRunner;
use crate::supervisor::{read_exit, read_ids, Recorded};

/// The reason reported for a job that still ran without a supervisor to
/// take over (started by an agent from before supervisors).
pub(crate) const NOT_ADOPTABLE: &str =
    "the agent restarted and could not take the job over (it ran without a supervisor)";

/// The reason reported for an attempt whose agent stopped before its job
/// was seen to start.
pub(crate) const NEVER_STARTED: &str = "the agent stopped before the job was seen to start";

/// Adopts or reports every unreported attempt found in the spool.
pub(crate) async fn recover(jobs: &JobRunner) {
    for (dir, mut state) in unreported(&jobs.context().runs).await {
        let attempt = state.attempt();
        if state.outcome.is_none() {
            if let Some(process) = Process::adopt(dir.path()) {
                tracing::info!(
                    ?attempt,
                    pid = process.pid(),
                    "adopting a job the previous agent left running"
                );
                state.pid = Some(process.pid());
                let assignment = state.assignment.clone();
                let spooled = Arc::new(Spooled::new(dir, state));
                spooled.update(|_| {}).await;
                jobs.adopt(spooled, process, &assignment);
                continue;
            }
            state.outcome = Some(ended_unwatched(&dir, &state).await);
        }
        tracing::info!(?attempt, "reporting a job from before the agent restarted");
        let spooled = Arc::new(Spooled::new(dir, state));
        spooled.update(|_| {}).await;
        jobs.resume_report(spooled).await;
    }
}

/// The report for a job that is no longer running under a supervisor.
async fn ended_unwatched(dir: &RunDir, state: &AttemptState) -> FinishedReport {
    let attempt = state.attempt();
    if let Some(record) = read_exit(dir.path()) {
        let ran = read_ids(dir.path())
            .map(|ids| record.ended_ms.saturating_sub(ids.started_ms))
            .unwrap_or(0);
        let ending = match record.ended {
            Recorded::NotStarted(why) => Ending::NotStarted(why),
            ended => Ending::Exited {
                exit: ended.into(),
                cause: None,
            },
        };
        let report = ending.report(Duration::from_millis(ran));
        tracing::info!(?attempt, outcome = ?report.outcome, exit_code = ?report.exit_code,
            "the job ended while no agent watched it");
        return report;
    }
    let why = match state.pid {
        Some(pid) if runs_in(pid, dir.path()) => {
            // Nobody can wait for it any more, so it is ended rather than
            // left running untracked on GPUs advertised as free.
            tracing::warn!(
                ?attempt,
                pid,
                "killing a job left running without a supervisor"
            );
            signal_group(pid, libc::SIGKILL);
            NOT_ADOPTABLE
        }
        None if read_ids(dir.path()).is_none() => NEVER_STARTED,
        _ => VANISHED,
    };
    tracing::warn!(?attempt, "the job is lost: {why}");
    append_line(&dir.log(), why).await;
    Ending::Exited {
        exit: Exit::Lost(why.into()),
        cause: None,
    }
    .report(Duration::ZERO)
}
