//! Sends one heartbeat over HTTP and classifies the answer; also the HTTP
//! plumbing (client, headers, capped reads) the job requests share.

use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Client, RequestBuilder, Response, Url};
use trainyard_core::{Heartbeat, PROTOCOL_HEADER, PROTOCOL_VERSION};

use crate::config::ValidatedConfig;
use crate::error::AgentError;
use crate::response::{classify, Verdict};
use crate::text::error_chain;

/// Whole-request limit: a hung server must not stall the loop for long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// TCP/TLS connect limit, shorter so an unreachable host fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most bytes of an answer read; error bodies are small, anything larger
/// is not from a Trainyard server and is not worth buffering.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Posts heartbeats to one server.
pub(crate) struct HeartbeatClient {
    http: Client,
    url: Url,
    authorization: Option<HeaderValue>,
}

impl HeartbeatClient {
    pub fn new(config: &ValidatedConfig) -> Result<Self, AgentError> {
        Ok(Self {
            http: http_client()?,
            url: config.heartbeat_url.clone(),
            authorization: config.authorization.clone(),
        })
    }

    /// The endpoint heartbeats go to, for log lines.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Posts `heartbeat` once. Never fails: every outcome is a [`Verdict`].
    pub async fn send(&self, heartbeat: &Heartbeat) -> Verdict {
        let request = self.http.post(self.url.clone()).json(heartbeat);
        let request = with_agent_headers(request, self.authorization.as_ref());
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Verdict::Transient(error_chain(&e)),
        };
        let status = response.status();
        let body = read_capped(response, MAX_RESPONSE_BYTES).await;
        classify(status, &body, self.authorization.is_some())
    }
}

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
