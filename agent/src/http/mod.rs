//! The HTTP plumbing every agent request shares: client, headers, capped reads, error text.
//!
//! What an answer means is `response`; how a run of answers is logged (by
//! the heartbeat loop and the poll for work) is `link_state`.

pub(crate) mod link_state;
pub(crate) mod response;

use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Client, RequestBuilder, Response};
use trainyard_core::{PROTOCOL_HEADER, PROTOCOL_VERSION};

use crate::error::AgentError;

/// Whole-request limit: a hung server must not stall the loop for long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP/TLS connect limit, shorter so an unreachable host fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client every agent request goes through.
pub(crate) fn http_client() -> Result<Client, AgentError> {
    Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("trainyard-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AgentError::Startup(format!("HTTP client: {}", error_chain(&e))))
}

/// Adds the bearer token (if any) and the agent's protocol version.
pub(crate) fn with_agent_headers(
    request: RequestBuilder,
    authorization: Option<&HeaderValue>,
) -> RequestBuilder {
    let request = request.header(PROTOCOL_HEADER, PROTOCOL_VERSION);
    match authorization {
        Some(value) => request.header(AUTHORIZATION, value.clone()),
        None => request,
    }
}

/// Reads at most `limit` bytes of the body. A body that breaks off midway
/// still yields what arrived: the status code alone decides most verdicts,
/// the body only adds the server's explanation.
pub(crate) async fn read_capped(mut response: Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    body
}

/// Joins an error with its chain of causes ("a: b: c"); reqwest's top-level
/// message alone ("error sending request") hides the useful part.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // hyper and reqwest sometimes repeat the cause in the outer message.
        if !message.contains(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}
