//! One agent per work dir: `<work dir>/agent.pid`, write-locked with a
//! POSIX record lock (`fcntl`) for as long as the agent lives.
//!
//! The lock, not the file, is the truth: the kernel drops it when the
//! process dies however it dies, so a pid file left by a crash never blocks
//! a new agent, and `F_GETLK` names the holder's pid without taking the
//! lock (so `--status` never races an agent that is starting). Record locks
//! are not inherited by children, so jobs' supervisors never hold it.
//! The file is never deleted: unlinking a lock file lets two processes lock
//! two different files of the same name.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Name of the lock file inside the work dir.
pub const PID_FILE: &str = "agent.pid";

/// Why the work dir could not be locked.
#[derive(Debug, Error)]
pub enum LockError {
    #[error(
        "another trainyard-agent (pid {pid}) already runs on work dir {shown}; \
         see `trainyard-agent --status --work-dir {shown}`, stop it with \
         `trainyard-agent --stop --work-dir {shown}`",
        shown = .dir.display()
    )]
    Held { pid: i32, dir: PathBuf },
    #[error("cannot lock {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock; dropping it (or exiting) releases it.
#[derive(Debug)]
pub struct WorkDirLock {
    _file: File,
}

impl WorkDirLock {
    /// Locks `work_dir` for this process (creating the directory if
    /// needed) and writes this pid into the lock file.
    pub fn acquire(work_dir: &Path) -> Result<Self, LockError> {
        let path = work_dir.join(PID_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(work_dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if let Err(e) = fcntl_lock(&file, libc::F_SETLK) {
            let busy = matches!(e.raw_os_error(), Some(libc::EAGAIN | libc::EACCES));
            if !busy {
                return Err(io(e));
            }
            return Err(match holder_of(&file) {
                Ok(Some(pid)) => LockError::Held {
                    pid,
                    dir: std::path::absolute(work_dir).unwrap_or_else(|_| work_dir.to_path_buf()),
                },
                // Released in between: say so rather than guess.
                Ok(None) => io(std::io::Error::other("the lock was busy; try again")),
                Err(e) => io(e),
            });
        }
        file.set_len(0).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(Self { _file: file })
    }
}

/// The pid of the process holding `work_dir`'s lock, `None` when no agent
/// runs there (no lock file, or nobody holds it).
pub fn holder(work_dir: &Path) -> std::io::Result<Option<i32>> {
    match File::open(work_dir.join(PID_FILE)) {
        Ok(file) => holder_of(&file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn holder_of(file: &File) -> std::io::Result<Option<i32>> {
    let lock = fcntl_lock(file, libc::F_GETLK)?;
    Ok((i32::from(lock.l_type) != libc::F_UNLCK).then_some(lock.l_pid))
}

/// `fcntl(fd, command, whole-file write lock)`; returns the struct as the
/// kernel left it (for `F_GETLK`, the conflicting lock or `F_UNLCK`).
fn fcntl_lock(file: &File, command: libc::c_int) -> std::io::Result<libc::flock> {
    // SAFETY: an all-zero flock is a valid value (every field is an integer).
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    // The constants are small; the field's integer type differs by platform.
    lock.l_type = libc::F_WRLCK as _;
    lock.l_whence = libc::SEEK_SET as _;
    // SAFETY: fd is open for the call; `lock` is a valid, exclusively
    // borrowed flock the kernel reads and (for F_GETLK) writes.
    let result = unsafe { libc::fcntl(file.as_raw_fd(), command, &mut lock) };
    if result == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_lock_file_means_no_holder_and_the_holder_sees_itself_unlocked() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(holder(dir.path()).ok(), Some(None));
        let lock = WorkDirLock::acquire(&dir.path().join("new"));
        assert!(lock.is_ok(), "{lock:?}");
        let written = std::fs::read_to_string(dir.path().join("new").join(PID_FILE));
        assert_eq!(written.ok(), Some(format!("{}\n", std::process::id())));
        // F_GETLK never reports a process's own locks (and closing the file
        // here drops them: the agent never opens its lock file twice).
        // Other processes see it: server/tests/it/agent_daemon.rs.
        assert_eq!(holder(&dir.path().join("new")).ok(), Some(None));
    }
}
