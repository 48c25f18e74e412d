//! The job requests of the agent protocol (poll, started, log, finished) and
//! how their answers are classified. The run-file requests are in
//! `files/api.rs`.

use std::time::Duration;

use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{Client, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;
use trainyard_core::protocol::codes::{
    BAD_PATH, HASH_MISMATCH, OFFSET_MISMATCH, SUPERSEDED, TOO_LARGE,
};
use trainyard_core::protocol::paths::{self, AttemptAction};
use trainyard_core::work::{
    AttemptRef, FinishedReport, LogAck, OffsetMismatch, PollRequest, PollResponse, ServingReport,
    StartedReport,
};
use trainyard_core::ApiErrorBody;

use crate::error::AgentError;
use crate::http::response::{classify, Verdict};
use crate::http::{error_chain, http_client, read_capped, with_agent_headers};
use crate::settings::ValidatedSettings;

/// Most bytes read of a poll answer: assignments carry whole configs.
const MAX_POLL_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// Most bytes read of any other answer.
pub(super) const MAX_ACK_BYTES: usize = 64 * 1024;
/// Writes a download's body to `part` and hashes what was written:
/// (bytes, xxh3). `what` names the download in a broken-stream error
/// ("`what` broke: …"); a write error names `part`.
pub async fn save_download(
    mut response: Response,
    part: &std::path::Path,
    what: &str,
) -> Result<(u64, String), String> {
    use tokio::io::AsyncWriteExt;
    let io = |e: std::io::Error| format!("writing {}: {e}", part.display());
    let mut file = tokio::fs::File::create(part).await.map_err(io)?;
    let mut written = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{what} broke: {e}"))?
    {
        file.write_all(&chunk).await.map_err(io)?;
        written += chunk.len() as u64;
    }
    file.flush().await.map_err(io)?;
    drop(file);
    let p = part.to_path_buf();
    let hash = tokio::task::spawn_blocking(move || crate::bundle::hash_blocking(&p))
        .await
        .map_err(|e| e.to_string())?
        .map_err(io)?;
    Ok((written, hash))
}

/// Added to a poll's `wait_ms` for the request timeout: the server answers
/// by `wait_ms`, so only a hung server or link runs into this.
const POLL_TIMEOUT_SLACK: Duration = Duration::from_secs(15);
/// A log chunk is up to 256 KiB; allow a slow link to carry it.
const LOG_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What one job request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply<T> {
    /// 2xx with a usable body.
    Done(T),
    /// 409 `superseded`: this attempt is no longer current; stop it and
    /// drop its reports.
    Superseded(String),
    /// 409 `offset_mismatch`: resend the log from the server's size.
    OffsetMismatch { size: u64 },
    /// The server refused what was sent, for a reason retrying as is
    /// cannot fix (run-file requests tell these apart), with its message.
    Refused(Refusal, String),
    /// Anything else, classified like a heartbeat answer.
    Failed(Verdict),
}

impl<T> Reply<T> {
    /// Continues a `Done` answer with `next`; every other answer is passed
    /// on as it is.
    pub fn and_then<U>(self, next: impl FnOnce(T) -> Reply<U>) -> Reply<U> {
        match self {
            Reply::Done(value) => next(value),
            Reply::Superseded(message) => Reply::Superseded(message),
            Reply::OffsetMismatch { size } => Reply::OffsetMismatch { size },
            Reply::Refused(refusal, message) => Reply::Refused(refusal, message),
            Reply::Failed(verdict) => Reply::Failed(verdict),
        }
    }
}

/// Why the server refused a run-file request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// 422 `hash_mismatch`: the bytes did not hash as named; re-read and resend.
    HashMismatch,
    /// 413: past the server's size limit (or a proxy's); give the file up.
    TooLarge,
    /// 400 `bad_path`: a path the server will not store; give the file up.
    BadPath,
}

/// Sends the agent's job requests to one server.
pub(crate) struct WorkClient {
    http: Client,
    base: Url,
    authorization: Option<HeaderValue>,
}

impl WorkClient {
    pub fn new(config: &ValidatedSettings) -> Result<Self, AgentError> {
        Ok(Self {
            http: http_client()?,
            base: config.base_url.clone(),
            authorization: config.authorization.clone(),
        })
    }

    /// `POST /api/v1/agents/poll`, waiting up to the request's `wait_ms`.
    pub async fn poll(&self, request: &PollRequest) -> Reply<PollResponse> {
        let timeout = Duration::from_millis(request.wait_ms) + POLL_TIMEOUT_SLACK;
        let builder = match self.url(&paths::agent_poll()) {
            Ok(url) => self.http.post(url).json(request).timeout(timeout),
            Err(reply) => return reply,
        };
        self.send(builder, MAX_POLL_RESPONSE_BYTES, parse_json)
            .await
    }

