//! The delivery task and each delivery's attempts.

use std::error::Error as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::mpsc;
use trainyard_core::webhooks::{DeliveryStatus, NotifyEvent, WebhookPayload, WebhookView};

use super::payload::{body, event_of, job_payload, sweep_payload};
use super::{Inner, Transition};
use crate::store::DeliveryUpdate;

/// Longest part of an error answer's body kept in `last_error`.
const BODY_EXCERPT: usize = 200;

/// Takes transitions off the queue until every sender is gone: records a
/// delivery per matching webhook and starts it on its own task.
pub(super) async fn run(inner: Arc<Inner>, mut rx: mpsc::Receiver<Transition>) {
    while let Some(transition) = rx.recv().await {
        let job = &transition.job;
        let now = inner.clock.now_ms();
        let public_url = inner.settings.public_url.as_deref();
        if let Some(event) = event_of(job.status) {
            let hooks = inner.matching(event, &job.project);
            if !hooks.is_empty() {
                let payload = job_payload(event, job, public_url, now);
                start_all(&inner, hooks, &payload, Some(job.id), None).await;
            }
        }
        if transition.sweep_finished {
            let hooks = inner.matching(NotifyEvent::SweepFinished, &job.project);
            if hooks.is_empty() {
                continue;
            }
            match inner.store.sweep_outcome(job.sweep_id).await {
                Ok(sweep) => {
                    let payload = sweep_payload(sweep, public_url, now);
                    start_all(&inner, hooks, &payload, None, Some(job.sweep_id)).await;
                }
                Err(e) => tracing::error!(sweep = job.sweep_id, "sweep notification: {e}"),
            }
        }
    }
}

/// Records and starts one delivery of `payload` per hook.
async fn start_all(
    inner: &Arc<Inner>,
    hooks: Vec<WebhookView>,
    payload: &WebhookPayload,
    job_id: Option<i64>,
    sweep_id: Option<i64>,
) {
    for hook in hooks {
        let recorded = inner
            .store
            .insert_delivery(
                hook.id,
                payload.event,
                job_id,
                sweep_id,
                inner.clock.now_ms(),
            )
            .await;
        let id = match recorded {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(webhook = hook.id, "could not record a delivery: {e}");
                continue;
            }
        };
        let text = body(hook.kind, payload);
        let inner = inner.clone();
        let attempts = inner.settings.max_attempts.max(1);
        tokio::spawn(async move { deliver(&inner, &hook, id, &text, attempts).await });
    }
}

/// Sends `text` to `hook` up to `max_attempts` times, backing off
/// exponentially between attempts; writes the outcome after each one.
pub(super) async fn deliver(
    inner: &Inner,
    hook: &WebhookView,
    delivery_id: i64,
    text: &str,
    max_attempts: u32,
) -> DeliveryUpdate {
    inner.counters.in_flight.fetch_add(1, Ordering::Relaxed);
    let mut update = DeliveryUpdate {
        status: DeliveryStatus::Pending,
        attempts: 0,
        http_status: None,
        last_error: None,
    };
    let mut wait = inner.settings.backoff;
    loop {
        update.attempts += 1;
        let outcome = attempt(inner, &hook.url, text).await;
        let retry = match outcome {
            Ok(code) => {
                inner.counters.attempts_ok.inc();
                update.status = DeliveryStatus::Delivered;
                update.http_status = Some(code);
                false
            }
            Err(failure) => {
                inner.counters.attempts_failed.inc();
                update.http_status = failure.status;
                update.last_error = Some(failure.message);
                failure.retryable && update.attempts < max_attempts
            }
        };
        if update.status == DeliveryStatus::Pending && !retry {
            update.status = DeliveryStatus::Failed;
        }
        if let Err(e) = inner
            .store
            .update_delivery(delivery_id, &update, inner.clock.now_ms())
            .await
        {
            tracing::error!(
                delivery = delivery_id,
                "could not record a delivery attempt: {e}"
            );
        }
        if !retry {
            break;
        }
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
    }
    match update.status {
        DeliveryStatus::Delivered => inner.counters.delivered.inc(),
        _ => {
            inner.counters.failed.inc();
            tracing::warn!(
                webhook = hook.id,
                delivery = delivery_id,
                attempts = update.attempts,
                error = update.last_error.as_deref().unwrap_or(""),
                "webhook delivery failed"
            );
        }
    }
    inner.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    update
}

/// Why one attempt failed.
struct Failure {
    status: Option<u16>,
    message: String,
    /// Worth another attempt: no answer, 5xx, 408 or 429.
    retryable: bool,
}

/// One POST, within the client's timeout; a slot of the concurrency limit
/// is held only while it is in flight.
async fn attempt(inner: &Inner, url: &str, text: &str) -> Result<u16, Failure> {
    let _slot = inner.limit.acquire().await.map_err(|_| Failure {
        status: None,
        message: "the server is shutting down".into(),
        retryable: false,
    })?;
    let sent = inner
        .client
        .post(url)
        .header("content-type", "application/json")
        .body(text.to_string())
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(e) => {
            let message = if e.is_timeout() {
                format!(
                    "no answer within {} s (timed out)",
                    inner.settings.timeout.as_secs_f64()
                )
            } else if e.is_connect() {
                format!("could not connect: {}", chain(&e))
            } else {
                chain(&e)
            };
            return Err(Failure {
                status: None,
                message,
                retryable: true,
            });
        }
    };
    let status = response.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let excerpt: String = response
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(BODY_EXCERPT)
        .collect();
    let mut message = format!("HTTP {status}");
    if !excerpt.trim().is_empty() {
        message.push_str(&format!(": {}", excerpt.trim()));
    }
    Err(Failure {
        status: Some(status.as_u16()),
        message,
        retryable: status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429,
    })
}

/// An error with its causes, `outer: inner: innermost`.
fn chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
