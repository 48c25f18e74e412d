//! The per-job supervisor: a hidden mode of the binary that embeds the
//! agent (`trainyard-agent`, and `trainyard` for its local agent), so a job
//! outlives the agent that started it.
//!
//! The agent starts `<exe> __trainyard-supervise <run dir> -- <program>
//! <args>…` with the job's working directory and environment, its stdout
//! and stderr appended to the run dir's `output.log`. The supervisor moves
//! into a session of its own (no `kill -9` of the agent, no hangup of its
//! terminal reaches it), starts the job as the leader of its own process
//! group writing straight into `output.log`, records both ids in
//! `supervisor.json`, waits, kills what is left of the job's group, and
//! records how the job ended in `exit.json` (temp file + rename) before it
//! exits. Nothing flows through the agent, so an agent that dies loses no
//! output and a new one reads the same files. SIGTERM, SIGINT and SIGHUP
//! sent to the supervisor go to the job's group.
//!
//! Sync code with no runtime: it runs before any async runtime starts.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The first argument that selects the supervisor mode.
pub const SUPERVISE_ARG: &str = "__trainyard-supervise";

pub(crate) const IDS_FILE: &str = "supervisor.json";
pub(crate) const EXIT_FILE: &str = "exit.json";
const IDS_TEMP_FILE: &str = "supervisor.json.tmp";
const EXIT_TEMP_FILE: &str = "exit.json.tmp";

/// The supervisor's files in a run dir (run-file sync leaves them out).
pub(crate) const SUPERVISOR_FILES: [&str; 4] = [IDS_FILE, EXIT_FILE, IDS_TEMP_FILE, EXIT_TEMP_FILE];

/// `supervisor.json`: who to watch and who to signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ids {
    /// The supervisor's pid.
    pub supervisor: u32,
    /// The job's pid, which is also its process group id.
    pub job: u32,
    /// When the job started, Unix milliseconds.
    #[serde(default)]
    pub started_ms: u64,
}

/// `exit.json`: how the job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Recorded {
    Code(i32),
    Signal(i32),
    /// The program could not be started; the text says why.
    NotStarted(String),
}

/// `exit.json`'s whole content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExitRecord {
    #[serde(flatten)]
    pub ended: Recorded,
    /// When the job ended, Unix milliseconds.
    #[serde(default)]
    pub ended_ms: u64,
}

/// Reads `supervisor.json` in `dir`, if it is there and whole.
pub(crate) fn read_ids(dir: &Path) -> Option<Ids> {
    serde_json::from_slice(&std::fs::read(dir.join(IDS_FILE)).ok()?).ok()
}

/// Reads `exit.json` in `dir`, if the supervisor wrote it.
pub(crate) fn read_exit(dir: &Path) -> Option<ExitRecord> {
    serde_json::from_slice(&std::fs::read(dir.join(EXIT_FILE)).ok()?).ok()
}

/// Removes a previous life's `supervisor.json` and `exit.json` from `dir`.
pub(crate) fn clear(dir: &Path) -> std::io::Result<()> {
    for name in [IDS_FILE, EXIT_FILE] {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Call first thing in `main` of a binary that runs agent jobs: when the
/// process was started as a supervisor it runs the job and exits here;
/// otherwise it returns at once.
pub fn run_if_requested() {
    let mut args = std::env::args_os();
    if args.nth(1).as_deref() != Some(OsStr::new(SUPERVISE_ARG)) {
        return;
    }
    std::process::exit(supervise(args.collect()));
}

/// The job's process group once started; 0 before.
static JOB_GROUP: AtomicI32 = AtomicI32::new(0);
/// A signal that came before the job started, forwarded once it has.
static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(signal: libc::c_int) {
    let group = JOB_GROUP.load(Ordering::SeqCst);
    let signal = if signal == libc::SIGHUP {
        libc::SIGTERM
    } else {
        signal
    };
    if group > 1 {
        // SAFETY: killpg is async-signal-safe and has no memory preconditions.
        unsafe { libc::killpg(group, signal) };
    } else {
        PENDING.store(signal, Ordering::SeqCst);
    }
}

fn supervise(args: Vec<OsString>) -> i32 {
    let mut args = args.into_iter();
    let (Some(dir), Some(dashes), Some(program)) = (args.next(), args.next(), args.next()) else {
        eprintln!("trainyard-agent: usage: {SUPERVISE_ARG} <run dir> -- <program> [args…]");
        return 2;
    };
    if dashes != "--" {
        eprintln!("trainyard-agent: {SUPERVISE_ARG}: expected `--` after the run dir");
        return 2;
    }
    let dir = PathBuf::from(dir);
    // SAFETY: setsid and signal have no memory-safety preconditions; the
    // handler only calls async-signal-safe functions and atomics.
    unsafe {
        // Fails only for a group leader, which the agent never starts.
        libc::setsid();
        for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::signal(signal, forward as *const () as libc::sighandler_t);
        }
    }
    // Handlers (unlike ignored signals) are reset by exec: the job starts
    // with the default dispositions.
    let spawned = Command::new(&program)
        .args(args)
        .stdin(Stdio::null())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            let why = format!("cannot start {:?}: {e}", program.to_string_lossy());
            record(&dir, Recorded::NotStarted(why));
            return 0;
        }
    };
    let job = child.id();
    JOB_GROUP.store(i32::try_from(job).unwrap_or(0), Ordering::SeqCst);
    let pending = PENDING.swap(0, Ordering::SeqCst);
    if pending != 0 {
        forward(pending);
    }
    let ids = Ids {
        supervisor: std::process::id(),
        job,
        started_ms: now_ms(),
    };
    if let Err(e) = write_atomically(&dir, IDS_TEMP_FILE, IDS_FILE, &ids) {
        eprintln!("trainyard-agent: cannot write {IDS_FILE}: {e}");
    }
    let ended = loop {
        match child.wait() {
            Ok(status) => {
                break match (status.code(), status.signal()) {
                    (Some(code), _) => Recorded::Code(code),
                    (None, Some(signal)) => Recorded::Signal(signal),
                    (None, None) => Recorded::Code(-1),
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("trainyard-agent: cannot wait for the job: {e}");
                return 1;
            }
        }
    };
    // Whatever the job left running would hold its GPUs, or write to the
    // log after its end was recorded. The group id stays reserved while any
    // member lives, so this hits no stranger.
    if let Ok(group) = i32::try_from(job) {
        // SAFETY: killpg has no memory-safety preconditions.
        unsafe { libc::killpg(group, libc::SIGKILL) };
    }
    record(&dir, ended);
    0
}

fn record(dir: &Path, ended: Recorded) {
    let record = ExitRecord {
        ended,
        ended_ms: now_ms(),
    };
    if let Err(e) = write_atomically(dir, EXIT_TEMP_FILE, EXIT_FILE, &record) {
        eprintln!("trainyard-agent: cannot write {EXIT_FILE}: {e}");
    }
}

fn write_atomically(
    dir: &Path,
    temp: &str,
    name: &str,
    value: &impl Serialize,
) -> std::io::Result<()> {
    use std::io::Write;
    let json = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let temp = dir.join(temp);
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(&json)?;
    file.sync_all()?;
    std::fs::rename(temp, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_records_read_back() {
        let record = ExitRecord {
            ended: Recorded::Signal(9),
            ended_ms: 5,
        };
        let json = serde_json::to_string(&record).unwrap_or_default();
        assert_eq!(json, r#"{"signal":9,"ended_ms":5}"#);
        let back: Option<ExitRecord> = serde_json::from_str(&json).ok();
        assert_eq!(back, Some(record));
    }
}
