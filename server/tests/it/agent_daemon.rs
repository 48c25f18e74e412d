//! `trainyard-agent --daemon`, `--status`, `--stop` and `--stop --drain`
//! as an operator runs them: real agent processes against a real server.
//! Needs the agent binary next to `trainyard` (see `agent_restart.rs`).

use std::path::{Path, PathBuf};
use std::process::Output;

use trainyard_core::{JobDetail, JobStatus};

use crate::agent_restart::{agent_binary, pid_alive, supervisor_of};
use crate::harness::{config, eventually, get_json, until, TestServer, KEY};
use crate::jobs_support::{log_of, submit, wait_status};

/// A job that prints "waiting", waits for a `go` file in its run dir (a
/// minute at most, so a failed test leaves nothing behind for long), then
/// prints "done".
const WAITING_JOB: &str = "gpus: 1\nretries: 1\ncommand: [\"sh\", \"-c\", \"echo waiting; i=0; \
    while [ ! -e $TRAINYARD_RUN_DIR/go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; \
    echo done\"]\n";

/// `trainyard-agent ARGS`, run to its end. Async, so the server in this
/// test's runtime keeps answering meanwhile.
async fn agent_cli(args: &[&str]) -> Output {
    tokio::process::Command::new(agent_binary())
        .args(args)
        .output()
        .await
        .expect("trainyard-agent runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The flags of the daemon under test, on `work_dir`.
fn daemon_args<'a>(base: &'a str, work_dir: &'a str) -> Vec<&'a str> {
    vec![
        "--url",
        base,
        "--token",
        KEY,
        "--host-id",
        "gpu-a",
        "--fake-gpus",
        "1",
        "--heartbeat-interval",
        "0.1",
        "--work-dir",
        work_dir,
        "--daemon",
    ]
}

/// Starts a daemon and returns its pid (from what `--daemon` printed).
async fn start_daemon(base: &str, work_dir: &Path) -> u32 {
    let work = work_dir.to_str().expect("a UTF-8 temp path");
    let started = agent_cli(&daemon_args(base, work)).await;
    let stdout = text(&started.stdout);
    assert!(
        started.status.success(),
        "--daemon failed: {stdout}{}",
        text(&started.stderr)
    );
    let pid = stdout
        .split("pid ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {stdout:?}"));
    assert!(pid_alive(pid), "the daemon runs after --daemon returned");
    pid
}

/// `--status --json` of the agent on `work_dir`.
async fn status_json(work_dir: &str) -> Option<serde_json::Value> {
    let out = agent_cli(&["--status", "--json", "--work-dir", work_dir]).await;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// SIGKILLs whatever agent still holds the work dir when a test ends.
struct KillLeftover(PathBuf);

impl Drop for KillLeftover {
    fn drop(&mut self) {
        if let Ok(Some(pid)) = trainyard_agent::workdir_lock::holder(&self.0) {
            if pid > 1 {
                // SAFETY: kill only sends a signal.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

#[tokio::test]
async fn a_daemon_detaches_reports_its_status_refuses_a_second_agent_and_stops() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let work_dir = dir.path().join("agent");
    let work = work_dir.to_str().expect("a UTF-8 temp path");
    let _cleanup = KillLeftover(work_dir.clone());

    // Nothing runs yet: both commands say so.
    let status = agent_cli(&["--status", "--work-dir", work]).await;
    assert_eq!(status.status.code(), Some(3));
    assert!(
        text(&status.stderr).contains("no trainyard-agent is running on work dir"),
        "{}",
        text(&status.stderr)
    );
    let stop = agent_cli(&["--stop", "--work-dir", work]).await;
    assert_eq!(stop.status.code(), Some(1));
    assert!(
        text(&stop.stderr).contains("nothing to stop"),
        "{}",
        text(&stop.stderr)
    );

    let pid = start_daemon(&base, &work_dir).await;
    let pid_file = std::fs::read_to_string(work_dir.join("agent.pid")).unwrap_or_default();
    assert_eq!(pid_file.trim(), pid.to_string());
    let status = until("--status to show the link connected", || async {
        status_json(work)
            .await
            .filter(|s| s["servers"][0]["link"] == "connected")
    })
    .await;
    assert_eq!(status["pid"], pid);
    assert_eq!(status["servers"][0]["url"], base.as_str());
    assert_eq!(status["jobs"], serde_json::json!([]));
    let human = agent_cli(&["--status", "--work-dir", work]).await;
    let human_text = text(&human.stdout);
    assert!(human.status.success(), "{human_text}");
    for expected in [
        format!("running as pid {pid}"),
        format!("server {base}: connected"),
        "uptime: ".to_string(),
        "jobs: none".to_string(),
    ] {
        assert!(
            human_text.contains(&expected),
            "{expected:?} in {human_text}"
        );
    }

    // A second daemon and a foreground agent on the same work dir refuse,
    // naming the pid that owns it.
    let owner = format!("another trainyard-agent (pid {pid}) already runs on work dir");
    let second = agent_cli(&daemon_args(&base, work)).await;
    assert_eq!(second.status.code(), Some(1));
    assert!(
        text(&second.stderr).contains(&owner),
        "{}",
        text(&second.stderr)
    );
    let mut foreground = daemon_args(&base, work);
    foreground.pop();
    let third = agent_cli(&foreground).await;
    assert_eq!(third.status.code(), Some(1));
    assert!(
        text(&third.stderr).contains(&owner),
        "{}",
        text(&third.stderr)
    );
    assert!(pid_alive(pid), "the refused agents left the daemon alone");

    let stop = agent_cli(&["--stop", "--work-dir", work]).await;
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(text(&stop.stdout).contains(&format!("trainyard-agent pid {pid} stopped")));
    eventually("the daemon's process to end", || async { !pid_alive(pid) }).await;
    let status = agent_cli(&["--status", "--work-dir", work]).await;
    assert_eq!(status.status.code(), Some(3));
    let log = std::fs::read_to_string(work_dir.join("agent.log")).unwrap_or_default();
    assert!(log.contains("received SIGTERM"), "{log}");
}

#[tokio::test]
async fn stop_leaves_the_running_job_to_the_next_daemon_which_finishes_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let work_dir = dir.path().join("agent");
    let work = work_dir.to_str().expect("a UTF-8 temp path");
    let _cleanup = KillLeftover(work_dir.clone());

    let pid = start_daemon(&base, &work_dir).await;
    let job = submit(&base, WAITING_JOB).await.jobs[0].id;
    eventually("the job to run", || async {
        log_of(&base, job).await.contains("waiting")
    })
    .await;
    let listed = until("--status to list the job", || async {
        status_json(work)
            .await
            .filter(|s| s["jobs"].as_array().is_some_and(|jobs| !jobs.is_empty()))
    })
    .await;
    assert_eq!(listed["jobs"][0]["job_id"], job);
    assert_eq!(listed["jobs"][0]["process_running"], true);

    let stop = agent_cli(&["--stop", "--work-dir", work]).await;
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    assert!(text(&stop.stdout).contains("its jobs keep running"));
    eventually("the daemon's process to end", || async { !pid_alive(pid) }).await;
    let (supervisor, job_pid) = supervisor_of(&work_dir, job, 1);
    assert!(
        pid_alive(supervisor) && pid_alive(job_pid),
        "the job and its supervisor outlive the stopped daemon"
    );
    let detail: JobDetail = get_json(&base, &trainyard_core::protocol::paths::job(job)).await;
    assert_eq!(
        detail.job.status,
        JobStatus::Running,
        "nothing was reported as failed"
    );

    // The job goes on while no agent runs; the next daemon adopts it.
    let run_dir = work_dir.join("runs").join(format!("{job}-1"));
    std::fs::write(run_dir.join("go"), b"").expect("the run dir is writable");
    let pid = start_daemon(&base, &work_dir).await;
    let done = wait_status(&base, job, JobStatus::Succeeded).await;
    let attempts: Vec<_> = done
        .attempts
        .iter()
        .map(|a| (a.attempt, a.status, a.exit_code))
        .collect();
    assert_eq!(attempts, [(1, JobStatus::Succeeded, Some(0))]);
    assert_eq!(log_of(&base, job).await, "waiting\ndone\n");
    let stop = agent_cli(&["--stop", "--work-dir", work]).await;
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    eventually("the second daemon to end", || async { !pid_alive(pid) }).await;
}

#[tokio::test]
async fn stop_drain_waits_for_the_running_job_and_takes_no_new_one() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let work_dir = dir.path().join("agent");
    let work = work_dir.to_str().expect("a UTF-8 temp path");
    let _cleanup = KillLeftover(work_dir.clone());

    let pid = start_daemon(&base, &work_dir).await;
    let running = submit(&base, WAITING_JOB).await.jobs[0].id;
    eventually("the first job to run", || async {
        log_of(&base, running).await.contains("waiting")
    })
    .await;
    // The one GPU is busy: the second job waits in the queue.
    let next = submit(&base, "gpus: 1\ncommand: [\"echo\", \"second\"]\n")
        .await
        .jobs[0]
        .id;

    let drain = tokio::process::Command::new(agent_binary())
        .args(["--stop", "--drain", "--work-dir", work])
        .output();
    let drain = tokio::spawn(drain);
    until("--status to say the agent drains", || async {
        status_json(work).await.filter(|s| s["draining"] == true)
    })
    .await;
    let human = agent_cli(&["--status", "--work-dir", work]).await;
    assert!(
        text(&human.stdout).contains("draining: takes no new work"),
        "{}",
        text(&human.stdout)
    );
    assert!(pid_alive(pid), "a draining agent waits for its job");

    // The job ends; the agent reports it and exits without taking the next.
    let run_dir = work_dir.join("runs").join(format!("{running}-1"));
    std::fs::write(run_dir.join("go"), b"").expect("the run dir is writable");
    let drained = drain
        .await
        .expect("the drain command's task")
        .expect("the drain command runs");
    let said = text(&drained.stdout);
    assert!(drained.status.success(), "{said}{}", text(&drained.stderr));
    assert!(
        said.contains(&format!("trainyard-agent pid {pid} stopped")),
        "{said}"
    );
    eprintln!("--stop --drain said:\n{said}");
    eventually("the drained daemon's process to end", || async {
        !pid_alive(pid)
    })
    .await;
    let done: JobDetail = get_json(&base, &trainyard_core::protocol::paths::job(running)).await;
    assert_eq!(
        done.job.status,
        JobStatus::Succeeded,
        "reported before the agent exited"
    );
    assert_eq!(log_of(&base, running).await, "waiting\ndone\n");
    let waiting: JobDetail = get_json(&base, &trainyard_core::protocol::paths::job(next)).await;
    assert_eq!(
        waiting.job.status,
        JobStatus::Queued,
        "no new work was taken"
    );

    // The next agent on the host takes it.
    let pid = start_daemon(&base, &work_dir).await;
    wait_status(&base, next, JobStatus::Succeeded).await;
    let stop = agent_cli(&["--stop", "--work-dir", work]).await;
    assert!(stop.status.success(), "{}", text(&stop.stderr));
    eventually("the last daemon to end", || async { !pid_alive(pid) }).await;
}

#[tokio::test]
async fn a_daemon_that_cannot_start_says_why_and_the_command_fails() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let work_dir = dir.path().join("agent");
    let work = work_dir.to_str().expect("a UTF-8 temp path");
    let _cleanup = KillLeftover(work_dir.clone());
    let mut args = daemon_args("http://127.0.0.1:9", work);
    args[5] = "bad host!";
    let started = agent_cli(&args).await;
    assert_eq!(started.status.code(), Some(1));
    let said = text(&started.stderr);
    assert!(said.contains("the daemon ended"), "{said}");
    assert!(
        said.contains("host_id \"bad host!\" may only contain"),
        "{said}"
    );
    let status = agent_cli(&["--status", "--work-dir", work]).await;
    assert_eq!(status.status.code(), Some(3), "nothing is left running");
}

/// The launchd plist in deploy/ is a valid property list (Python's
/// `plistlib`, as strict as launchd about XML), and the agent accepts its
/// arguments.
#[tokio::test]
async fn the_launchd_plist_parses_and_the_agent_accepts_its_arguments() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let plist = root.join("deploy/launchd/com.trainyard.agent.plist");
    let read = tokio::process::Command::new(root.join(".venv/bin/python"))
        .args([
            "-c",
            "import json, plistlib, sys; d = plistlib.load(open(sys.argv[1], 'rb')); \
             print(json.dumps(d))",
        ])
        .arg(&plist)
        .output()
        .await
        .expect("the project's .venv python runs (scripts/python-env.sh)");
    assert!(read.status.success(), "{}", text(&read.stderr));
    let job: serde_json::Value = serde_json::from_slice(&read.stdout).expect("JSON");
    assert_eq!(job["Label"], "com.trainyard.agent");
    assert_eq!(job["KeepAlive"]["SuccessfulExit"], false);
    assert_eq!(job["AbandonProcessGroup"], true);
    let arguments: Vec<&str> = job["ProgramArguments"]
        .as_array()
        .expect("ProgramArguments")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert!(
        !arguments.contains(&"--daemon"),
        "launchd wants the foreground"
    );
    // Its flags parse: with --status added the agent only looks at the
    // (missing) work dir and says no agent runs there.
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut flags: Vec<String> = arguments[1..].iter().map(|a| a.to_string()).collect();
    let work = flags
        .iter()
        .position(|a| a == "--work-dir")
        .expect("the plist sets --work-dir");
    flags[work + 1] = dir.path().join("w").display().to_string();
    flags.push("--status".into());
    let status = tokio::process::Command::new(agent_binary())
        .args(&flags)
        .output()
        .await
        .expect("trainyard-agent runs");
    assert_eq!(status.status.code(), Some(3), "{}", text(&status.stderr));
}
