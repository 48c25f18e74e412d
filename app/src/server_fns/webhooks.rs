//! Server functions for notifications: the Settings page's webhooks.

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use trainyard_core::webhooks::NewWebhook;
use trainyard_core::webhooks::{DeliveryView, WebhookKind, WebhookView};

#[cfg(feature = "ssr")]
use super::engine;
use super::UiError;

/// Every webhook, each with its newest delivery.
#[server(prefix = "/ui")]
pub async fn list_webhooks() -> Result<Vec<WebhookView>, UiError> {
    Ok(engine()?.webhooks().await?)
}

/// Adds a webhook; `events` is a comma-separated list (empty: all).
#[server(prefix = "/ui")]
pub async fn add_webhook(
    url: String,
    kind: WebhookKind,
    project: String,
    events: String,
) -> Result<WebhookView, UiError> {
    let events: Vec<String> = events
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(String::from)
        .collect();
    let new = NewWebhook {
        url,
        kind,
        project: Some(project).filter(|p| !p.trim().is_empty()),
        events: (!events.is_empty()).then_some(events),
    };
    Ok(engine()?.add_webhook(&new).await?)
}

#[server(prefix = "/ui")]
pub async fn delete_webhook(id: i64) -> Result<(), UiError> {
    Ok(engine()?.delete_webhook(id).await?)
}

/// Sends a test message now and answers with how it went.
#[server(prefix = "/ui")]
pub async fn test_webhook(id: i64) -> Result<DeliveryView, UiError> {
    Ok(engine()?.test_webhook(id).await?)
}

/// The newest deliveries of every webhook.
#[server(prefix = "/ui")]
pub async fn list_deliveries() -> Result<Vec<DeliveryView>, UiError> {
    Ok(engine()?.webhook_deliveries(None, Some(20)).await?)
}