    /// `POST …/started`.
    pub async fn started(&self, attempt: AttemptRef, report: &StartedReport) -> Reply<()> {
        self.post_report(attempt, AttemptAction::Started, report)
            .await
    }

    /// `PUT …/log?offset=N` with `chunk` as the body.
    pub async fn append_log(
        &self,
        attempt: AttemptRef,
        offset: u64,
        chunk: Vec<u8>,
    ) -> Reply<LogAck> {
        let path = format!(
            "{}?offset={offset}",
            paths::attempt(attempt, AttemptAction::Log)
        );
        let builder = match self.url(&path) {
            Ok(url) => self
                .http
                .put(url)
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(chunk)
                .timeout(LOG_REQUEST_TIMEOUT),
            Err(reply) => return reply,
        };
        self.send(builder, MAX_ACK_BYTES, parse_json).await
    }

    /// `POST …/finished`.
    pub async fn finished(&self, attempt: AttemptRef, report: &FinishedReport) -> Reply<()> {
        self.post_report(attempt, AttemptAction::Finished, report)
            .await
    }

    /// `POST …/serving`: a serving attempt answers its health path.
    pub async fn serving(&self, attempt: AttemptRef, report: &ServingReport) -> Reply<()> {
        self.post_report(attempt, AttemptAction::Serving, report)
            .await
    }

    /// `GET path` with the agent's headers, answered 2xx, to be read as a
    /// stream (a model bundle); `Err` says why not.
    pub async fn download(&self, path: &str, timeout: Duration) -> Result<Response, String> {
        let url = self
            .url::<()>(path)
            .map_err(|_| format!("cannot build the URL for {path}"))?;
        self.download_url(url, path, timeout).await
    }

