//! Sends one heartbeat over HTTP and classifies the answer.

use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Client, Response, Url};
use trainyard_core::Heartbeat;

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
        let http = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("trainyard-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AgentError::Startup(format!("HTTP client: {}", error_chain(&e))))?;
        Ok(Self {
            http,
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
        let mut request = self.http.post(self.url.clone()).json(heartbeat);
        if let Some(value) = &self.authorization {
            request = request.header(AUTHORIZATION, value.clone());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return Verdict::Transient(error_chain(&e)),
        };
        let status = response.status();
        let body = read_capped(response).await;
        classify(status, &body, self.authorization.is_some())
    }
}

/// Reads at most [`MAX_RESPONSE_BYTES`] of the body. A body that breaks off
/// midway still yields what arrived: the status code alone decides most
/// verdicts, the body only adds the server's explanation.
async fn read_capped(mut response: Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_RESPONSE_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_RESPONSE_BYTES {
            break;
        }
    }
    body
}
