//! One `trainyard-agent` process working for two real servers at once
//! (`--url` given twice, or `--servers-file`): the host appears on both,
//! each server's jobs live in their own folder, and the two GPUs are never
//! given to more than two jobs at a time, whichever server they came from.
//! Needs the agent binary next to `trainyard` (see `agent_restart.rs`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use trainyard_core::protocol::paths;
use trainyard_core::{HostHealth, HostsPage, JobDetail, JobStatus};

use crate::agent_restart::agent_binary;
use crate::harness::{config, until, TestServer, KEY};
use crate::jobs_support::submit_to;

/// The second server's key: each `--url` must send its own `--token`.
const KEY_B: &str = "second-key-0123456789abcdef";

/// An agent process, killed with SIGKILL when dropped.
struct AgentProcess {
    child: Child,
    log: PathBuf,
}

impl AgentProcess {
    fn start(args: &[&str], work_dir: &Path) -> AgentProcess {
        let log = work_dir.with_extension("agent.log");
        let output = std::fs::File::create(&log).expect("the agent's own log");
        let child = Command::new(agent_binary())
            .args(["--host-id", "gpu-m", "--fake-gpus", "2"])
            .args(["--heartbeat-interval", "0.1", "--kill-grace", "2"])
            .arg("--work-dir")
            .arg(work_dir)
            .args(args)
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("a second handle"))
            .stderr(output)
            .spawn()
            .expect("the agent starts");
        AgentProcess { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the agent's log:\n{}", self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn get_with<T: serde::de::DeserializeOwned>(base: &str, key: &str, path: &str) -> T {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// Waits until every job in `ids` on the server at `base` has ended, and
/// returns them.
async fn all_ended(base: &str, key: &str, ids: &[i64]) -> Vec<JobDetail> {
    until(&format!("jobs {ids:?} at {base} to end"), || async {
        let mut jobs = Vec::new();
        for id in ids {
            let job: JobDetail = get_with(base, key, &paths::job(*id)).await;
            if !job.job.status.is_final() {
                return None;
            }
            jobs.push(job);
        }
        Some(jobs)
    })
    .await
}

/// Waits until the server at `base` lists host `gpu-m` as healthy.
async fn host_is_healthy(base: &str, key: &str) {
    until(&format!("host gpu-m healthy at {base}"), || async {
        let page: HostsPage = get_with(base, key, "/api/v1/hosts?limit=1000").await;
        page.hosts
            .iter()
            .any(|h| h.host_id == "gpu-m" && h.health == HostHealth::Healthy)
            .then_some(())
    })
    .await;
}

/// A 1-GPU job that claims its GPU in `shared` (a `mkdir` that fails if
/// another job holds the same GPU, leaving a `clash` file), counts the jobs
/// running on the host at that moment into `counts`, runs longer than a
/// freed GPU is kept for one server's turn (`HANDOFF`, 250 ms), and gives the
/// GPU back.
fn counting_job(shared: &Path, name: &str) -> String {
    let shared = shared.display();
    format!(
        "name: {name}\ngpus: 1\ncommand: [\"sh\", \"-c\", \"\
         mkdir {shared}/gpu-$CUDA_VISIBLE_DEVICES || touch {shared}/clash; \
         touch {shared}/running-$$; ls {shared} | grep -c running- >> {shared}/counts; \
         sleep 1.5; rm -f {shared}/running-$$; rmdir {shared}/gpu-$CUDA_VISIBLE_DEVICES\"]\n"
    )
}

/// `trainyard-agent ARGS`, run to its end (for flags it refuses).
async fn agent_cli(args: &[&str]) -> Output {
    tokio::process::Command::new(agent_binary())
        .args(args)
        .output()
        .await
        .expect("trainyard-agent runs")
}

#[tokio::test]
async fn two_servers_share_one_agent_and_its_two_gpus_never_run_more_than_two_jobs() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let a = TestServer::start(config(&dir.path().join("a"), Some(KEY), Default::default())).await;
    let b = TestServer::start(config(
        &dir.path().join("b"),
        Some(KEY_B),
        Default::default(),
    ))
    .await;
    let (base_a, base_b) = (a.url(""), b.url(""));
    let work_dir = dir.path().join("agent");
    let shared = dir.path().join("gpus");
    std::fs::create_dir_all(&shared).expect("the shared folder");
    let agent = AgentProcess::start(
        &[
            "--url", &base_a, "--token", KEY, "--url", &base_b, "--token", KEY_B,
        ],
        &work_dir,
    );
    host_is_healthy(&base_a, KEY).await;
    host_is_healthy(&base_b, KEY_B).await;

    // Jobs from both servers, queued at once: six 1-GPU jobs for two GPUs.
    let mut ids_a = Vec::new();
    let mut ids_b = Vec::new();
    for n in 0..3 {
        let yaml = counting_job(&shared, &format!("a{n}"));
        ids_a.push(submit_to(&base_a, KEY, &yaml).await.jobs[0].id);
        let yaml = counting_job(&shared, &format!("b{n}"));
        ids_b.push(submit_to(&base_b, KEY_B, &yaml).await.jobs[0].id);
    }
    let jobs_a = all_ended(&base_a, KEY, &ids_a).await;
    let jobs_b = all_ended(&base_b, KEY_B, &ids_b).await;
    let log = agent.log();
    for job in jobs_a.iter().chain(&jobs_b) {
        assert_eq!(job.job.status, JobStatus::Succeeded, "{job:?}\n{log}");
        let last = job.attempts.last().map(|a| a.host_id.as_str());
        assert_eq!(last, Some("gpu-m"));
    }

    assert!(
        !shared.join("clash").exists(),
        "two jobs ran on the same GPU at once\n{log}"
    );
    let counts = std::fs::read_to_string(shared.join("counts")).unwrap_or_default();
    let counts: Vec<u32> = counts
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    eprintln!(
        "jobs running at each start: {counts:?}; assignments declined: {}",
        log.matches("declining an assignment").count()
    );
    assert_eq!(counts.len(), 6, "every job counted once: {counts:?}");
    assert!(
        counts.iter().all(|&n| (1..=2).contains(&n)),
        "never more than 2 jobs at once: {counts:?}\n{log}"
    );

    // Each server's jobs ran in their own folder: the first server's in
    // the work dir's runs/, as with one server, the second's under servers/.
    let slug = format!("127.0.0.1_{}", b.addr.port());
    let runs_a = work_dir.join("runs");
    let runs_b = work_dir.join("servers").join(&slug).join("runs");
    for (runs, ids) in [(&runs_a, &ids_a), (&runs_b, &ids_b)] {
        for id in ids {
            assert!(has_run_dir(runs, *id), "job {id} in {}", runs.display());
        }
    }

    // --status lists both servers, connected, and whose job is whose.
    let work = work_dir.to_str().expect("a UTF-8 temp path");
    let status = until("--status to show both links connected", || async {
        let out = agent_cli(&["--status", "--json", "--work-dir", work]).await;
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let servers = status["servers"].as_array()?;
        (servers.len() == 2 && servers.iter().all(|s| s["link"] == "connected")).then_some(status)
    })
    .await;
    assert_eq!(status["servers"][0]["url"], base_a.as_str());
    assert_eq!(status["servers"][1]["url"], base_b.as_str());
    drop(agent);
}

#[tokio::test]
async fn a_restarted_agent_adopts_each_servers_job_from_that_servers_folder() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let a = TestServer::start(config(&dir.path().join("a"), Some(KEY), Default::default())).await;
    let b = TestServer::start(config(
        &dir.path().join("b"),
        Some(KEY_B),
        Default::default(),
    ))
    .await;
    let (base_a, base_b) = (a.url(""), b.url(""));
    let work_dir = dir.path().join("agent");
    let servers = [
        "--url", &base_a, "--token", KEY, "--url", &base_b, "--token", KEY_B,
    ];
    let agent = AgentProcess::start(&servers, &work_dir);
    // One job on each server, each waiting for a `go` file in its run dir.
    let yaml = "gpus: 1\nretries: 1\ncommand: [\"sh\", \"-c\", \"echo waiting; i=0; \
        while [ ! -e $TRAINYARD_RUN_DIR/go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; \
        echo done\"]\n";
    let id_a = submit_to(&base_a, KEY, yaml).await.jobs[0].id;
    let id_b = submit_to(&base_b, KEY_B, yaml).await.jobs[0].id;
    let slug = format!("127.0.0.1_{}", b.addr.port());
    // A poll dropped as the other server's job started may have carried an
    // assignment: that one comes back as the next attempt, so find the run
    // dir of whichever attempt runs.
    let run_a = running_dir(&work_dir.join("runs"), id_a).await;
    let run_b = running_dir(&work_dir.join(format!("servers/{slug}/runs")), id_b).await;
    let before_a: JobDetail = get_with(&base_a, KEY, &paths::job(id_a)).await;
    let before_b: JobDetail = get_with(&base_b, KEY_B, &paths::job(id_b)).await;
    drop(agent); // kill -9: the jobs run on under their supervisors

