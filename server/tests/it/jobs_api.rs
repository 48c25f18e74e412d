//! The jobs REST API with a plain HTTP client: submission, listing, control,
//! the CVLab-Kit compatibility call, and bad input.

use reqwest::StatusCode;
use serde_json::json;
use trainyard_core::{ApiErrorBody, JobDetail, JobStatus, JobView, SubmitResult};

use crate::harness::{config, TestServer, KEY};

const SWEEP: &str =
    "project: demo\ncommand: python3 train.py\ngpus: 0\nlr: [0.1, 0.01]\nbs: [32, 64]\n";

impl TestServer {
    pub async fn submit(&self, yaml: &str, query: &str) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/v1/experiments{query}")))
            .bearer_auth(KEY)
            .body(yaml.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("submit: {e}"))
    }

    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }
}

async fn error_of(response: reqwest::Response) -> (StatusCode, ApiErrorBody) {
    let status = response.status();
    (
        status,
        response
            .json()
            .await
            .unwrap_or_else(|e| panic!("error body: {e}")),
    )
}

#[tokio::test]
async fn a_yaml_sweep_submitted_over_http_lists_and_controls_its_jobs() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let answer = server.submit(SWEEP, "?priority=high").await;
    assert_eq!(answer.status(), StatusCode::CREATED);
    let created: SubmitResult = answer.json().await.expect("the answer is JSON");
    assert_eq!(created.jobs.len(), 4);

    let listed: Vec<JobView> = server
        .get_json(&format!(
            "/api/v1/jobs?sweep={}&status=queued",
            created.sweep_id
        ))
        .await;
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|j| j
        .waiting
        .as_deref()
        .is_some_and(|r| r.contains("no healthy host"))));

    let id = created.jobs[0].id;
    let detail: JobDetail = server.get_json(&format!("/api/v1/jobs/{id}")).await;
    assert!(detail.config_yaml.contains("lr:"));

    let lowered: JobView = server
        .client
        .post(server.url(&format!("/api/v1/jobs/{id}/priority")))
        .bearer_auth(KEY)
        .json(&json!({"priority": "low"}))
        .send()
        .await
        .expect("the request is sent")
        .json()
        .await
        .expect("the answer is JSON");
    assert_eq!(lowered.priority.label(), "low");

    let cancelled: JobView = server
        .post_empty(&format!("/api/v1/jobs/{id}/cancel"))
        .await
        .json()
        .await
        .expect("post empty");
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    let rerun = server.post_empty(&format!("/api/v1/jobs/{id}/rerun")).await;
    assert_eq!(rerun.status(), StatusCode::CREATED);
    let (status, body) = error_of(
        server
            .post_empty(&format!("/api/v1/jobs/{id}/cancel"))
            .await,
    )
    .await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::CONFLICT, "job_finished")
    );

    let log = server
        .client
        .get(server.url(&format!("/api/v1/jobs/{id}/log")))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(log.status(), StatusCode::OK);
    assert_eq!(log.text().await.unwrap_or_default(), "");
}

