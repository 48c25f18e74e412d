//! One job process, run under its own supervisor (`crate::supervisor`):
//! the job is the leader of its own process group, so stopping it reaches
//! everything it started, and it writes straight into `output.log`, so it
//! outlives the agent. The agent started the supervisor (and waits for it)
//! or adopted it after a restart (and watches its files).

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};

use super::command::PreparedCommand;
use crate::supervisor::{self, Ids, Recorded, SUPERVISE_ARG};

/// How often an adopted supervisor is looked at.
const ADOPTED_POLL: Duration = Duration::from_millis(100);
/// How long a new supervisor may take to start the job.
const START_LIMIT: Duration = Duration::from_secs(30);

/// The reason reported for a job that ended while no agent watched it and
/// left no exit status behind.
pub(crate) const VANISHED: &str = "the job's process ended while no agent watched it and left no \
     exit status (was the host rebooted, or the process killed?)";

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(i32),
    Signal(i32),
    /// Waiting for it failed; the text says why.
    Unknown(String),
    /// The process is gone and nothing recorded how it ended: an
    /// infrastructure loss, not the job's failure.
    Lost(String),
}

impl From<Recorded> for Exit {
    fn from(recorded: Recorded) -> Self {
        match recorded {
            Recorded::Code(code) => Exit::Code(code),
            Recorded::Signal(signal) => Exit::Signal(signal),
            Recorded::NotStarted(why) => Exit::Unknown(why),
        }
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}

/// A running job under its supervisor.
pub(crate) struct Process {
    /// The supervisor, when this agent started it.
    child: Option<Child>,
    ids: Ids,
    dir: PathBuf,
}

impl Process {
    /// Starts `command` under a supervisor (`supervisor_exe`) with its
    /// output appended to `dir/output.log`. `Err`: why it did not start.
    pub async fn spawn(
        command: &PreparedCommand,
        dir: &Path,
        log: &Path,
        supervisor_exe: &Path,
    ) -> Result<Self, String> {
        let cannot = |e: std::io::Error| format!("cannot start {:?}: {e}", command.program);
        supervisor::clear(dir).map_err(cannot)?;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(cannot)?;
        let err = out.try_clone().map_err(cannot)?;
        let mut child = Command::new(supervisor_exe)
            .arg(SUPERVISE_ARG)
            .arg(dir)
            .arg("--")
            .arg(&command.program)
            .args(&command.args)
            .current_dir(&command.cwd)
            .envs(command.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start the job's supervisor {}: {e}",
                    supervisor_exe.display()
                )
            })?;
        let deadline = tokio::time::Instant::now() + START_LIMIT;
        loop {
            if let Some(ids) = supervisor::read_ids(dir) {
                return Ok(Self {
                    child: Some(child),
                    ids,
                    dir: dir.to_path_buf(),
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(match supervisor::read_exit(dir) {
                    Some(record) => match record.ended {
                        Recorded::NotStarted(why) => why,
                        other => format!("the job ended before it was seen to start: {other:?}"),
                    },
                    None => format!(
                        "the job's supervisor {} ended ({}) before starting it",
                        supervisor_exe.display(),
                        describe(status)
                    ),
                });
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.start_kill();
                return Err(format!(
                    "the job's supervisor {} did not start it within {START_LIMIT:?}",
                    supervisor_exe.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The supervisor recorded in `dir`, if it still runs that job: a
    /// restarted agent takes it over.
    pub fn adopt(dir: &Path) -> Option<Self> {
        let ids = supervisor::read_ids(dir)?;
        if supervisor::read_exit(dir).is_some() || !runs_in(ids.supervisor, dir) {
            return None;
        }
        Some(Self {
            child: None,
            ids,
            dir: dir.to_path_buf(),
        })
    }

    /// The job's pid (and process group id).
    pub fn pid(&self) -> u32 {
        self.ids.job
    }

    /// When the job started, Unix milliseconds (0 if unknown).
    pub fn started_ms(&self) -> u64 {
        self.ids.started_ms
    }

    /// Waits for the job to end. Cancel-safe.
    pub async fn wait(&mut self) -> Exit {
        if let Some(child) = &mut self.child {
            let status = match child.wait().await {
                Ok(status) => status,
                Err(e) => return Exit::Unknown(format!("cannot wait for the job: {e}")),
            };
            if let Some(record) = supervisor::read_exit(&self.dir) {
                return record.ended.into();
            }
            // Someone killed the supervisor: its job may still run, with
            // nobody left to record its end. While a member lives the group
            // id cannot be reused, so this hits no stranger.
            signal_group(self.ids.job, libc::SIGKILL);
            return Exit::Lost(format!(
                "the job's supervisor ended ({}) without recording how the job ended",
                describe(status)
            ));
        }
        loop {
            if let Some(record) = supervisor::read_exit(&self.dir) {
                return record.ended.into();
            }
            if !runs_in(self.ids.supervisor, &self.dir) {
                // It may have written the file just before it exited.
                if let Some(record) = supervisor::read_exit(&self.dir) {
                    return record.ended.into();
                }
                signal_group(self.ids.job, libc::SIGKILL);
                return Exit::Lost(
                    "the job's supervisor vanished without recording how the job ended".into(),
                );
            }
            tokio::time::sleep(ADOPTED_POLL).await;
        }
    }

    /// SIGTERM to the job's group, then SIGKILL if it outlives `grace`.
    pub async fn stop(&mut self, grace: Duration) -> Exit {
        let pid = self.ids.job;
        signal_group(pid, libc::SIGTERM);
        if let Ok(exit) = tokio::time::timeout(grace, self.wait()).await {
            return exit;
        }
        tracing::info!(
            pid,
            "the job ignored SIGTERM for {grace:?}; sending SIGKILL"
        );
        signal_group(pid, libc::SIGKILL);
        self.wait().await
    }
}

/// Whether process `pid` is alive and still the one that ran in `dir` (not
/// a process that got its id later): its environment names that run dir.
/// A zombie has no environment left, so it does not count.
pub(crate) fn runs_in(pid: u32, dir: &Path) -> bool {
    let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
        return false;
    };
    let marker = format!("TRAINYARD_RUN_DIR={}", dir.display());
    environ
        .split(|&b| b == 0)
        .any(|entry| entry == marker.as_bytes())
}

/// Sends `signal` to process group `pgid`; a group that is already gone is
/// not an error.
pub(crate) fn signal_group(pgid: u32, signal: i32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // Never signal group 0 or 1: that would be our own group or init.
    if pgid <= 1 {
        return;
    }
    // SAFETY: killpg has no memory-safety preconditions; it only sends a signal.
    let result = unsafe { libc::killpg(pgid, signal) };
    if result != 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::ESRCH) {
            tracing::warn!("cannot signal process group {pgid}: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_with_another_run_dir_is_not_ours() {
        let dir = Path::new("/nonexistent/runs/1-1");
        assert!(!runs_in(std::process::id(), dir));
        assert!(!runs_in(u32::MAX, dir));
    }
}
