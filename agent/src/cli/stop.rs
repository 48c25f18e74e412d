//! `--stop` and `--stop --drain`: signal the agent that holds a work dir
//! (SIGTERM, or SIGUSR1 to drain) and wait until it has let go of it.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use trainyard_agent::{status, workdir_lock};

/// How often the lock is checked while waiting.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// Stops the agent on `work_dir`; exit 0 once it exited, 1 when none ran,
/// it cannot be signalled, or it still runs after `timeout`.
pub fn stop(work_dir: &Path, drain: bool, timeout: Option<Duration>) -> ExitCode {
    let shown = std::path::absolute(work_dir).unwrap_or_else(|_| work_dir.to_path_buf());
    let pid = match workdir_lock::holder(work_dir) {
        Ok(Some(pid)) => pid,
        Ok(None) => {
            eprintln!(
                "no trainyard-agent is running on work dir {}; nothing to stop",
                shown.display()
            );
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!(
                "error: cannot read the agent's lock in {}: {e}",
                shown.display()
            );
            return ExitCode::FAILURE;
        }
    };
    if pid <= 1 {
        // F_GETLK reports 0 for a holder in another PID namespace (a
        // container), and kill(0, …) would signal our own process group.
        eprintln!(
            "error: the agent on work dir {} runs in another PID namespace (a container?); \
             stop it from there",
            shown.display()
        );
        return ExitCode::FAILURE;
    }
    let signal = if drain { libc::SIGUSR1 } else { libc::SIGTERM };
    // SAFETY: kill only sends a signal.
    if unsafe { libc::kill(pid, signal) } == -1 {
        let error = std::io::Error::last_os_error();
        eprintln!("error: cannot signal trainyard-agent pid {pid}: {error}");
        return ExitCode::FAILURE;
    }
    if drain {
        println!("trainyard-agent pid {pid} takes no new work and exits once its jobs are done");
    } else {
        println!("stopping trainyard-agent pid {pid}; its jobs keep running");
    }
    let started = Instant::now();
    let mut waiting_for = String::new();
    loop {
        match workdir_lock::holder(work_dir) {
            Ok(Some(holder)) if holder == pid => {}
            // Gone (or a new agent already took the work dir over).
            Ok(_) => {
                println!("trainyard-agent pid {pid} stopped");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!(
                    "error: cannot read the agent's lock in {}: {e}",
                    shown.display()
                );
                return ExitCode::FAILURE;
            }
        }
        if drain {
            let now = pending_jobs(work_dir, pid);
            if !now.is_empty() && now != waiting_for {
                println!("waiting for {now}");
            }
            waiting_for = now;
        }
        if timeout.is_some_and(|limit| started.elapsed() > limit) {
            eprintln!(
                "trainyard-agent pid {pid} still runs after {:.0} s; left running \
                 (`--stop` again without --drain exits it at once, leaving its jobs running)",
                started.elapsed().as_secs_f64()
            );
            return ExitCode::FAILURE;
        }
        std::thread::sleep(CHECK_EVERY);
    }
}

/// "job 12 attempt 1, job 13 attempt 1" from the agent's status file.
fn pending_jobs(work_dir: &Path, pid: i32) -> String {
    let Ok(status) = status::read(work_dir) else {
        return String::new();
    };
    if i64::from(status.pid) != i64::from(pid) {
        return String::new();
    }
    let jobs: Vec<String> = status
        .jobs
        .iter()
        .map(|job| format!("job {} attempt {}", job.job_id, job.attempt))
        .collect();
    jobs.join(", ")
}
