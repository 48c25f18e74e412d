//! Keeps the status file current while the agent runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{AgentStatus, JobStatus, LinkBoard, STATUS_FILE};
use crate::jobs::JobRunner;
use crate::supervisor::now_ms;

/// How often the file is rewritten when nothing about the jobs changed
/// (the link state and `updated_ms` still move).
const REFRESH: Duration = Duration::from_secs(2);

/// What does not change while the agent runs.
pub(crate) struct Fixed {
    pub host_id: String,
    pub work_dir: PathBuf,
    pub started_ms: u64,
}

/// Writes the status file now, then on every change of the jobs and every
/// [`REFRESH`]; never returns. A failed write is logged once per cause.
/// `boards` and `runners` go by server, in the same order.
pub(crate) async fn keep_written(fixed: Fixed, boards: Vec<LinkBoard>, runners: &[&JobRunner]) {
    let Some(first) = runners.first() else {
        return std::future::pending().await;
    };
    // Every runner shares the host's change counter.
    let mut changes = first.subscribe();
    let mut last_error: Option<String> = None;
    loop {
        changes.borrow_and_update();
        let draining = first.status().0;
        let mut jobs = Vec::new();
        for (board, runner) in boards.iter().zip(runners) {
            let url = board.snapshot().url;
            jobs.extend(runner.status().1.into_iter().map(|l| JobStatus {
                job_id: l.attempt.job_id,
                attempt: l.attempt.attempt,
                gpus: l.gpus,
                process_running: l.process_running,
                server: Some(url.clone()),
            }));
        }
        let status = AgentStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            host_id: fixed.host_id.clone(),
            work_dir: fixed.work_dir.clone(),
            started_ms: fixed.started_ms,
            updated_ms: now_ms(),
            draining,
            servers: boards.iter().map(LinkBoard::snapshot).collect(),
            jobs,
        };
        match write(&fixed.work_dir, &status) {
            Ok(()) => last_error = None,
            Err(e) => {
                let message = e.to_string();
                if last_error.as_ref() != Some(&message) {
                    tracing::warn!("cannot write {STATUS_FILE}: {message}");
                }
                last_error = Some(message);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(REFRESH) => {}
            Ok(()) = changes.changed() => {}
        }
    }
}

/// Removes the status file as the agent exits, so none describes a dead agent.
pub(crate) fn remove(work_dir: &Path) {
    let _ = std::fs::remove_file(work_dir.join(STATUS_FILE));
}

/// Temp file + rename: a reader sees the old file or the new one.
fn write(work_dir: &Path, status: &AgentStatus) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    let temp = work_dir.join(format!("{STATUS_FILE}.tmp"));
    std::fs::write(&temp, json)?;
    std::fs::rename(temp, work_dir.join(STATUS_FILE))
}