    let agent = AgentProcess::start(&servers, &work_dir);
    let work = work_dir.to_str().expect("a UTF-8 temp path");
    until("the new agent to hold both jobs", || async {
        let out = agent_cli(&["--status", "--json", "--work-dir", work]).await;
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let jobs = status["jobs"].as_array()?;
        let of = |url: &str| jobs.iter().any(|j| j["server"] == url);
        (jobs.len() == 2 && of(&base_a) && of(&base_b)).then_some(())
    })
    .await;
    for run in [&run_a, &run_b] {
        std::fs::write(run.join("go"), "").expect("the go file");
    }
    let done_a = all_ended(&base_a, KEY, &[id_a]).await;
    let done_b = all_ended(&base_b, KEY_B, &[id_b]).await;
    for (done, before) in [(&done_a[0], &before_a), (&done_b[0], &before_b)] {
        assert_eq!(done.job.status, JobStatus::Succeeded, "{}", agent.log());
        assert_eq!(
            done.attempts.len(),
            before.attempts.len(),
            "adopted, not run again: {done:?}"
        );
    }
}

#[tokio::test]
async fn a_drain_stops_offering_work_to_every_server_and_waits_for_all_their_jobs() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let a = TestServer::start(config(&dir.path().join("a"), Some(KEY), Default::default())).await;
    let b = TestServer::start(config(
        &dir.path().join("b"),
        Some(KEY_B),
        Default::default(),
    ))
    .await;
    let (base_a, base_b) = (a.url(""), b.url(""));
    let work_dir = dir.path().join("agent");
    let work = work_dir.to_str().expect("a UTF-8 temp path");
    let agent = AgentProcess::start(
        &[
            "--url", &base_a, "--token", KEY, "--url", &base_b, "--token", KEY_B,
        ],
        &work_dir,
    );
    let yaml = "gpus: 1\ncommand: [\"sh\", \"-c\", \"echo waiting; i=0; \
        while [ ! -e $TRAINYARD_RUN_DIR/go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; \
        echo done\"]\n";
    let running = submit_to(&base_b, KEY_B, yaml).await.jobs[0].id;
    let slug = format!("127.0.0.1_{}", b.addr.port());
    let run_dir = running_dir(&work_dir.join(format!("servers/{slug}/runs")), running).await;

    let drain = tokio::spawn(agent_cli_owned(vec![
        "--stop".into(),
        "--drain".into(),
        "--work-dir".into(),
        work.to_string(),
    ]));
    until("--status to say the agent drains", || async {
        let out = agent_cli(&["--status", "--json", "--work-dir", work]).await;
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (status["draining"] == true).then_some(())
    })
    .await;
    // A GPU is free, but the draining agent offers it to neither server.
    let queued = submit_to(&base_a, KEY, "gpus: 1\ncommand: [\"echo\", \"a\"]\n")
        .await
        .jobs[0]
        .id;
    std::fs::write(run_dir.join("go"), "").expect("the go file");
    let drained = drain.await.expect("the drain command's task");
    let said = String::from_utf8_lossy(&drained.stdout);
    assert!(drained.status.success(), "{said}\n{}", agent.log());
    let done = all_ended(&base_b, KEY_B, &[running]).await;
    assert_eq!(
        done[0].job.status,
        JobStatus::Succeeded,
        "reported before the exit"
    );
    let waiting: JobDetail = get_with(&base_a, KEY, &paths::job(queued)).await;
    assert_eq!(
        waiting.job.status,
        JobStatus::Queued,
        "no new work was taken"
    );
}

