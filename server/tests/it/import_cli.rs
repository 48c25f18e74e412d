//! `trainyard import tensorboard DIR` (the library function behind it)
//! against a real server: tensorboardX fixtures become runs with their
//! scalars, a second import adds nothing, bad input is refused clearly.

use std::path::PathBuf;

use trainyard_core::metrics::MetricSummary;
use trainyard_core::JobView;
use trainyard_server::import_cli::{run, ImportArgs, ImportWhat, TensorBoardArgs};

use crate::harness::{config, TestServer, KEY};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/fixtures/tensorboard")
}

fn args(server: &TestServer, dir: PathBuf, project: Option<&str>, key: Option<&str>) -> ImportArgs {
    ImportArgs {
        what: ImportWhat::Tensorboard(TensorBoardArgs {
            dir,
            project: project.map(str::to_string),
            server: trainyard_server::remote::ServerArgs {
                url: server.url(""),
                api_key: key.map(str::to_string),
            },
        }),
    }
}

#[tokio::test]
async fn import_tensorboard_makes_runs_with_their_scalars_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let logs = fixtures().join("logs/cifar");
    run(args(&server, logs.clone(), Some("tb"), Some(KEY)))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let jobs: Vec<JobView> = server.get_json("/api/v1/jobs").await;
    let mut names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "multi",
            "multi/loss/train",
            "multi/loss/val",
            "nonscalar",
            "restarted",
            "scalars",
            "tf2style"
        ]
    );
    let scalars = jobs.iter().find(|j| j.name == "scalars").expect("a run");
    assert_eq!(scalars.project, "tb");
    let keys: Vec<MetricSummary> = server
        .get_json(&format!("/api/v1/runs/{}/metrics", scalars.id))
        .await;
    let counts: Vec<(&str, u64)> = keys.iter().map(|k| (k.key.as_str(), k.count)).collect();
    assert_eq!(
        counts,
        [("lr", 300), ("train/loss", 300), ("val/accuracy", 300)]
    );

    // Again: the same runs, no new points.
    run(args(&server, logs, Some("tb"), Some(KEY)))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let again: Vec<JobView> = server.get_json("/api/v1/jobs").await;
    assert_eq!(again.len(), 7);
    let keys: Vec<MetricSummary> = server
        .get_json(&format!("/api/v1/runs/{}/metrics", scalars.id))
        .await;
    assert!(keys.iter().all(|k| k.count == 300), "{keys:?}");
}

#[tokio::test]
async fn import_tensorboard_refuses_bad_input_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let error = |r: anyhow::Result<()>| r.err().map(|e| format!("{e:#}")).unwrap_or_default();
    let missing = error(run(args(&server, dir.path().join("nope"), None, Some(KEY))).await);
    assert!(
        missing.contains("400") && missing.contains("nope"),
        "{missing}"
    );
    let project = error(
        run(args(
            &server,
            fixtures().join("logs"),
            Some("a/b"),
            Some(KEY),
        ))
        .await,
    );
    assert!(
        project.contains("400") && project.contains("project"),
        "{project}"
    );
    let no_key = error(run(args(&server, fixtures().join("logs"), None, None)).await);
    assert!(no_key.contains("401"), "{no_key}");
    // Bad event files import with problems, not errors.
    run(args(
        &server,
        fixtures().join("logs-bad/broken"),
        None,
        Some(KEY),
    ))
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let jobs: Vec<JobView> = server.get_json("/api/v1/jobs").await;
    assert_eq!(jobs.len(), 5);
    assert!(jobs.iter().all(|j| j.project == "broken"));
}
