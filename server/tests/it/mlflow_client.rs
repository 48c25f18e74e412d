//! The real `mlflow` client (mlflow-skinny, from the project's .venv)
//! against a real server: a training script through the MLflow API, a
//! job queued on Trainyard logging into its own run, and bad input over raw
//! HTTP answered in MLflow's error shape.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use trainyard_core::protocol::paths;
use trainyard_core::sync::FileEntry;
use trainyard_core::{JobDetail, JobStatus, MetricSummary};

use crate::harness::{config, get_json, TestServer, KEY};
use crate::jobs_support::{log_of, server_with_agent, submit, wait_status};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the server crate is in the repository")
        .to_path_buf()
}

/// The project's Python, with mlflow-skinny (scripts/python-env.sh).
fn python() -> PathBuf {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/python-env.sh (the README's test command does)",
        python.display()
    );
    python
}

pub(crate) fn script(name: &str) -> PathBuf {
    repo_root().join("server/tests/python").join(name)
}

pub(crate) async fn run_python(args: Vec<String>) -> String {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .args(&args)
            .output()
            .expect("python runs")
    })
    .await
    .expect("the python task ends");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the MLflow script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Runs `server/tests/python/<name>` against `server` (its URL, the key and
/// a scratch dir as arguments) and reads the JSON object it prints last.
pub(crate) async fn run_client_script(server: &TestServer, scratch: &Path, name: &str) -> Value {
    let stdout = run_python(vec![
        script(name).display().to_string(),
        server.url(""),
        KEY.to_string(),
        scratch.display().to_string(),
    ])
    .await;
    serde_json::from_str(stdout.lines().last().unwrap_or("")).expect("the script's JSON line")
}

#[tokio::test]
async fn the_real_mlflow_client_logs_searches_and_downloads() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(
        &dir.path().join("data"),
        Some(KEY),
        Default::default(),
    ))
    .await;
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let ids = run_client_script(&server, &scratch, "mlflow_training.py").await;
    let run: i64 = ids["run_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a run id");

    // The MLflow run is a Trainyard run like any other.
    let detail: JobDetail = server.get_json(&paths::job(run)).await;
    assert_eq!(detail.job.project, "mlflow-demo");
    assert_eq!(detail.job.name, "resnet-lr0.01");
    assert_eq!(detail.job.status, JobStatus::Succeeded);
    assert!(detail.job.started_ms.is_some() && detail.job.finished_ms.is_some());
    assert_eq!(
        detail.job.reason.as_deref(),
        Some(trainyard_core::runs::MLFLOW_RUN_REASON)
    );
    assert!(detail
        .job
        .params
        .contains(&("lr".to_string(), "0.01".to_string())));
    let metrics: Vec<MetricSummary> = server
        .get_json(&format!("/api/v1/runs/{run}/metrics"))
        .await;
    let loss = metrics
        .iter()
        .find(|m| m.key == "loss")
        .expect("a loss series");
    assert_eq!(loss.count, 1000);
    assert_eq!(loss.last_step, 999.0);
    let weird = metrics
        .iter()
        .find(|m| m.key == "weird")
        .expect("the non-finite series");
    assert_eq!(weird.count, 3, "NaN is kept as a point");
    assert_eq!(weird.last, 2.0);
    let files: Vec<FileEntry> = server.get_json(&format!("/api/v1/runs/{run}/files")).await;
    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for want in [
        "artifacts/notes.txt",
        "artifacts/extra/notes.txt",
        "artifacts/texts/hello.txt",
        "artifacts/config/model.json",
        "artifacts/tree/a.bin",
        "artifacts/tree/sub/b.txt",
    ] {
        assert!(
            names.contains(&want),
            "{want} in the run's files: {names:?}"
        );
    }
    let running: i64 = ids["running_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an id");
    let detail: JobDetail = server.get_json(&paths::job(running)).await;
    assert_eq!(detail.job.status, JobStatus::Running);
    server.stop().await.expect("a clean stop");
}