/// `trainyard-agent ARGS` as an owned future, for `tokio::spawn`.
async fn agent_cli_owned(args: Vec<String>) -> Output {
    tokio::process::Command::new(agent_binary())
        .args(args)
        .output()
        .await
        .expect("trainyard-agent runs")
}

/// The run dir in `runs` of the attempt of job `id` whose output says
/// "waiting".
async fn running_dir(runs: &Path, id: i64) -> PathBuf {
    until(
        &format!("job {id} to run in {}", runs.display()),
        || async {
            std::fs::read_dir(runs)
                .ok()?
                .filter_map(Result::ok)
                .find_map(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let log = std::fs::read_to_string(entry.path().join("output.log"))
                        .unwrap_or_default();
                    (name.starts_with(&format!("{id}-")) && log.contains("waiting"))
                        .then(|| entry.path())
                })
        },
    )
    .await
}

/// Whether `runs` holds a run dir of job `id` (of any attempt: after a
/// declined assignment the job runs as attempt 2).
fn has_run_dir(runs: &Path, id: i64) -> bool {
    std::fs::read_dir(runs)
        .map(|entries| {
            entries.filter_map(Result::ok).any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{id}-"))
            })
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn a_server_that_is_down_leaves_the_others_working_and_shows_in_the_status() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let a = TestServer::start(config(&dir.path().join("a"), Some(KEY), Default::default())).await;
    let base_a = a.url("");
    let work_dir = dir.path().join("agent");
    // Port 9 (discard) has no server: connections are refused.
    let servers = dir.path().join("servers.txt");
    std::fs::write(
        &servers,
        format!("# the lab\nhttp://127.0.0.1:9  token=unused\n{base_a}  token-env=LAB_A_TOKEN\n"),
    )
    .expect("the servers file");
    let agent = {
        let log = work_dir.with_extension("agent.log");
        let output = std::fs::File::create(&log).expect("the agent's own log");
        let child = Command::new(agent_binary())
            .args([
                "--host-id",
                "gpu-m",
                "--fake-gpus",
                "1",
                "--heartbeat-interval",
                "0.1",
            ])
            .arg("--work-dir")
            .arg(&work_dir)
            .arg("--servers-file")
            .arg(&servers)
            .env("LAB_A_TOKEN", KEY)
            .env_remove("TRAINYARD_TOKEN")
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("a second handle"))
            .stderr(output)
            .spawn()
            .expect("the agent starts");
        AgentProcess { child, log }
    };
    host_is_healthy(&base_a, KEY).await;
    let yaml = "gpus: 1\ncommand: [\"sh\", \"-c\", \"echo ran\"]\n";
    let id = submit_to(&base_a, KEY, yaml).await.jobs[0].id;
    let done = all_ended(&base_a, KEY, &[id]).await;
    assert_eq!(done[0].job.status, JobStatus::Succeeded, "{}", agent.log());

    let work = work_dir.to_str().expect("a UTF-8 temp path");
    let text = until("--status to show the dead server unreachable", || async {
        let out = agent_cli(&["--status", "--work-dir", work]).await;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (text.contains("server http://127.0.0.1:9: unreachable")
            && text.contains(&format!("server {base_a}: connected")))
        .then_some(text)
    })
    .await;
    assert!(text.contains("uptime"), "{text}");
    drop(agent);
}

