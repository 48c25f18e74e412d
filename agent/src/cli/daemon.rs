//! `--daemon`: the agent re-runs itself in a session of its own, detached
//! from the terminal, with its output appended to `<work dir>/agent.log`,
//! and this process waits until the daemon is up (or says why it is not).

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use trainyard_agent::workdir_lock::{self, LockError};

/// Set in the daemon's environment, so it runs instead of detaching again.
const CHILD_ENV: &str = "TRAINYARD_AGENT_DAEMON_CHILD";

/// The daemon's log inside the work dir.
pub const LOG_FILE: &str = "agent.log";

/// A log larger than this is moved to `agent.log.1` when a daemon starts.
const ROTATE_AT: u64 = 64 * 1024 * 1024;

/// How long the starting command waits for the daemon to be up.
const READY_LIMIT: Duration = Duration::from_secs(30);

/// True in the detached daemon itself; clears the marker so the jobs it
/// starts do not inherit it.
pub fn is_daemon_child() -> bool {
    let child = std::env::var_os(CHILD_ENV).is_some();
    if child {
        // Still single-threaded: no runtime or logger threads exist yet.
        std::env::remove_var(CHILD_ENV);
    }
    child
}

/// Starts the daemon and returns once it runs (its status file names it)
/// or failed (its log says why; printed here).
pub fn start(work_dir: &Path) -> anyhow::Result<()> {
    if let Some(pid) = workdir_lock::holder(work_dir).unwrap_or(None) {
        return Err(LockError::Held {
            pid,
            dir: std::path::absolute(work_dir).unwrap_or_else(|_| work_dir.to_path_buf()),
        }
        .into());
    }
    std::fs::create_dir_all(work_dir)
        .with_context(|| format!("cannot create the work dir {}", work_dir.display()))?;
    let log_path = std::path::absolute(work_dir.join(LOG_FILE))
        .with_context(|| format!("cannot resolve {}", work_dir.display()))?;
    rotate(&log_path);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open the daemon's log {}", log_path.display()))?;
    let said_from = log.metadata().map(|m| m.len()).unwrap_or(0);
    let mut command = Command::new(own_executable()?);
    command
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("cannot share the log file")?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            // A session of its own: no controlling terminal, so closing the
            // SSH session sends it no SIGHUP.
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().context("cannot start the daemon")?;
    let pid = child.id();
    let deadline = Instant::now() + READY_LIMIT;
    loop {
        if let Some(status) = child.try_wait().context("cannot watch the daemon")? {
            let said = read_from(&log_path, said_from);
            bail!(
                "the daemon ended ({status}) before it was up; it said:\n{}\n(log: {})",
                said.trim_end(),
                log_path.display()
            );
        }
        if trainyard_agent::status::read(work_dir).is_ok_and(|s| s.pid == pid) {
            println!(
                "trainyard-agent daemon started: pid {pid}, log {}",
                log_path.display()
            );
            let shown = log_path.parent().unwrap_or(work_dir);
            println!(
                "  see it with `trainyard-agent --status --work-dir {0}`, \
                 stop it with `trainyard-agent --stop --work-dir {0}`",
                shown.display()
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            println!(
                "trainyard-agent daemon started as pid {pid} but is not up after {} s; \
                 see {}",
                READY_LIMIT.as_secs(),
                log_path.display()
            );
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// This binary, by the kernel's link when there is one (a binary replaced
/// since it started still runs as itself).
fn own_executable() -> anyhow::Result<PathBuf> {
    let proc_link = Path::new("/proc/self/exe");
    if proc_link.exists() {
        return Ok(proc_link.to_path_buf());
    }
    std::env::current_exe().context("cannot find the agent's own executable")
}

/// Moves a large log aside (one old generation is kept).
fn rotate(log: &Path) {
    let large = std::fs::metadata(log).is_ok_and(|m| m.len() > ROTATE_AT);
    if large {
        let _ = std::fs::rename(log, log.with_extension("log.1"));
    }
}

/// What the log gained since `offset` (the last 8 KiB of it).
fn read_from(log: &Path, offset: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut file) = std::fs::File::open(log) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let start = offset.max(len.saturating_sub(8192));
        if file.seek(SeekFrom::Start(start)).is_ok() {
            let _ = file.read_to_end(&mut text);
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}