/// POSTs `body` (raw) to an MLflow path with the key.
async fn post_raw(server: &TestServer, path: &str, body: &str) -> (u16, Value) {
    let answer = server
        .client
        .post(server.url(path))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the request is sent");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn bad_input_gets_mlflow_errors_and_stored_data_stays_intact() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let data = dir.path().join("data");
    let server = TestServer::start(config(&data, Some(KEY), Default::default())).await;
    let (status, created) = post_raw(
        &server,
        "/api/2.0/mlflow/runs/create",
        r#"{"experiment_id":"0","run_name":"r","start_time":1,"tags":[]}"#,
    )
    .await;
    assert_eq!(status, 200, "{created}");
    let run = created["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    assert_eq!(created["run"]["info"]["run_uuid"], json!(run));
    assert_eq!(
        created["run"]["info"]["artifact_uri"],
        json!(format!("mlflow-artifacts:/0/{run}/artifacts"))
    );
    let ok = format!(
        r#"{{"run_id":"{run}","metrics":[{{"key":"m","value":"NaN","timestamp":"5","step":1}}],"params":[{{"key":"lr","value":"0.1"}}]}}"#
    );
    assert_eq!(
        post_raw(&server, "/api/2.0/mlflow/runs/log-batch", &ok)
            .await
            .0,
        200
    );

    for (path, body, status, code) in [
        (
            "/api/2.0/mlflow/runs/log-batch",
            "{not json",
            400,
            "BAD_REQUEST",
        ),
        (
            "/api/2.0/mlflow/runs/log-batch",
            "[1,2]",
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "/api/2.0/mlflow/runs/log-batch",
            r#"{"run_id":"424242","params":[{"key":"a","value":"b"}]}"#,
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "/api/2.0/mlflow/runs/log-batch",
            &format!(r#"{{"run_id":"{run}","params":[{{"key":"lr","value":"0.2"}}]}}"#),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "/api/2.0/mlflow/runs/log-batch",
            &format!(
                r#"{{"run_id":"{run}","params":[{{"key":"x","value":"1"}},{{"key":"x","value":"1"}}]}}"#
            ),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "/api/2.0/mlflow/runs/log-metric",
            &format!(r#"{{"run_id":"{run}","key":"m","value":1.0,"step":0}}"#),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "/api/2.0/mlflow/runs/log-metric",
            &format!(r#"{{"run_id":"{run}","key":"m","value":"lots","timestamp":1}}"#),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "/api/2.0/mlflow/runs/log-metric",
            &format!(r#"{{"run_id":"{run}","key":"../etc","value":1,"timestamp":1}}"#),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "/api/2.0/mlflow/runs/log-metric",
            r#"{"run_id":"424242","key":"m","value":1,"timestamp":1}"#,
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "/api/2.0/mlflow/runs/create",
            r#"{"experiment_id":"77"}"#,
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "/api/2.0/mlflow/experiments/create",
            r#"{"name":"a/b"}"#,
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "/api/2.0/mlflow/runs/search",
            r#"{"experiment_ids":["0"],"filter":"metrics.m >"}"#,
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "/api/2.0/mlflow/runs/search",
            r#"{"experiment_ids":["0"],"max_results":50001}"#,
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "/api/2.0/mlflow/runs/no-such-route",
            "{}",
            404,
            "ENDPOINT_NOT_FOUND",
        ),
    ] {
        let (got, body) = post_raw(&server, path, body).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error_code"], json!(code), "{path}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    }
    // 1,001 metrics in one batch.
    let metrics: Vec<Value> = (0..1001)
        .map(|i| json!({"key": "m", "value": 1.0, "timestamp": 1, "step": i}))
        .collect();
    let (got, body) = post_raw(
        &server,
        "/api/2.0/mlflow/runs/log-batch",
        &json!({"run_id": run, "metrics": metrics}).to_string(),
    )
    .await;
    assert_eq!(
        (got, body["error_code"].clone()),
        (400, json!("INVALID_PARAMETER_VALUE")),
        "{body}"
    );

    // Artifact paths that climb out are refused and nothing is written.
    for path in [
        format!("/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/../../escape.txt"),
        format!("/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/a/%2E%2E/%2E%2E/escape.txt"),
        format!("/api/2.0/mlflow-artifacts/artifacts/0/{run}/elsewhere/x.txt"),
    ] {
        let answer = server
            .client
            .put(server.url(&path))
            .bearer_auth(KEY)
            .body("evil")
            .send()
            .await
            .expect("sent");
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        assert!(status == 400 || status == 404, "{path}: {status} {body}");
        assert!(body["error_code"].is_string(), "{path}: {body}");
    }
    let escaped: Vec<_> = walk(dir.path())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "escape.txt"))
        .collect();
    assert!(escaped.is_empty(), "nothing written: {escaped:?}");

    // No key: MLflow's 401.
    let answer = server
        .client
        .get(server.url("/api/2.0/mlflow/experiments/get?experiment_id=0"))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status().as_u16(), 401);
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["error_code"], json!("UNAUTHENTICATED"));

    // What was stored before the bad requests is intact.
    let (_, got) = post_raw(
        &server,
        "/api/2.0/mlflow/runs/search",
        r#"{"experiment_ids":["0"]}"#,
    )
    .await;
    let data = &got["runs"][0]["data"];
    assert_eq!(
        data["params"],
        json!([{"key": "lr", "value": "0.1"}]),
        "{got}"
    );
    let history: Value = server
        .client
        .get(server.url(&format!(
            "/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key=m"
        )))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        history["metrics"],
        json!([{"key": "m", "value": "NaN", "timestamp": 5, "step": 1}])
    );
    server.stop().await.expect("a clean stop");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                pending.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn a_job_queued_on_trainyard_logs_into_its_own_run() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, base, agent) = server_with_agent(dir.path(), 1).await;
    let yaml = format!(
        "project: mlflow-jobs\ncommand: [\"{}\", \"{}\"]\n",
        python().display(),
        script("mlflow_job.py").display()
    );
    let job = submit(&base, &yaml).await.jobs[0].id;
    wait_status(&base, job, JobStatus::Succeeded).await;
    let log = log_of(&base, job).await;
    assert!(log.contains(&format!("logged into run {job} ")), "{log}");
    let metrics: Vec<MetricSummary> = get_json(&base, &format!("/api/v1/runs/{job}/metrics")).await;
    let loss = metrics
        .iter()
        .find(|m| m.key == "mlflow_loss")
        .expect("the MLflow series");
    assert_eq!(loss.count, 20);
    let detail: JobDetail = get_json(&base, &paths::job(job)).await;
    assert!(detail
        .job
        .params
        .contains(&("seed".to_string(), "7".to_string())));
    let files: Vec<FileEntry> = get_json(&base, &format!("/api/v1/runs/{job}/files")).await;
    assert!(
        files.iter().any(|f| f.path == "artifacts/result.txt"),
        "{files:?}"
    );
    // One run, not two: the job's project holds exactly this job.
    let experiment: Value = reqwest::Client::new()
        .get(format!(
            "{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name=mlflow-jobs"
        ))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let id = experiment["experiment"]["experiment_id"]
        .as_str()
        .expect("an id")
        .to_string();
    let runs: Value = reqwest::Client::new()
        .post(format!("{base}/api/2.0/mlflow/runs/search"))
        .bearer_auth(KEY)
        .json(&json!({"experiment_ids": [id]}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    let listed = runs["runs"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(listed, 1, "{runs}");
    // VTM_RUN_META linked it to the run named there.
    let tags = &runs["runs"][0]["data"]["tags"];
    assert!(
        tags.as_array().is_some_and(
            |t| t.contains(&json!({"key": "vtm.mlflow_run_id", "value": "external-0042"}))
        ),
        "{tags}"
    );
    agent.kill();
    drop(server);
}
