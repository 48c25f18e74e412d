//! One job process: spawned directly (no shell) as the leader of its own
//! process group, so stopping it reaches everything it started.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use super::command::PreparedCommand;
use super::output::{capture, open_log};

/// How long output may keep flowing after the leader exited before the
/// leftovers of its group are killed and the log is closed.
const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(i32),
    Signal(i32),
    /// Waiting for it failed; the text says why.
    Unknown(String),
}

impl From<ExitStatus> for Exit {
    fn from(status: ExitStatus) -> Self {
        match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Unknown(format!("unrecognised exit status {status}")),
        }
    }
}

/// A running job process and the task copying its output.
pub(crate) struct Process {
    child: Child,
    pid: u32,
    output: JoinHandle<()>,
}

impl Process {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub async fn spawn(command: &PreparedCommand, log: &Path) -> std::io::Result<Self> {
        let log = open_log(log).await?;
        let mut child = Command::new(&command.program)
            .args(&command.args)
            .current_dir(&command.cwd)
            .envs(command.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()?;
        let pid = child
            .id()
            .ok_or_else(|| std::io::Error::other("the process exited before it got a pid"))?;
        let mut pipes: Vec<Box<dyn tokio::io::AsyncRead + Unpin + Send>> = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            pipes.push(Box::new(stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            pipes.push(Box::new(stderr));
        }
        Ok(Self {
            child,
            pid,
            output: capture(pipes, log),
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for the leader to exit. Cancel-safe.
    pub async fn wait(&mut self) -> Exit {
        match self.child.wait().await {
            Ok(status) => status.into(),
            Err(e) => Exit::Unknown(format!("cannot wait for the process: {e}")),
        }
    }

    /// SIGTERM to the group, then SIGKILL if the leader outlives `grace`.
    pub async fn stop(&mut self, grace: Duration) -> Exit {
        signal_group(self.pid, libc::SIGTERM);
        if let Ok(exit) = tokio::time::timeout(grace, self.wait()).await {
            return exit;
        }
        tracing::info!(
            pid = self.pid,
            "the job ignored SIGTERM for {grace:?}; sending SIGKILL"
        );
        signal_group(self.pid, libc::SIGKILL);
        self.wait().await
    }

    /// After the leader exited: lets the output drain, then kills whatever
    /// is left of its group (an orphan would hold its GPUs, or keep the log
    /// open forever) and waits for the log to be complete.
    pub async fn reap(self) {
        let Self {
            pid, mut output, ..
        } = self;
        let drained = tokio::time::timeout(OUTPUT_DRAIN, &mut output)
            .await
            .is_ok();
        // The group id stays reserved while any member lives, so this cannot
        // hit an unrelated process group; a group already gone is ignored.
        signal_group(pid, libc::SIGKILL);
        if !drained
            && tokio::time::timeout(OUTPUT_DRAIN, &mut output)
                .await
                .is_err()
        {
            // Something outside the group holds the pipe: stop reading.
            tracing::info!(
                pid,
                "a process outside the job's group holds its output; closing the log"
            );
            output.abort();
        }
    }
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
