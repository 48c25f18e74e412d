//! Jobs run by the real agent library against the real server: output,
//! environment, cancel of a process tree, a killed agent, a killed server.

use std::time::Duration;

use trainyard_core::{JobStatus, JobView};
use trainyard_engine::JobSettings;

use crate::harness::{config, eventually, until, TestServer, KEY};
use crate::jobs_support::{
    agent_config, killable_server_with_agent, log_of, server_with_agent, submit, wait_status,
};
use crate::killable::{KillableAgent, KillableServer};

fn pid_alive(pid: i32) -> bool {
    // A zombie is dead for our purposes; it only waits for its parent.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[tokio::test]
async fn a_job_runs_with_its_gpu_and_config_and_its_output_arrives() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, agent) = server_with_agent(dir.path(), 2).await;
    let yaml = "project: t\ngpus: 1\nlr: 0.5\ncommand: [\"sh\", \"-c\", \"echo gpu=$CUDA_VISIBLE_DEVICES run=$TRAINYARD_RUN_ID; cat $TRAINYARD_CONFIG\"]\n";
    let job = submit(&base, yaml).await.jobs[0].id;
    let done = wait_status(&base, job, JobStatus::Succeeded).await;
    assert_eq!(done.job.exit_code, Some(0));
    assert_eq!(done.job.host_id.as_deref(), Some("gpu-a"));
    let log = log_of(&base, job).await;
    assert!(log.contains(&format!("gpu=0 run={job}")), "{log}");
    assert!(
        log.contains("lr: 0.5"),
        "the resolved config was handed over: {log}"
    );

    // A command that does not exist fails with the OS error in its log.
    let missing = submit(&base, "gpus: 1\ncommand: definitely-not-a-command-xyz\n")
        .await
        .jobs[0]
        .id;
    wait_status(&base, missing, JobStatus::Failed).await;
    let log = log_of(&base, missing).await;
    assert!(log.contains("No such file or directory"), "{log}");
    agent.kill();
}

#[tokio::test]
async fn a_multi_gpu_job_gets_its_gpus_in_one_visible_devices_list_and_a_missing_torchrun_fails_it()
{
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, agent) = server_with_agent(dir.path(), 4).await;
    // The tutorial's form, pinned to the host: exactly GPUs 1 and 3.
    let yaml = "host: gpu-a\ndevice: [1, 3]\ncommand: [\"sh\", \"-c\", \"echo gpus=$CUDA_VISIBLE_DEVICES n=$TRAINYARD_GPUS\"]\n";
    let job = submit(&base, yaml).await.jobs[0].id;
    let done = wait_status(&base, job, JobStatus::Succeeded).await;
    assert_eq!(done.job.gpu_indices, [1, 3]);
    let log = log_of(&base, job).await;
    assert!(log.contains("gpus=1,3 n=2"), "{log}");

    // `launcher: torchrun` on a host without torchrun: the job fails and
    // its log names the program that could not start.
    let torchrun = submit(
        &base,
        "gpus: 2\nlauncher: torchrun\ncommand: python3 ddp.py\n",
    )
    .await
    .jobs[0]
        .clone();
    assert_eq!(
        torchrun.command[..3],
        ["torchrun", "--standalone", "--nproc_per_node=2"]
    );
    wait_status(&base, torchrun.id, JobStatus::Failed).await;
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("torchrun").is_file()));
    let log = log_of(&base, torchrun.id).await;
    if on_path {
        eprintln!("torchrun is installed here: its own failure is in the log instead:\n{log}");
    } else {
        assert!(
            log.contains("\"torchrun\"") && log.contains("No such file or directory"),
            "{log}"
        );
    }
    agent.kill();
}

#[tokio::test]
async fn cancel_reaches_the_remote_process_tree() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, agent) = server_with_agent(dir.path(), 1).await;
    let yaml = "gpus: 1\ncommand: [\"sh\", \"-c\", \"sleep 300 & echo child=$!; wait\"]\n";
    let job = submit(&base, yaml).await.jobs[0].id;
    let base_ref = &base;
    let child: i32 = until("the grandchild started", || async move {
        let log = log_of(base_ref, job).await;
        log.split("child=")
            .nth(1)
            .and_then(|s| s.trim().parse().ok())
    })
    .await;
    assert!(pid_alive(child));
    let _: JobView = reqwest::Client::new()
        .post(format!("{base}/api/v1/jobs/{job}/cancel"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request is sent")
        .json()
        .await
        .expect("the answer is JSON");
    wait_status(&base, job, JobStatus::Cancelled).await;
    eventually("the grandchild is gone", || async { !pid_alive(child) }).await;
    agent.kill();
}

#[tokio::test]
async fn a_killed_agent_loses_its_job_which_is_requeued_on_another_agent() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut cfg = config(dir.path(), Some(KEY), Default::default());
    cfg.jobs = JobSettings {
        lease: Duration::from_millis(1500),
        ..Default::default()
    };
    let server = TestServer::start(cfg).await;
    let base = server.url("");
    let a = KillableAgent::start(agent_config(
        base.clone(),
        "host-a",
        1,
        &dir.path().join("a"),
    ));
    let yaml = "gpus: 1\nretries: 1\ncommand: [\"sh\", \"-c\", \"echo attempt $TRAINYARD_ATTEMPT; sleep 1; echo finished\"]\n";
    let job = submit(&base, yaml).await.jobs[0].id;
    wait_status(&base, job, JobStatus::Running).await;
    a.kill();
    // Only now does a second host exist, so the retry must run there.
    let b = KillableAgent::start(agent_config(
        base.clone(),
        "host-b",
        1,
        &dir.path().join("b"),
    ));
    let done = wait_status(&base, job, JobStatus::Succeeded).await;
    let attempts: Vec<_> = done
        .attempts
        .iter()
        .map(|a| (a.attempt, a.host_id.as_str(), a.status))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, "host-a", JobStatus::Lost),
            (2, "host-b", JobStatus::Succeeded)
        ]
    );
    let log = log_of(&base, job).await;
    assert!(
        log.contains("attempt 2") && log.contains("finished"),
        "{log}"
    );
    b.kill();
}

#[tokio::test]
async fn a_server_killed_mid_job_loses_nothing_and_hears_what_finished_meanwhile() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (cfg, server, base, agent) = killable_server_with_agent(dir.path()).await;
    let yaml = "gpus: 1\nk: [1, 2]\ncommand: [\"sh\", \"-c\", \"echo one; sleep 3; echo two\"]\n";
    let jobs = submit(&base, yaml).await.jobs;
    let (first, second) = (jobs[0].id, jobs[1].id);
    wait_status(&base, first, JobStatus::Running).await;
    eventually("first line shipped", || async {
        log_of(&base, first).await.contains("one")
    })
    .await;

    server.kill();
    // The job ends while the server is down: the agent keeps it running and
    // keeps its outcome for later.
    let local_log = dir.path().join(format!("agent/runs/{first}-1/output.log"));
    until("the job finished on the agent", || {
        let local_log = local_log.clone();
        async move {
            std::fs::read_to_string(&local_log)
                .ok()
                .filter(|log| log.contains("two"))
        }
    })
    .await;
    let server = KillableServer::start(cfg).await;

    let done = wait_status(&base, first, JobStatus::Succeeded).await;
    assert_eq!(done.attempts.len(), 1, "never run twice");
    assert_eq!(log_of(&base, first).await, "one\ntwo\n", "every byte once");
    wait_status(&base, second, JobStatus::Succeeded).await;
    agent.kill();
    server.kill();
}
