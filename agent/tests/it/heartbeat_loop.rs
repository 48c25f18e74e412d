//! End-to-end: the real heartbeat loop against a fake server on 127.0.0.1.

use std::time::Duration;

use axum::http::StatusCode;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use trainyard_agent::{AgentError, AgentSettings, BackoffPolicy, GpuSource};
use trainyard_core::protocol::codes::{INVALID_HEARTBEAT, PROTOCOL_MISMATCH, UNAUTHORIZED};
use trainyard_core::PROTOCOL_VERSION;

use crate::support::{start, Answer, BrokenServer, FakeServer, DEADLINE, FAST_BACKOFF};

const INTERVAL: Duration = Duration::from_millis(50);

fn config(url: &str) -> AgentSettings {
    let mut config = AgentSettings::new(url, "test-gpu-01");
    config.heartbeat_interval = INTERVAL;
    config.gpus = GpuSource::Fake(2);
    config.backoff = FAST_BACKOFF;
    config
}

/// Waits for `run` to return on its own (a fatal error).
async fn finished(task: JoinHandle<Result<(), AgentError>>) -> Result<(), AgentError> {
    match timeout(DEADLINE, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => panic!("the agent task panicked: {e}"),
        Err(_) => panic!("run() did not return"),
    }
}

#[tokio::test]
async fn posts_valid_heartbeats_with_the_token_at_the_interval() {
    let server = FakeServer::start(Answer::Accept).await;
    let mut config = config(&format!("{}/", server.url));
    config.token = Some("s3cret".into());
    let agent = start(config);

    let received = server.wait_for(6).await;
    agent.shut_down_promptly().await;

    for request in &received {
        assert_eq!(request.authorization.as_deref(), Some("Bearer s3cret"));
        let heartbeat = request
            .heartbeat
            .as_ref()
            .expect("the heartbeat is valid JSON");
        assert_eq!(heartbeat.validate(), Ok(()));
        assert_eq!(heartbeat.protocol_version, PROTOCOL_VERSION);
        assert_eq!(heartbeat.host_id, "test-gpu-01");
        assert_eq!(heartbeat.gpus.len(), 2);
    }
    // Paced by the interval, not sent back to back (20% slack for timer jitter).
    let span = received[5].at - received[0].at;
    assert!(span >= INTERVAL * 5 * 4 / 5, "6 heartbeats within {span:?}");
}

#[tokio::test]
async fn no_token_means_no_authorization_header() {
    let server = FakeServer::start(Answer::Accept).await;
    let agent = start(config(&server.url));
    let received = server.wait_for(1).await;
    agent.shut_down_promptly().await;
    assert_eq!(received[0].authorization, None);
}

#[tokio::test]
async fn a_protocol_mismatch_stops_the_agent_with_the_server_message() {
    let server = FakeServer::start(Answer::Error {
        status: StatusCode::UPGRADE_REQUIRED,
        code: PROTOCOL_MISMATCH,
        message: "this server speaks protocol 2",
    })
    .await;
    let agent = start(config(&server.url));
    let result = finished(agent.task).await;
    assert_eq!(
        result,
        Err(AgentError::ProtocolMismatch {
            server_message: "this server speaks protocol 2".into()
        })
    );
    assert_eq!(
        server.received().len(),
        1,
        "a fatal answer must not be retried"
    );
}

#[tokio::test]
async fn a_refused_token_stops_the_agent_and_says_how_to_pass_one() {
    let server = FakeServer::start(Answer::Error {
        status: StatusCode::UNAUTHORIZED,
        code: UNAUTHORIZED,
        message: "missing or wrong bearer token",
    })
    .await;
    let agent = start(config(&server.url));
    match finished(agent.task).await {
        Err(AgentError::Unauthorized(message)) => {
            assert!(
                message.contains("--token") && message.contains("TRAINYARD_TOKEN"),
                "{message}"
            );
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[tokio::test]
async fn after_an_outage_the_agent_reconnects_and_keeps_posting() {
    let broken = BrokenServer::start().await;
    let agent = start(config(&broken.url));
    // Several failed attempts: the agent is backing off, not giving up.
    broken.wait_for_attempts(3).await;

    let server = FakeServer::serve(broken.recover().await, Answer::Accept);
    let received = server.wait_for(4).await;
    assert!(received.iter().all(|r| r.heartbeat.is_ok()));
    assert!(!agent.task.is_finished());
    agent.shut_down_promptly().await;
}

#[tokio::test]
async fn server_errors_are_retried_until_accepted() {
    let server = FakeServer::start(Answer::Accept).await;
    let unavailable = Answer::Error {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "busy",
        message: "restarting",
    };
    server.queue(vec![unavailable; 3]);
    let agent = start(config(&server.url));
    // Three 503s, then accepted heartbeats keep coming at the interval.
    server.wait_for(6).await;
    agent.shut_down_promptly().await;
}

#[tokio::test]
async fn rejected_heartbeats_are_logged_and_the_agent_keeps_going() {
    let server = FakeServer::start(Answer::Error {
        status: StatusCode::BAD_REQUEST,
        code: INVALID_HEARTBEAT,
        message: "gpus[0].index duplicated",
    })
    .await;
    let agent = start(config(&server.url));
    let received = server.wait_for(3).await;
    assert!(!agent.task.is_finished(), "a 400 must not stop the agent");
    // Normal interval, not the (much shorter) test backoff.
    let span = received[2].at - received[0].at;
    assert!(
        span >= INTERVAL * 2 * 4 / 5,
        "3 rejected heartbeats within {span:?}"
    );
    agent.shut_down_promptly().await;
}

#[tokio::test]
async fn shutdown_interrupts_a_long_backoff_wait() {
    let broken = BrokenServer::start().await;
    let mut config = config(&broken.url);
    config.backoff = BackoffPolicy {
        base: Duration::from_secs(60),
        cap: Duration::from_secs(60),
    };
    let agent = start(config);
    broken.wait_for_attempts(1).await;
    // Now (or very soon) waiting 30–60 s before retrying; shutdown must cut in.
    agent.shut_down_promptly().await;
}

#[tokio::test]
async fn shutdown_interrupts_the_wait_between_heartbeats() {
    let server = FakeServer::start(Answer::Accept).await;
    let mut config = config(&server.url);
    config.heartbeat_interval = Duration::from_secs(3600);
    let agent = start(config);
    server.wait_for(1).await;
    agent.shut_down_promptly().await;
}

#[tokio::test]
async fn bad_config_is_refused_before_anything_is_sent() {
    let server = FakeServer::start(Answer::Accept).await;
    for host_id in ["", "../etc", "has space"] {
        let mut config = config(&server.url);
        config.host_id = host_id.into();
        let result = finished(start(config).task).await;
        assert!(
            matches!(result, Err(AgentError::InvalidConfig(_))),
            "{host_id:?}: {result:?}"
        );
    }
    for url in ["not a url", "", "ftp://127.0.0.1/"] {
        let result = finished(start(config(url)).task).await;
        assert!(
            matches!(result, Err(AgentError::InvalidConfig(_))),
            "{url:?}: {result:?}"
        );
    }
    let mut zero_interval = config(&server.url);
    zero_interval.heartbeat_interval = Duration::ZERO;
    let result = finished(start(zero_interval).task).await;
    assert!(
        matches!(result, Err(AgentError::InvalidConfig(_))),
        "{result:?}"
    );
    assert!(server.received().is_empty());
}
