//! A real `trainyard-agent` process killed with SIGKILL mid-job and started
//! again on the same work dir: its jobs run on under their supervisors and
//! the new agent adopts them. Needs the agent binary next to `trainyard`
//! (a workspace `cargo test` builds it; else `cargo build -p trainyard-agent`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use trainyard_core::JobStatus;

use crate::harness::{config, eventually, until, TestServer, KEY};
use crate::jobs_support::{log_of, submit, wait_status};

/// The `trainyard-agent` binary of this build.
pub fn agent_binary() -> PathBuf {
    let path = Path::new(env!("CARGO_BIN_EXE_trainyard")).with_file_name("trainyard-agent");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p trainyard-agent` (a workspace \
         `cargo test` does)",
        path.display()
    );
    path
}

/// An agent process, killed with SIGKILL when dropped.
struct AgentProcess(Child);

impl AgentProcess {
    fn start(base: &str, work_dir: &Path, life: u32) -> AgentProcess {
        AgentProcess::start_binary(&agent_binary(), base, work_dir, life)
    }

    /// An agent run from `binary` (an installed copy, for upgrades).
    fn start_binary(binary: &Path, base: &str, work_dir: &Path, life: u32) -> AgentProcess {
        let output = std::fs::File::create(work_dir.with_extension(format!("agent-{life}.log")))
            .expect("the agent's own log");
        let child = Command::new(binary)
            .args(["--url", base, "--host-id", "gpu-a", "--token", KEY])
            .args(["--fake-gpus", "1", "--heartbeat-interval", "0.1"])
            .args(["--kill-grace", "2"])
            .arg("--work-dir")
            .arg(work_dir)
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("a second handle"))
            .stderr(output)
            .spawn()
            .expect("the agent starts");
        AgentProcess(child)
    }

    /// SIGTERM (what `systemctl stop` sends), and reaped: the agent exits
    /// and leaves its running jobs to the next agent.
    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = libc::pid_t::try_from(self.0.id()).expect("a pid");
        // SAFETY: kill only sends a signal.
        assert_eq!(
            unsafe { libc::kill(pid, libc::SIGTERM) },
            0,
            "SIGTERM to the agent"
        );
        self.0.wait().expect("the agent exits on SIGTERM")
    }

    /// `kill -9`, and reaped.
    fn kill_9(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn pid_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            state != Some("Z")
        })
        .unwrap_or(false)
}

/// `supervisor.json` of job `id`'s attempt `attempt`: (supervisor, job) pids.
pub fn supervisor_of(work_dir: &Path, id: i64, attempt: u32) -> (u32, u32) {
    let path = work_dir
        .join("runs")
        .join(format!("{id}-{attempt}/supervisor.json"));
    let ids: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_default()).unwrap_or_default();
    let pid = |key: &str| u32::try_from(ids[key].as_u64().unwrap_or(0)).unwrap_or(0);
    (pid("supervisor"), pid("job"))
}

/// `kill -9` of a process, or of a process group.
fn kill(pid: u32, group: bool) {
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    assert!(pid > 1, "a real pid");
    // SAFETY: kill and killpg only send a signal.
    let sent = unsafe {
        if group {
            libc::killpg(pid, libc::SIGKILL)
        } else {
            libc::kill(pid, libc::SIGKILL)
        }
    };
    assert_eq!(
        sent,
        0,
        "kill -9 {pid}: {}",
        std::io::Error::last_os_error()
    );
}

#[tokio::test]
async fn a_job_survives_kill_9_of_its_agent_and_the_new_agent_finishes_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let work = dir.path().join("agent");
    let agent = AgentProcess::start(&base, &work, 1);
    let lines = 40;
    let yaml = format!(
        "gpus: 1\nretries: 1\ncommand: [\"sh\", \"-c\", \
         \"for i in $(seq 1 {lines}); do echo line $i; sleep 0.25; done\"]\n"
    );
    let job = submit(&base, &yaml).await.jobs[0].id;
    eventually("the job to print a few lines", || async {
        log_of(&base, job).await.contains("line 4\n")
    })
    .await;
    let (supervisor, job_pid) = supervisor_of(&work, job, 1);
    agent.kill_9();
    assert!(
        pid_alive(supervisor) && pid_alive(job_pid),
        "the job and its supervisor outlive the agent"
    );
    // The job keeps printing while no agent runs.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let shipped = log_of(&base, job).await.len();

    let restarted = Instant::now();
    let agent = AgentProcess::start(&base, &work, 2);
    until("new output at the server", || async {
        (log_of(&base, job).await.len() > shipped).then_some(())
    })
    .await;
    eprintln!(
        "restart to the first new log byte at the server: {:?}",
        restarted.elapsed()
    );

    let done = wait_status(&base, job, JobStatus::Succeeded).await;
    let attempts: Vec<_> = done
        .attempts
        .iter()
        .map(|a| (a.attempt, a.status, a.exit_code))
        .collect();
    assert_eq!(attempts, [(1, JobStatus::Succeeded, Some(0))]);
    assert_eq!(done.job.exit_code, Some(0));
    let expected: String = (1..=lines).map(|i| format!("line {i}\n")).collect();
    assert_eq!(log_of(&base, job).await, expected);
    agent.kill_9();
}

#[tokio::test]
async fn a_job_killed_while_no_agent_runs_is_lost_and_retried() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let work = dir.path().join("agent");
    let agent = AgentProcess::start(&base, &work, 1);
    let yaml = "gpus: 1\nretries: 1\ncommand: [\"sh\", \"-c\", \"echo attempt $TRAINYARD_ATTEMPT; \
                if [ $TRAINYARD_ATTEMPT = 1 ]; then sleep 1000; fi; echo finished\"]\n";
    let job = submit(&base, yaml).await.jobs[0].id;
    eventually("attempt 1 to run", || async {
        log_of(&base, job).await.contains("attempt 1")
    })
    .await;
    let (supervisor, job_pid) = supervisor_of(&work, job, 1);
    agent.kill_9();
    // As a reboot would: the supervisor and the job die with no agent watching.
    kill(supervisor, false);
    kill(job_pid, true);
    eventually("the job and its supervisor to die", || async {
        !pid_alive(supervisor) && !pid_alive(job_pid)
    })
    .await;

    let agent = AgentProcess::start(&base, &work, 2);
    let done = wait_status(&base, job, JobStatus::Succeeded).await;
    let attempts: Vec<_> = done
        .attempts
        .iter()
        .map(|a| (a.attempt, a.status))
        .collect();
    assert_eq!(attempts, [(1, JobStatus::Lost), (2, JobStatus::Succeeded)]);
    let reason = done.attempts[0].reason.clone().unwrap_or_default();
    assert!(reason.contains("while no agent watched it"), "{reason}");
    let log = log_of(&base, job).await;
    assert!(log.contains("attempt 2\nfinished\n"), "{log}");
    agent.kill_9();
}

#[tokio::test]
async fn a_job_that_fails_while_no_agent_runs_is_reported_with_its_exit_code() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let work = dir.path().join("agent");
    let agent = AgentProcess::start(&base, &work, 1);
    let yaml = "gpus: 1\nretries: 1\ncommand: [\"sh\", \"-c\", \"echo waiting; \
                while [ ! -e $TRAINYARD_RUN_DIR/go ]; do sleep 0.05; done; echo bad; exit 3\"]\n";
    let job = submit(&base, yaml).await.jobs[0].id;
    eventually("the job to run", || async {
        log_of(&base, job).await.contains("waiting")
    })
    .await;
    agent.kill_9();
    let run_dir = work.join("runs").join(format!("{job}-1"));
    std::fs::write(run_dir.join("go"), b"").expect("the run dir is writable");
    eventually("the supervisor to record the exit", || async {
        run_dir.join("exit.json").exists()
    })
    .await;

    let agent = AgentProcess::start(&base, &work, 2);
    let done = wait_status(&base, job, JobStatus::Failed).await;
    assert_eq!(done.job.exit_code, Some(3));
    assert_eq!(done.attempts.len(), 1, "a failure is not retried");
    assert_eq!(log_of(&base, job).await, "waiting\nbad\n");
    agent.kill_9();
}

/// Installs `from` at `to` the way a package upgrade does: the new file is
/// written beside it and renamed over it, so a process still running the
/// old file keeps its inode. `marker` is appended after the ELF image (the
/// loader ignores it), so the installed file really differs from the last.
fn install_agent(from: &Path, to: &Path, marker: &str) {
    let mut bytes = std::fs::read(from).expect("the built agent");
    bytes.extend_from_slice(marker.as_bytes());
    let staged = to.with_extension("new");
    std::fs::write(&staged, &bytes).expect("the staged agent");
    std::fs::set_permissions(&staged, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("the staged agent is executable");
    std::fs::rename(&staged, to).expect("the agent installed");
}

#[tokio::test]
async fn a_job_runs_on_across_an_agent_upgrade_in_place() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let work = dir.path().join("agent");
    let installed = dir.path().join("bin").join("trainyard-agent");
    std::fs::create_dir_all(installed.parent().expect("a parent")).expect("bin/");
    install_agent(&agent_binary(), &installed, "release 1");
    let agent = AgentProcess::start_binary(&installed, &base, &work, 1);
    let lines = 30;
    let yaml = format!(
        "gpus: 1\nretries: 1\ncommand: [\"sh\", \"-c\", \
         \"for i in $(seq 1 {lines}); do echo line $i; sleep 0.2; done; exit 4\"]\n"
    );
    let job = submit(&base, &yaml).await.jobs[0].id;
    eventually("the job to print a few lines", || async {
        log_of(&base, job).await.contains("line 3\n")
    })
    .await;
    let (supervisor, job_pid) = supervisor_of(&work, job, 1);

    // The upgrade: a new file replaces the binary the agent and the job's
    // supervisor run from, the service is stopped (SIGTERM) and started
    // again from the new file on the same work dir.
    install_agent(&agent_binary(), &installed, "release 2");
    let status = agent.terminate();
    assert!(
        status.success(),
        "the old agent exits cleanly on SIGTERM: {status}"
    );
    assert!(
        pid_alive(supervisor) && pid_alive(job_pid),
        "the job and its supervisor outlive the old agent and its replaced binary"
    );
    let agent = AgentProcess::start_binary(&installed, &base, &work, 2);

    // The new agent reports the job's real outcome: one attempt, its exit
    // code, every line once.
    let done = wait_status(&base, job, JobStatus::Failed).await;
    let attempts: Vec<_> = done
        .attempts
        .iter()
        .map(|a| (a.attempt, a.status, a.exit_code))
        .collect();
    assert_eq!(attempts, [(1, JobStatus::Failed, Some(4))]);
    let expected: String = (1..=lines).map(|i| format!("line {i}\n")).collect();
    assert_eq!(log_of(&base, job).await, expected);
    agent.kill_9();
}
