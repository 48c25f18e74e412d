//! Sends one heartbeat and classifies the answer.

use reqwest::header::HeaderValue;
use reqwest::{Client, Url};
use trainyard_core::Heartbeat;

use crate::error::AgentError;
use crate::http::response::{classify, Verdict};
use crate::http::{error_chain, http_client, read_capped, with_agent_headers};
use crate::settings::ValidatedSettings;

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
    pub fn new(config: &ValidatedSettings) -> Result<Self, AgentError> {
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
