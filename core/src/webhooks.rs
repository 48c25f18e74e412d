//! Notifications: webhooks the server calls when jobs end (the Settings
//! page, `GET/POST /api/v1/webhooks`, `--webhook`/`--slack-webhook`), the
//! deliveries it made, and the payload receivers get.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a webhook is told about. Names are as on the wire and in
/// `--notify-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    Succeeded,
    Failed,
    Lost,
    Cancelled,
    /// The last job of a sweep still queued or running ended.
    SweepFinished,
    /// A test sent from the Settings page or `POST …/webhooks/{id}/test`.
    Test,
}

impl NotifyEvent {
    /// The events a webhook may subscribe to (every one but `test`).
    pub const SUBSCRIBABLE: [NotifyEvent; 5] = [
        NotifyEvent::Succeeded,
        NotifyEvent::Failed,
        NotifyEvent::Lost,
        NotifyEvent::Cancelled,
        NotifyEvent::SweepFinished,
    ];

    pub fn label(self) -> &'static str {
        match self {
            NotifyEvent::Succeeded => "succeeded",
            NotifyEvent::Failed => "failed",
            NotifyEvent::Lost => "lost",
            NotifyEvent::Cancelled => "cancelled",
            NotifyEvent::SweepFinished => "sweep_finished",
            NotifyEvent::Test => "test",
        }
    }

    /// Parses a comma-separated list (`succeeded,failed`); `all` is every
    /// subscribable event. The error names the unknown event.
    pub fn parse_list(text: &str) -> Result<Vec<NotifyEvent>, String> {
        let mut events = Vec::new();
        for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if name == "all" {
                events.extend(NotifyEvent::SUBSCRIBABLE);
                continue;
            }
            let event: NotifyEvent = name.parse()?;
            if event == NotifyEvent::Test {
                return Err("`test` is sent on request only; it cannot be subscribed to".into());
            }
            events.push(event);
        }
        let mut unique = Vec::new();
        for event in events {
            if !unique.contains(&event) {
                unique.push(event);
            }
        }
        if unique.is_empty() {
            return Err("name at least one event".into());
        }
        Ok(unique)
    }
}

impl fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for NotifyEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NotifyEvent::SUBSCRIBABLE
            .into_iter()
            .chain([NotifyEvent::Test])
            .find(|e| e.label() == s)
            .ok_or_else(|| {
                format!("unknown event {s:?}; expected succeeded, failed, lost, cancelled or sweep_finished")
            })
    }
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookKind {
    /// The generic JSON payload ([`WebhookPayload`]).
    #[default]
    Json,
    /// A Slack-compatible incoming webhook: `{"text": "…"}`.
    Slack,
}

impl WebhookKind {
    pub fn label(self) -> &'static str {
        match self {
            WebhookKind::Json => "json",
            WebhookKind::Slack => "slack",
        }
    }
}

impl FromStr for WebhookKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "json" => Ok(WebhookKind::Json),
            "slack" => Ok(WebhookKind::Slack),
            _ => Err(format!(
                "unknown webhook kind {s:?}; expected json or slack"
            )),
        }
    }
}

/// `POST /api/v1/webhooks`. Events are names, checked by the server, so an
/// unknown one is answered with its name rather than a decoding error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NewWebhook {
    pub url: String,
    #[serde(default)]
    pub kind: WebhookKind,
    /// Only this project's jobs; `None`: every project.
    #[serde(default)]
    pub project: Option<String>,
    /// Default: every subscribable event.
    #[serde(default)]
    pub events: Option<Vec<String>>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet answered with a 2xx; retries may remain.
    Pending,
    Delivered,
    /// Every attempt failed, or the receiver refused it (4xx).
    Failed,
}

impl DeliveryStatus {
    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl FromStr for DeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "delivered" => Ok(DeliveryStatus::Delivered),
            "failed" => Ok(DeliveryStatus::Failed),
            _ => Err(format!("unknown delivery status {s:?}")),
        }
    }
}

/// One notification sent (or being sent) to one webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: i64,
    pub webhook_id: i64,
    pub event: NotifyEvent,
    #[serde(default)]
    pub job_id: Option<i64>,
    #[serde(default)]
    pub sweep_id: Option<i64>,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// HTTP status of the last answer, if there was one.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// Why the last attempt failed (status and body start, timeout,
    /// connection refused…).
    #[serde(default)]
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// A configured webhook, with its newest delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub kind: WebhookKind,
    #[serde(default)]
    pub project: Option<String>,
    pub events: Vec<NotifyEvent>,
    /// `api` (the Settings page or the API) or `flag` (`--webhook`, reset
    /// at every start).
    pub source: String,
    pub created_ms: i64,
    #[serde(default)]
    pub last_delivery: Option<DeliveryView>,
}

/// `GET /api/v1/webhooks/deliveries`: the newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveriesPage {
    pub deliveries: Vec<DeliveryView>,
}