    /// [`WorkClient::download`] of a built URL; `path` names it in errors.
    pub async fn download_url(
        &self,
        url: Url,
        path: &str,
        timeout: Duration,
    ) -> Result<Response, String> {
        let builder = with_agent_headers(
            self.http.get(url).timeout(timeout),
            self.authorization.as_ref(),
        );
        let response = builder
            .send()
            .await
            .map_err(|e| format!("GET {path}: {}", error_chain(&e)))?;
        if !response.status().is_success() {
            let status = response.status();
            let body = read_capped(response, MAX_ACK_BYTES).await;
            return Err(format!(
                "GET {path}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        Ok(response)
    }

    /// Posts a JSON report to `…/<action>`; the answer is only acknowledged.
    async fn post_report(
        &self,
        attempt: AttemptRef,
        action: AttemptAction,
        report: &impl Serialize,
    ) -> Reply<()> {
        match self.url(&paths::attempt(attempt, action)) {
            Ok(url) => {
                let builder = self.http.post(url).json(report);
                self.send(builder, MAX_ACK_BYTES, ignore_body).await
            }
            Err(reply) => reply,
        }
    }

    /// The shared HTTP client; `send` adds the agent's headers.
    pub(super) fn http(&self) -> &Client {
        &self.http
    }

    /// The API `path` (from [`paths`]) below the server's base URL, which
    /// may carry a path prefix of its own.
    pub(super) fn url<T>(&self, path: &str) -> Result<Url, Reply<T>> {
        self.base.join(paths::relative(path)).map_err(|e| {
            Reply::Failed(Verdict::Rejected(format!(
                "cannot build the URL for {path}: {e}"
            )))
        })
    }

    /// Sends `builder` with the agent's headers, reads at most `limit`
    /// bytes of the answer and parses a successful one with `parse`.
    pub(super) async fn send<T>(
        &self,
        builder: RequestBuilder,
        limit: usize,
        parse: fn(&[u8]) -> Result<T, String>,
    ) -> Reply<T> {
        let builder = with_agent_headers(builder, self.authorization.as_ref());
        let response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return Reply::Failed(Verdict::Transient(error_chain(&e))),
        };
        let status = response.status();
        let body = read_capped(response, limit).await;
        classify_reply(status, &body, self.authorization.is_some()).and_then(|()| {
            match parse(&body) {
                Ok(value) => Reply::Done(value),
                Err(why) => Reply::Failed(Verdict::Rejected(format!(
                    "HTTP {status} with an answer this agent cannot read: {why}"
                ))),
            }
        })
    }
}

pub(super) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

/// Acknowledgements (`{}`) carry nothing the agent needs.
fn ignore_body(_: &[u8]) -> Result<(), String> {
    Ok(())
}

/// Classifies an answer by status and error code; the caller parses a
/// successful body. Pure, so every case is unit-tested.
pub(crate) fn classify_reply(status: StatusCode, body: &[u8], sent_token: bool) -> Reply<()> {
    if status == StatusCode::CONFLICT {
        if let Ok(mismatch) = serde_json::from_slice::<OffsetMismatch>(body) {
            if mismatch.code == OFFSET_MISMATCH {
                return Reply::OffsetMismatch {
                    size: mismatch.size,
                };
            }
        }
        if let Ok(error) = serde_json::from_slice::<ApiErrorBody>(body) {
            if error.code == SUPERSEDED {
                return Reply::Superseded(error.message);
            }
        }
    }
    if let Some(refusal) = refusal(status, body) {
        let message = match classify(status, body, sent_token) {
            Verdict::Rejected(message) | Verdict::Transient(message) => message,
            _ => format!("HTTP {status}"),
        };
        return Reply::Refused(refusal, message);
    }
    match classify(status, body, sent_token) {
        Verdict::Accepted => Reply::Done(()),
        verdict => Reply::Failed(verdict),
    }
}

/// The run-file refusals, by error code; any 413 counts, since a proxy's
/// body limit refuses the same way and retrying cannot pass it either.
fn refusal(status: StatusCode, body: &[u8]) -> Option<Refusal> {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return Some(Refusal::TooLarge);
    }
    if !status.is_client_error() {
        return None;
    }
    let code = serde_json::from_slice::<ApiErrorBody>(body).ok()?.code;
    match code.as_str() {
        HASH_MISMATCH => Some(Refusal::HashMismatch),
        BAD_PATH => Some(Refusal::BadPath),
        TOO_LARGE => Some(Refusal::TooLarge),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use trainyard_core::protocol::codes::{BAD_QUERY, HOST_NOT_DISCONNECTED};

    use super::*;
    use crate::settings::AgentSettings;

    /// An error body as the server writes it.
    fn error_body(code: &str, message: &str) -> Vec<u8> {
        serde_json::json!({ "code": code, "message": message })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn conflicts_are_told_apart_by_their_code() {
        let mismatch = serde_json::to_vec(&OffsetMismatch {
            code: OFFSET_MISMATCH.into(),
            message: "have 10".into(),
            size: 10,
        })
        .expect("an OffsetMismatch serializes");
        assert_eq!(
            classify_reply(StatusCode::CONFLICT, &mismatch, false),
            Reply::OffsetMismatch { size: 10 }
        );
        let superseded = error_body(SUPERSEDED, "attempt 2 runs elsewhere");
        assert_eq!(
            classify_reply(StatusCode::CONFLICT, &superseded, false),
            Reply::Superseded("attempt 2 runs elsewhere".into())
        );
        let other = error_body(HOST_NOT_DISCONNECTED, "x");
        assert!(matches!(
            classify_reply(StatusCode::CONFLICT, &other, false),
            Reply::Failed(Verdict::Rejected(_))
        ));
    }

    #[test]
    fn file_refusals_are_told_apart_by_their_code() {
        let hash = error_body(HASH_MISMATCH, "chunk hashes to 12");
        assert!(matches!(
            classify_reply(StatusCode::UNPROCESSABLE_ENTITY, &hash, false),
            Reply::Refused(Refusal::HashMismatch, m) if m.contains("chunk hashes to 12")
        ));
        let path = error_body(BAD_PATH, "component \"..\"");
        assert!(matches!(
            classify_reply(StatusCode::BAD_REQUEST, &path, false),
            Reply::Refused(Refusal::BadPath, _)
        ));
        // A proxy's body limit has no JSON but refuses all the same.
        assert!(matches!(
            classify_reply(StatusCode::PAYLOAD_TOO_LARGE, b"<html>", false),
            Reply::Refused(Refusal::TooLarge, _)
        ));
        // Another 400 stays a plain rejection.
        let other = error_body(BAD_QUERY, "offset");
        assert!(matches!(
            classify_reply(StatusCode::BAD_REQUEST, &other, false),
            Reply::Failed(Verdict::Rejected(_))
        ));
    }

    #[test]
    fn other_answers_follow_the_heartbeat_rules() {
        assert_eq!(
            classify_reply(StatusCode::OK, b"{}", false),
            Reply::Done(())
        );
        assert!(matches!(
            classify_reply(StatusCode::SERVICE_UNAVAILABLE, b"", false),
            Reply::Failed(Verdict::Transient(_))
        ));
        assert!(matches!(
            classify_reply(StatusCode::UNAUTHORIZED, b"", true),
            Reply::Failed(Verdict::Fatal(_))
        ));
    }

    #[test]
    fn attempt_paths_name_job_and_attempt() {
        let attempt = AttemptRef {
            job_id: 42,
            attempt: 3,
        };
        let config = AgentSettings::new("https://lab.example/trainyard/", "gpu-01")
            .validate()
            .expect("a valid config");
        let client = WorkClient::new(&config).expect("an HTTP client");
        let url = client
            .url::<()>(&paths::attempt(attempt, AttemptAction::Finished))
            .expect("a URL below the base");
        assert_eq!(
            url.as_str(),
            "https://lab.example/trainyard/api/v1/agents/jobs/42/attempts/3/finished"
        );
    }
}