#[tokio::test]
async fn cvlab_kit_queue_add_still_works() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let body = json!({
        "config": "project: urgent_experiment\ncommand: python main.py --config {config}\nmodel: resnet18(num_classes=10)\noptimizer: adam(lr=0.001)\nloss: cross_entropy\n",
        "priority": "high",
        "device": "any",
    });
    let answer = server
        .client
        .post(server.url("/api/queue/add"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(answer.status(), StatusCode::OK);
    let value: serde_json::Value = answer.json().await.expect("the answer is JSON");
    assert_eq!(value["status"], "queued");
    assert_eq!(value["job_ids"].as_array().map(Vec::len), Some(1));
    assert_eq!(value["jobs"][0]["priority"], "high");
    let unauthenticated = server
        .client
        .post(server.url("/api/queue/add"))
        .json(&body)
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_submissions_and_ids_get_clear_errors_and_disturb_nothing() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    assert_eq!(server.submit(SWEEP, "").await.status(), StatusCode::CREATED);

    let (status, body) = error_of(
        server
            .submit("command: x\nlr: [0.1, 0.2\nbs: 3\n", "")
            .await,
    )
    .await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_config")
    );
    assert!(body.message.contains("line"), "{}", body.message);

    let (status, body) = error_of(server.submit("command: x\npriority: urgent\n", "").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.message.contains("line 2"), "{}", body.message);

    let huge = format!(
        "command: x\na: [{}]\nb: [{}]\n",
        (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(","),
        (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
    let (status, body) = error_of(server.submit(&huge, "").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.message.contains("1,600") || body.message.contains("1600"),
        "{}",
        body.message
    );

    let (status, body) = error_of(server.submit(SWEEP, "?priority=urgent").await).await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_query")
    );
    let (status, body) = error_of(server.submit(SWEEP, "?host=../../etc").await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", body.message);

    for (path, expected) in [
        ("/api/v1/jobs/abc", StatusCode::BAD_REQUEST),
        ("/api/v1/jobs/-1", StatusCode::BAD_REQUEST),
        ("/api/v1/jobs/999", StatusCode::NOT_FOUND),
        ("/api/v1/jobs?status=finished", StatusCode::BAD_REQUEST),
        ("/api/v1/jobs/999/log", StatusCode::NOT_FOUND),
        ("/api/v1/jobs/1/log?attempt=5", StatusCode::BAD_REQUEST),
    ] {
        let answer = server
            .client
            .get(server.url(path))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("the request is sent");
        assert_eq!(answer.status(), expected, "{path}");
    }
    let log_put = server
        .client
        .put(server.url("/api/v1/agents/jobs/1/attempts/1/log"))
        .bearer_auth(KEY)
        .body("x")
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(
        log_put.status(),
        StatusCode::BAD_REQUEST,
        "offset is required"
    );

    let all: Vec<JobView> = server.get_json("/api/v1/jobs").await;
    assert_eq!(all.len(), 4, "only the good sweep was stored");
    assert!(all.iter().all(|j| j.status == JobStatus::Queued));
}

#[tokio::test]
async fn bad_control_and_agent_requests_are_refused_by_what_is_wrong() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let created: SubmitResult = server
        .submit(SWEEP, "")
        .await
        .json()
        .await
        .expect("the config is accepted");
    let id = created.jobs[0].id;
    let post_json = |path: String, body: serde_json::Value| {
        let request = server
            .client
            .post(server.url(&path))
            .bearer_auth(KEY)
            .json(&body);
        async move { error_of(request.send().await.expect("the request is sent")).await }
    };

    let (status, body) = post_json(
        format!("/api/v1/jobs/{id}/priority"),
        json!({"priority": "urgent"}),
    )
    .await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_body")
    );
    assert!(body.message.contains("urgent"), "{}", body.message);
    let (status, body) =
        error_of(server.post_empty(&format!("/api/v1/jobs/{id}/rerun")).await).await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::CONFLICT, "job_not_finished")
    );

    let poll = |host: &str, version: u32| {
        json!({"protocol_version": version, "host_id": host, "free_gpus": [0],
               "free_cpu_slots": 1, "free_job_slots": 1})
    };
    let (status, body) = post_json("/api/v1/agents/poll".into(), poll("../evil", 1)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", body.message);
    assert!(body.message.contains("host_id"), "{}", body.message);
    let (status, _) = post_json("/api/v1/agents/poll".into(), poll("gpu-a", 999)).await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
    let (status, body) = post_json("/api/v1/agents/poll".into(), json!({"host_id": "gpu-a"})).await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_body")
    );

    let finished = json!({"outcome": "succeeded", "duration_ms": 1});
    let (status, body) = post_json(
        format!("/api/v1/agents/jobs/{id}/attempts/0/finished"),
        finished.clone(),
    )
    .await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_attempt")
    );
    let (status, body) = post_json(
        format!("/api/v1/agents/jobs/{id}/attempts/1/finished"),
        finished,
    )
    .await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::CONFLICT, "superseded"),
        "a queued job has no attempt 1 to report"
    );

    let all: Vec<JobView> = server.get_json("/api/v1/jobs").await;
    assert!(
        all.iter().all(|j| j.status == JobStatus::Queued),
        "nothing changed"
    );
}
