//! `trainyard submit` (the library function behind it) against a real
//! server and agent.

use std::time::Duration;

use trainyard_agent::{AgentSettings, GpuSource};
use trainyard_core::{JobStatus, JobView};
use trainyard_server::submit::{run, SubmitArgs};

use crate::harness::{config, TestServer, KEY};
use crate::killable::KillableAgent;

fn args(server: &TestServer, file: &std::path::Path, follow: bool) -> SubmitArgs {
    SubmitArgs {
        config: file.to_path_buf(),
        priority: None,
        gpus: None,
        host: None,
        min_gpu_memory_mb: None,
        follow,
        server: trainyard_server::remote::ServerArgs {
            url: server.url(""),
            api_key: Some(KEY.into()),
        },
    }
}

#[tokio::test]
async fn submit_follow_streams_a_single_job_and_reports_its_outcome() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let mut agent = AgentSettings::new(server.url(""), "cpu-box");
    agent.gpus = GpuSource::None;
    agent.token = Some(KEY.into());
    agent.work_dir = dir.path().join("agent");
    agent.heartbeat_interval = Duration::from_millis(100);
    agent.supervisor = Some(env!("CARGO_BIN_EXE_trainyard").into());
    let agent = KillableAgent::start(agent);

    let ok = dir.path().join("ok.yaml");
    std::fs::write(
        &ok,
        "gpus: 0\ncommand: [\"sh\", \"-c\", \"echo hello from the job\"]\n",
    )
    .expect("the file is written");
    assert!(run(args(&server, &ok, true))
        .await
        .unwrap_or_else(|e| panic!("{e:#}")));

    let failing = dir.path().join("fail.yaml");
    std::fs::write(&failing, "gpus: 0\ncommand: [\"sh\", \"-c\", \"exit 4\"]\n")
        .expect("the file is written");
    assert!(
        !run(args(&server, &failing, true))
            .await
            .unwrap_or_else(|e| panic!("{e:#}")),
        "a failed job is a failed command"
    );

    let jobs: Vec<JobView> = server.get_json("/api/v1/jobs").await;
    let statuses: Vec<_> = jobs.iter().map(|j| (j.status, j.exit_code)).collect();
    assert_eq!(
        statuses,
        [
            (JobStatus::Failed, Some(4)),
            (JobStatus::Succeeded, Some(0))
        ]
    );
    agent.kill();
}

#[tokio::test]
async fn submit_refuses_bad_files_before_sending_anything() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "command: x\nlr: [0.1, 0.2\n").expect("the file is written");
    let err = run(args(&server, &bad, false))
        .await
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(err.contains("bad.yaml") && err.contains("line"), "{err}");

    let sweep = dir.path().join("sweep.yaml");
    std::fs::write(&sweep, "command: x\nlr: [0.1, 0.2]\n").expect("the file is written");
    let err = run(args(&server, &sweep, true))
        .await
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(err.contains("2 runs"), "{err}");

    let missing = run(args(&server, &dir.path().join("nope.yaml"), false))
        .await
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
    assert!(missing.contains("nope.yaml"), "{missing}");

    let jobs: Vec<JobView> = server.get_json("/api/v1/jobs").await;
    assert!(jobs.is_empty(), "nothing was queued");
}
