//! What a (re)starting agent does with attempts its previous life left
//! unreported: each is reported, and one whose outcome was never recorded
//! is reported as failed because the agent restarted.

use std::sync::Arc;

use trainyard_core::work::{FinishedReport, Outcome};

use super::attempt::append_line;
use super::process::signal_group;
use super::spool::{unreported, RunDir, Spooled};
use super::JobRunner;

/// The error reported for an attempt whose agent died under it.
pub(crate) const RESTARTED: &str = "the agent restarted while this job ran";

/// Starts reporting every unreported attempt found in the spool.
pub(crate) async fn recover(jobs: &JobRunner) {
    for (dir, mut state) in unreported(&jobs.context().runs).await {
        let attempt = state.attempt();
        if state.outcome.is_none() {
            // The job's process group outlives a crashed agent. Nobody can
            // wait for it any more, so it is ended rather than left running
            // untracked on GPUs that will be advertised as free.
            if let Some(pid) = state.pid.filter(|&pid| belongs_to(pid, &dir)) {
                tracing::warn!(
                    ?attempt,
                    pid,
                    "killing a job left running by the previous agent"
                );
                signal_group(pid, libc::SIGKILL);
            }
            append_line(&dir.log(), RESTARTED).await;
            state.outcome = Some(FinishedReport {
                outcome: Outcome::Failed,
                exit_code: None,
                signal: None,
                error: Some(RESTARTED.into()),
                // The previous life's monotonic clock is gone.
                duration_ms: 0,
                log_size: 0,
            });
        }
        tracing::info!(?attempt, "reporting a job from before the agent restarted");
        let spooled = Arc::new(Spooled::new(dir, state));
        spooled.update(|_| {}).await;
        jobs.resume_report(spooled).await;
    }
}

/// Whether process `pid` is still the job that ran in `dir` (not a process
/// that got its id later): its environment names that run dir.
fn belongs_to(pid: u32, dir: &RunDir) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let marker = format!("TRAINYARD_RUN_DIR={}", dir.path().display());
    environ
        .split(|&b| b == 0)
        .any(|entry| entry == marker.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use trainyard_core::work::AttemptRef;

    #[test]
    fn a_process_with_another_run_dir_is_not_ours() {
        let dir = RunDir::new(
            Path::new("/nonexistent/runs"),
            AttemptRef {
                job_id: 1,
                attempt: 1,
            },
        );
        assert!(!belongs_to(std::process::id(), &dir));
        assert!(!belongs_to(u32::MAX, &dir));
    }
}
