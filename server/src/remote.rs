//! What the `trainyard` subcommands that talk to a running server share:
//! the `--url`/`--api-key` options, and a client that sends the key and
//! turns a refusal into the server's own message.

use anyhow::{bail, Context};
use clap::Args;
use reqwest::header::AUTHORIZATION;
use reqwest::RequestBuilder;
use trainyard_core::ApiErrorBody;

/// Where the server is and its key.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The Trainyard server.
    #[arg(
        long,
        global = true,
        env = "TRAINYARD_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub url: String,
    /// The server's API key, if it has one.
    #[arg(long, global = true, env = "TRAINYARD_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
}

/// A running server, as the CLI talks to it.
pub(crate) struct RemoteServer {
    pub http: reqwest::Client,
    /// The base URL without a trailing `/`.
    pub base: String,
    key: Option<String>,
}

impl RemoteServer {
    pub fn new(args: &ServerArgs) -> anyhow::Result<RemoteServer> {
        Ok(RemoteServer {
            http: reqwest::Client::builder().build()?,
            base: args.url.trim_end_matches('/').to_string(),
            key: args.api_key.clone(),
        })
    }

    /// `path` (from `trainyard_core::protocol::paths`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The request with the key, if there is one.
    pub fn auth(&self, builder: RequestBuilder) -> RequestBuilder {
        match &self.key {
            Some(key) => builder.header(AUTHORIZATION, format!("Bearer {key}")),
            None => builder,
        }
    }

    /// Sends the request; a refusal is an error with the server's message,
    /// prefixed by `what`.
    pub async fn send(
        &self,
        builder: RequestBuilder,
        what: &str,
    ) -> anyhow::Result<reqwest::Response> {
        let response = self.auth(builder).send().await.with_context(|| {
            format!("{what}: cannot reach the Trainyard server at {}", self.base)
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        match serde_json::from_str::<ApiErrorBody>(&body) {
            Ok(e) => bail!("{what}: {} ({status})", e.message),
            Err(_) => bail!("{what}: HTTP {status}"),
        }
    }

    /// Sends the request and decodes the JSON answer.
    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        builder: RequestBuilder,
        what: &str,
    ) -> anyhow::Result<T> {
        self.send(builder, what)
            .await?
            .json()
            .await
            .with_context(|| format!("{what}: the answer is not what this trainyard expects"))
    }
}
