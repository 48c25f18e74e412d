//! Bad heartbeats get a clear error and leave stored hosts untouched.

use reqwest::StatusCode;
use serde_json::json;
use trainyard_core::{ApiErrorBody, PROTOCOL_VERSION};

use crate::harness::{config, eventually, start_agent, TestServer, KEY};

async fn post_raw(
    server: &TestServer,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, ApiErrorBody) {
    let answer = server
        .client
        .post(server.url("/api/v1/agents/heartbeat"))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the request is sent");
    let status = answer.status();
    let body: ApiErrorBody = answer
        .json()
        .await
        .unwrap_or_else(|e| panic!("error answers are JSON: {e}"));
    (status, body)
}

#[tokio::test]
async fn malformed_oversized_and_foreign_heartbeats_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let (_stop, _agent) = start_agent(&server, "gpu-01", 2, Some(KEY));
    eventually("host registered", || async {
        server.hosts().await.len() == 1
    })
    .await;
    let before: Vec<_> = server
        .hosts()
        .await
        .into_iter()
        .map(|h| (h.host_id, h.first_seen_ms, h.gpus.len()))
        .collect();

    let (status, body) = post_raw(&server, "{not json").await;
    assert_eq!(status, 400);
    assert!(body.message.contains("line 1 column"), "{}", body.message);

    // Bytes that are not UTF-8 (a Latin-1 hostname) are refused as such.
    let (status, body) = post_raw(
        &server,
        b"{\"protocol_version\":1,\"host_id\":\"gpu-01\",\"hostname\":\"caf\xe9\"}".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_heartbeat")
    );
    assert!(body.message.contains("not UTF-8"), "{}", body.message);

    let (status, body) = post_raw(
        &server,
        json!({"protocol_version": PROTOCOL_VERSION}).to_string(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.message.contains("host_id"),
        "missing field is named: {}",
        body.message
    );

    let (status, body) = post_raw(&server, vec![b' '; 300 * 1024]).await;
    assert_eq!(status, 413);
    assert!(body.message.contains("larger than"), "{}", body.message);

    let (status, body) = post_raw(
        &server,
        json!({"protocol_version": 99, "host_id": "x"}).to_string(),
    )
    .await;
    assert_eq!(status, 426);
    assert_eq!(body.code, "protocol_mismatch");
    assert!(
        body.message.contains("99") && body.message.contains("accepts 1"),
        "{}",
        body.message
    );

    // A future agent whose heartbeat has another shape still gets the version error.
    let (status, body) = post_raw(
        &server,
        json!({"protocol_version": 7, "host": {"id": 1}}).to_string(),
    )
    .await;
    assert_eq!(
        (status, body.code.as_str()),
        (StatusCode::UPGRADE_REQUIRED, "protocol_mismatch")
    );

    let bad_gpu = json!({
        "protocol_version": PROTOCOL_VERSION, "host_id": "gpu-01",
        "gpus": [{"index": 0, "utilization_percent": 250.0}]
    });
    let (status, body) = post_raw(&server, bad_gpu.to_string()).await;
    assert_eq!(status, 400);
    assert!(
        body.message.contains("gpus[0].utilization_percent"),
        "{}",
        body.message
    );

    for bad_id in ["../../etc", "a/b", "", "x y"] {
        let (status, body) = post_raw(
            &server,
            json!({"protocol_version": PROTOCOL_VERSION, "host_id": bad_id}).to_string(),
        )
        .await;
        assert_eq!(status, 400, "{bad_id:?}");
        assert!(body.message.contains("host_id"), "{}", body.message);
    }

    let after: Vec<_> = server
        .hosts()
        .await
        .into_iter()
        .map(|h| (h.host_id, h.first_seen_ms, h.gpus.len()))
        .collect();
    assert_eq!(before, after, "stored hosts are untouched by bad input");
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn removing_an_unknown_or_odd_host_id_is_a_clean_404() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    for id in ["nope", "..", "%2e%2e%2fetc"] {
        let answer = server.delete(&format!("/api/v1/hosts/{id}")).await;
        assert_eq!(answer.status(), 404, "{id}");
    }
    server.stop().await.expect("the server stops");
}
