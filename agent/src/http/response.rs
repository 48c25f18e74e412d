//! Turns the server's answer to any agent request into a [`Verdict`]: what
//! the heartbeat loop (and, through `jobs/api.rs`, every job request) should
//! do next. Pure (status + body in, verdict out) so every case is
//! unit-tested without a network.

use reqwest::StatusCode;
use trainyard_core::protocol::codes::{PROTOCOL_MISMATCH, UNAUTHORIZED};
use trainyard_core::ApiErrorBody;

use crate::error::AgentError;

/// Longest slice of a non-JSON error body quoted in a log line.
const MAX_QUOTED_BODY: usize = 300;

/// What one request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Stored by the server; wait the normal interval.
    Accepted,
    /// The server refused this heartbeat's content (a bug on one side, not a
    /// network problem): log it, keep the normal interval.
    Rejected(String),
    /// Network trouble, overload or a restarting server: back off and retry.
    Transient(String),
    /// Retrying cannot help; stop the agent.
    Fatal(AgentError),
}

/// Classifies an HTTP answer. `sent_token` shapes the advice given on 401.
pub(crate) fn classify(status: StatusCode, body: &[u8], sent_token: bool) -> Verdict {
    if status.is_success() {
        return Verdict::Accepted;
    }
    let parsed: Option<ApiErrorBody> = serde_json::from_slice(body).ok();
    let code = parsed.as_ref().map(|b| b.code.as_str()).unwrap_or_default();
    let message = match &parsed {
        Some(b) => b.message.clone(),
        None => describe_unstructured(status, body),
    };

    if status == StatusCode::UPGRADE_REQUIRED || code == PROTOCOL_MISMATCH {
        return Verdict::Fatal(AgentError::ProtocolMismatch {
            server_message: message,
        });
    }
    if status == StatusCode::UNAUTHORIZED || code == UNAUTHORIZED {
        return Verdict::Fatal(AgentError::Unauthorized(unauthorized_advice(
            &message, sent_token,
        )));
    }
    // Timeouts and rate limits are the server asking us to come back later.
    if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        return Verdict::Transient(format!("HTTP {status}: {message}"));
    }
    // 400, 413 and any other 4xx (404 from a proxy or a wrong URL prefix…):
    // repeating faster will not fix it and stopping would lose the host.
    Verdict::Rejected(format!("HTTP {status}: {message}"))
}

fn unauthorized_advice(server_message: &str, sent_token: bool) -> String {
    if sent_token {
        format!(
            "the server refused this agent's token ({server_message}); \
             pass the server's token with --token or TRAINYARD_TOKEN"
        )
    } else {
        format!(
            "the server requires a token ({server_message}); \
             pass it with --token or TRAINYARD_TOKEN"
        )
    }
}

/// A readable message for an error body that is not Trainyard's JSON (a
/// proxy's HTML page, plain text, nothing at all).
fn describe_unstructured(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return status
            .canonical_reason()
            .unwrap_or("no details")
            .to_string();
    }
    match text.char_indices().nth(MAX_QUOTED_BODY) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use trainyard_core::protocol::codes::INVALID_HEARTBEAT;

    use super::*;

    fn api_error(code: &str, message: &str) -> Vec<u8> {
        serde_json::to_vec(&ApiErrorBody {
            code: code.into(),
            message: message.into(),
        })
        .unwrap_or_default()
    }

    #[test]
    fn success_codes_are_accepted() {
        assert_eq!(classify(StatusCode::OK, b"", true), Verdict::Accepted);
        assert_eq!(
            classify(StatusCode::NO_CONTENT, b"garbage", false),
            Verdict::Accepted
        );
    }

    #[test]
    fn protocol_mismatch_is_fatal_and_keeps_the_server_message() {
        let body = api_error(PROTOCOL_MISMATCH, "server speaks 2");
        assert_eq!(
            classify(StatusCode::UPGRADE_REQUIRED, &body, false),
            Verdict::Fatal(AgentError::ProtocolMismatch {
                server_message: "server speaks 2".into()
            })
        );
        // A bare 426 from an unexpected server is still a mismatch.
        assert!(matches!(
            classify(StatusCode::UPGRADE_REQUIRED, b"", false),
            Verdict::Fatal(AgentError::ProtocolMismatch { .. })
        ));
    }

    #[test]
    fn unauthorized_is_fatal_and_tells_the_operator_what_to_pass() {
        let body = api_error(UNAUTHORIZED, "bad token");
        let Verdict::Fatal(AgentError::Unauthorized(advice)) =
            classify(StatusCode::UNAUTHORIZED, &body, true)
        else {
            panic!("401 must be fatal");
        };
        assert!(
            advice.contains("--token") && advice.contains("TRAINYARD_TOKEN"),
            "{advice}"
        );
        assert!(advice.contains("bad token"), "{advice}");
    }

    #[test]
    fn bad_requests_are_rejected_not_retried_fast() {
        let body = api_error(
            INVALID_HEARTBEAT,
            "gpus[0].utilization_percent: 120 is outside 0..=100",
        );
        let verdict = classify(StatusCode::BAD_REQUEST, &body, false);
        assert!(
            matches!(&verdict, Verdict::Rejected(m) if m.contains("utilization_percent")),
            "{verdict:?}"
        );
        assert!(matches!(
            classify(StatusCode::PAYLOAD_TOO_LARGE, b"", false),
            Verdict::Rejected(_)
        ));
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, b"<html>", false),
            Verdict::Rejected(_)
        ));
    }

    #[test]
    fn server_errors_and_throttling_are_transient() {
        for status in [
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::TOO_MANY_REQUESTS,
        ] {
            assert!(
                matches!(classify(status, b"busy", false), Verdict::Transient(_)),
                "{status}"
            );
        }
    }

    #[test]
    fn huge_or_binary_bodies_are_quoted_briefly_without_panicking() {
        let body = vec![0xffu8; 100_000];
        let Verdict::Transient(message) = classify(StatusCode::BAD_GATEWAY, &body, false) else {
            panic!("502 must be transient");
        };
        assert!(
            message.chars().count() < MAX_QUOTED_BODY + 40,
            "{}",
            message.len()
        );
    }
}