/// The job a notification is about.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NotifiedJob {
    pub id: i64,
    pub name: String,
    pub project: String,
    pub sweep_id: i64,
    pub status: String,
    pub attempt: u32,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub duration_ms: Option<i64>,
    #[serde(default)]
    pub started_ms: Option<i64>,
    #[serde(default)]
    pub finished_ms: Option<i64>,
}

/// The sweep a `sweep_finished` notification is about: how its jobs ended.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NotifiedSweep {
    pub id: i64,
    pub project: String,
    pub jobs: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub lost: u64,
}

/// What a `json` webhook receives (a `slack` one gets `{"text": text}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookPayload {
    pub event: NotifyEvent,
    /// The same readable line a Slack webhook gets.
    pub text: String,
    #[serde(default)]
    pub job: Option<NotifiedJob>,
    #[serde(default)]
    pub sweep: Option<NotifiedSweep>,
    /// The job's (or sweep's) page, when the server knows its public URL
    /// (`--public-url`).
    #[serde(default)]
    pub url: Option<String>,
    /// Server time (Unix ms) the event happened at.
    pub time_ms: i64,
}

/// "1 h 02 min", "3 min 20 s", "12 s": a duration for people.
pub fn human_duration(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else if ms < 1000 {
        format!("{} ms", ms.max(0))
    } else {
        format!("{s} s")
    }
}

impl NotifiedJob {
    /// `✅ job 12 "resnet-lr0.1" (project cifar) succeeded on gpu-3 after
    /// 3 min 20 s`, then the reason and the link.
    pub fn line(&self, event: NotifyEvent, url: Option<&str>) -> String {
        let icon = match event {
            NotifyEvent::Succeeded => "✅",
            NotifyEvent::Failed => "❌",
            NotifyEvent::Lost => "⚠️",
            NotifyEvent::Cancelled => "🛑",
            _ => "ℹ️",
        };
        let mut text = format!(
            "{icon} job {} \"{}\" (project {}) {}",
            self.id, self.name, self.project, self.status
        );
        if let Some(host) = &self.host {
            text.push_str(&format!(" on {host}"));
        }
        let duration = self
            .duration_ms
            .or(match (self.started_ms, self.finished_ms) {
                (Some(start), Some(end)) => Some(end - start),
                _ => None,
            });
        if let Some(ms) = duration {
            text.push_str(&format!(" after {}", human_duration(ms)));
        }
        if let Some(code) = self.exit_code.filter(|c| *c != 0) {
            text.push_str(&format!(", exit code {code}"));
        }
        if let Some(reason) = self.reason.as_deref().filter(|r| !r.is_empty()) {
            text.push_str(&format!(": {reason}"));
        }
        if let Some(url) = url {
            text.push_str(&format!(" <{url}>"));
        }
        text
    }
}

impl NotifiedSweep {
    /// `🏁 sweep 4 (project cifar) finished: 8 jobs, 7 succeeded, 1 failed`.
    pub fn line(&self, url: Option<&str>) -> String {
        let mut text = format!(
            "🏁 sweep {} (project {}) finished: {} jobs, {} succeeded",
            self.id, self.project, self.jobs, self.succeeded
        );
        for (n, what) in [
            (self.failed, "failed"),
            (self.cancelled, "cancelled"),
            (self.lost, "lost"),
        ] {
            if n > 0 {
                text.push_str(&format!(", {n} {what}"));
            }
        }
        if let Some(url) = url {
            text.push_str(&format!(" <{url}>"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lists_parse_with_all_and_name_the_unknown_one() {
        assert_eq!(
            NotifyEvent::parse_list("failed, lost,failed"),
            Ok(vec![NotifyEvent::Failed, NotifyEvent::Lost])
        );
        assert_eq!(
            NotifyEvent::parse_list("all"),
            Ok(NotifyEvent::SUBSCRIBABLE.to_vec())
        );
        let err = NotifyEvent::parse_list("failed,exploded").unwrap_err();
        assert!(err.contains("\"exploded\""), "{err}");
        assert!(NotifyEvent::parse_list("test").is_err());
        assert!(NotifyEvent::parse_list(" , ").is_err());
    }

    #[test]
    fn a_job_line_names_what_a_reader_needs() {
        let job = NotifiedJob {
            id: 12,
            name: "resnet".into(),
            project: "cifar".into(),
            status: "failed".into(),
            host: Some("gpu-3".into()),
            exit_code: Some(1),
            reason: Some("exit code 1".into()),
            duration_ms: Some(200_000),
            ..NotifiedJob::default()
        };
        let line = job.line(NotifyEvent::Failed, Some("http://ty/jobs/12"));
        assert_eq!(
            line,
            "❌ job 12 \"resnet\" (project cifar) failed on gpu-3 after 3 min 20 s, exit code 1: exit code 1 <http://ty/jobs/12>"
        );
        assert_eq!(human_duration(3_723_000), "1 h 02 min");
        assert_eq!(human_duration(12_400), "12 s");
    }
}
