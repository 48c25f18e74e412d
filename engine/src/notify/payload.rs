//! What a receiver gets: the generic JSON payload, or Slack's `{"text"}`.

use trainyard_core::webhooks::{
    NotifiedJob, NotifiedSweep, NotifyEvent, WebhookKind, WebhookPayload,
};
use trainyard_core::{JobStatus, JobView};

/// The event a job's new status is, if it is one webhooks are told about.
pub(super) fn event_of(status: JobStatus) -> Option<NotifyEvent> {
    match status {
        JobStatus::Succeeded => Some(NotifyEvent::Succeeded),
        JobStatus::Failed => Some(NotifyEvent::Failed),
        JobStatus::Cancelled => Some(NotifyEvent::Cancelled),
        JobStatus::Lost => Some(NotifyEvent::Lost),
        JobStatus::Queued | JobStatus::Assigned | JobStatus::Running => None,
    }
}

fn base(public_url: Option<&str>) -> Option<&str> {
    public_url
        .map(|u| u.trim_end_matches('/'))
        .filter(|u| !u.is_empty())
}

pub(super) fn notified_job(job: &JobView) -> NotifiedJob {
    NotifiedJob {
        id: job.id,
        name: job.name.clone(),
        project: job.project.clone(),
        sweep_id: job.sweep_id,
        status: job.status.label().to_string(),
        attempt: job.attempt,
        host: job.host_id.clone(),
        exit_code: job.exit_code,
        reason: job.reason.clone(),
        duration_ms: job.duration_ms,
        started_ms: job.started_ms,
        finished_ms: job.finished_ms,
    }
}

/// The payload about a job's end.
pub(super) fn job_payload(
    event: NotifyEvent,
    job: &JobView,
    public_url: Option<&str>,
    time_ms: i64,
) -> WebhookPayload {
    let url = base(public_url).map(|b| format!("{b}/jobs/{}", job.id));
    let job = notified_job(job);
    WebhookPayload {
        event,
        text: job.line(event, url.as_deref()),
        job: Some(job),
        sweep: None,
        url,
        time_ms,
    }
}

/// The payload about a sweep's end.
pub(super) fn sweep_payload(
    sweep: NotifiedSweep,
    public_url: Option<&str>,
    time_ms: i64,
) -> WebhookPayload {
    let url = base(public_url).map(|b| format!("{b}/queue?sweep={}", sweep.id));
    WebhookPayload {
        event: NotifyEvent::SweepFinished,
        text: sweep.line(url.as_deref()),
        job: None,
        sweep: Some(sweep),
        url,
        time_ms,
    }
}

/// A test message for the Settings page's "Send test".
pub(super) fn test_payload(
    webhook_id: i64,
    public_url: Option<&str>,
    time_ms: i64,
) -> WebhookPayload {
    let url = base(public_url).map(|b| format!("{b}/settings"));
    let mut text = format!("🔔 Trainyard test notification for webhook {webhook_id}");
    if let Some(url) = &url {
        text.push_str(&format!(" <{url}>"));
    }
    WebhookPayload {
        event: NotifyEvent::Test,
        text,
        job: None,
        sweep: None,
        url,
        time_ms,
    }
}

/// The request body for a webhook of `kind`.
pub(super) fn body(kind: WebhookKind, payload: &WebhookPayload) -> String {
    let value = match kind {
        WebhookKind::Json => serde_json::to_value(payload).unwrap_or_default(),
        WebhookKind::Slack => serde_json::json!({ "text": payload.text }),
    };
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_gets_only_the_line_and_json_gets_everything() {
        let job = JobView {
            id: 7,
            name: "lr-0.1".into(),
            project: "cifar".into(),
            status: JobStatus::Failed,
            host_id: Some("gpu-1".into()),
            reason: Some("exit code 2".into()),
            exit_code: Some(2),
            ..JobView::default()
        };
        let payload = job_payload(NotifyEvent::Failed, &job, Some("https://ty.lab/"), 5);
        assert_eq!(payload.url.as_deref(), Some("https://ty.lab/jobs/7"));
        let slack: serde_json::Value =
            serde_json::from_str(&body(WebhookKind::Slack, &payload)).unwrap_or_default();
        let text = slack["text"].as_str().unwrap_or_default();
        assert!(text.contains("job 7") && text.contains("cifar") && text.contains("gpu-1"));
        assert!(text.contains("exit code 2") && text.ends_with("<https://ty.lab/jobs/7>"));
        assert_eq!(slack.as_object().map(|o| o.len()), Some(1));
        let json: WebhookPayload =
            serde_json::from_str(&body(WebhookKind::Json, &payload)).expect("the payload parses");
        assert_eq!(json, payload);
    }
}