#[tokio::test]
async fn bad_server_lists_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let work = dir.path().join("agent");
    let work = work.to_str().expect("a UTF-8 temp path");
    let missing = dir.path().join("missing.txt");
    let missing = missing.to_str().expect("a UTF-8 temp path");
    let duplicate = dir.path().join("twice.txt");
    std::fs::write(&duplicate, "http://127.0.0.1:9\nhttp://127.0.0.1:9/\n").expect("a file");
    let duplicate = duplicate.to_str().expect("a UTF-8 temp path");
    for (args, code, expected) in [
        (
            vec!["--token", "t", "--servers-file", duplicate],
            2,
            "--token must follow the --url it belongs to".to_string(),
        ),
        (
            vec!["--servers-file", missing],
            2,
            format!("cannot read the servers file {missing}"),
        ),
        (
            vec!["--servers-file", duplicate],
            2,
            format!("{duplicate}:2: http://127.0.0.1:9/ is already listed on line 1"),
        ),
        (
            vec![
                "--url",
                "http://127.0.0.1:9",
                "--url",
                "http://127.0.0.1:9/",
            ],
            1,
            "is listed twice".to_string(),
        ),
    ] {
        let mut all = vec!["--work-dir", work, "--no-gpus"];
        all.extend(&args);
        let out = agent_cli(&all).await;
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {said}");
        assert!(said.contains(&expected), "{args:?}: {expected:?} in {said}");
    }
}

/// Submit → process start on an idle GPU, in ms, over `rounds` jobs.
async fn start_latencies(base: &str, key: &str, rounds: usize) -> Vec<f64> {
    let mut latencies = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let submitted = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let yaml = "gpus: 1\ncommand: [\"date\", \"+%s%N\"]\n";
        let id = submit_to(base, key, yaml).await.jobs[0].id;
        all_ended(base, key, &[id]).await;
        let log: String = reqwest::Client::new()
            .get(format!("{base}{}", paths::job_log(id)))
            .bearer_auth(key)
            .send()
            .await
            .expect("the log")
            .text()
            .await
            .unwrap_or_default();
        let started: u128 = log
            .trim()
            .lines()
            .next()
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        latencies.push(started.saturating_sub(submitted) as f64 / 1e6);
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// The figure in docs/benchmarks.md ("One agent, several servers"): submit
/// → start with the agent working for one server, then for two (a job to
/// each in turn), same run. `cargo test -p trainyard-server --test it
/// dispatch_latency_with_two_servers -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "a measurement, not a check"]
async fn dispatch_latency_with_two_servers_against_one() {
    const ROUNDS: usize = 40;
    let dir = tempfile::tempdir().expect("a temp dir");
    let a = TestServer::start(config(&dir.path().join("a"), Some(KEY), Default::default())).await;
    let b = TestServer::start(config(
        &dir.path().join("b"),
        Some(KEY_B),
        Default::default(),
    ))
    .await;
    let (base_a, base_b) = (a.url(""), b.url(""));
    let p50 = |l: &[f64]| l.get(l.len() / 2).copied().unwrap_or(0.0);
    let p90 = |l: &[f64]| l.get(l.len() * 9 / 10).copied().unwrap_or(0.0);

    let one = AgentProcess::start(&["--url", &base_a, "--token", KEY], &dir.path().join("one"));
    host_is_healthy(&base_a, KEY).await;
    let alone = start_latencies(&base_a, KEY, ROUNDS).await;
    drop(one);

    let both = [
        "--url", &base_a, "--token", KEY, "--url", &base_b, "--token", KEY_B,
    ];
    let two = AgentProcess::start(&both, &dir.path().join("two"));
    host_is_healthy(&base_b, KEY_B).await;
    let mut first = Vec::new();
    let mut second = Vec::new();
    for _ in 0..ROUNDS / 10 {
        first.extend(start_latencies(&base_a, KEY, 10).await);
        second.extend(start_latencies(&base_b, KEY_B, 10).await);
    }
    first.sort_by(f64::total_cmp);
    second.sort_by(f64::total_cmp);
    drop(two);
    for (what, l) in [
        ("one server", &alone),
        ("two servers, first", &first),
        ("two servers, second", &second),
    ] {
        eprintln!("{what:<22} p50 {:>7.1} ms  p90 {:>7.1} ms", p50(l), p90(l));
    }
}
