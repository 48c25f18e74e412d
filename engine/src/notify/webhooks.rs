//! Webhooks as users manage them: add (checked), list, delete, test, and
//! the deliveries made.

use trainyard_core::webhooks::{DeliveryView, NewWebhook, NotifyEvent, WebhookKind, WebhookView};

use super::deliver::deliver;
use super::payload::{body, test_payload};
use super::{FlagWebhook, Notifier};
use crate::error::EngineError;
use crate::store::WebhookRow;

/// Most deliveries one listing returns.
pub const MAX_DELIVERIES_LISTED: u32 = 500;
/// Longest URL accepted.
const MAX_URL_LEN: usize = 2048;
/// Longest project name a webhook may be limited to.
const MAX_PROJECT_LEN: usize = 200;

fn bad(field: &'static str, message: impl Into<String>) -> EngineError {
    EngineError::BadWebhook {
        field,
        message: message.into(),
    }
}

/// An absolute `http`/`https` URL with a host; the error says what is wrong.
pub fn validate_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("a webhook URL is required".into());
    }
    if url.len() > MAX_URL_LEN {
        return Err(format!("longer than {MAX_URL_LEN} characters"));
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "{url:?} is a {} URL; webhooks are http or https",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} names no host"));
    }
    Ok(url.to_string())
}

/// The rows the flags' webhooks are stored as.
pub(super) fn flag_rows(hooks: &[FlagWebhook]) -> Result<Vec<WebhookRow>, EngineError> {
    hooks
        .iter()
        .map(|hook| {
            if hook.events.contains(&NotifyEvent::Test) || hook.events.is_empty() {
                return Err(bad("events", "name at least one event, and not `test`"));
            }
            Ok(WebhookRow {
                url: validate_url(&hook.url).map_err(|e| bad("url", e))?,
                kind: hook.kind,
                project: None,
                events: hook.events.clone(),
                source: "flag".into(),
            })
        })
        .collect()
}

/// A new webhook as it will be stored, or the first field that is wrong.
fn checked(new: &NewWebhook) -> Result<WebhookRow, EngineError> {
    let url = validate_url(&new.url).map_err(|e| bad("url", e))?;
    let project = match new.project.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) if p.len() > MAX_PROJECT_LEN => {
            return Err(bad(
                "project",
                format!("longer than {MAX_PROJECT_LEN} characters"),
            ))
        }
        Some(p) => Some(p.to_string()),
    };
    let events = match &new.events {
        None => NotifyEvent::SUBSCRIBABLE.to_vec(),
        Some(names) => NotifyEvent::parse_list(&names.join(",")).map_err(|e| bad("events", e))?,
    };
    Ok(WebhookRow {
        url,
        kind: new.kind,
        project,
        events,
        source: "api".into(),
    })
}

impl Notifier {
    /// Saves a webhook after checking its URL, project and events.
    pub async fn add_webhook(&self, new: &NewWebhook) -> Result<WebhookView, EngineError> {
        let row = checked(new)?;
        let inner = &self.inner;
        let id = inner
            .store
            .insert_webhook(&row, inner.clock.now_ms())
            .await?;
        inner.reload().await?;
        tracing::info!(webhook = id, kind = row.kind.label(), "webhook added");
        self.webhook(id).await
    }

    /// One webhook with its newest delivery.
    pub async fn webhook(&self, id: i64) -> Result<WebhookView, EngineError> {
        self.webhooks()
            .await?
            .into_iter()
            .find(|h| h.id == id)
            .ok_or(EngineError::WebhookNotFound(id))
    }

    /// Every webhook, oldest first, each with its newest delivery.
    pub async fn webhooks(&self) -> Result<Vec<WebhookView>, EngineError> {
        self.inner.store.webhooks().await
    }

    /// Deletes a webhook and its deliveries (a flag's comes back at the
    /// next start).
    pub async fn delete_webhook(&self, id: i64) -> Result<(), EngineError> {
        if !self.inner.store.delete_webhook(id).await? {
            return Err(EngineError::WebhookNotFound(id));
        }
        self.inner.reload().await
    }

    /// The newest deliveries (of one webhook, or all), at most `limit`.
    pub async fn deliveries(
        &self,
        webhook_id: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<DeliveryView>, EngineError> {
        let limit = limit.unwrap_or(100);
        if limit == 0 || limit > MAX_DELIVERIES_LISTED {
            return Err(EngineError::BadOption(format!(
                "limit must be 1 to {MAX_DELIVERIES_LISTED}, not {limit}"
            )));
        }
        if let Some(id) = webhook_id {
            self.webhook(id).await?;
        }
        self.inner.store.deliveries(webhook_id, limit).await
    }

    /// Sends a test message now, once (no retries), and answers with the
    /// delivery as it ended.
    pub async fn test_webhook(&self, id: i64) -> Result<DeliveryView, EngineError> {
        let hook = self.webhook(id).await?;
        let inner = &self.inner;
        let now = inner.clock.now_ms();
        let payload = test_payload(id, inner.settings.public_url.as_deref(), now);
        let delivery_id = inner
            .store
            .insert_delivery(id, NotifyEvent::Test, None, None, now)
            .await?;
        let kind: WebhookKind = hook.kind;
        deliver(inner, &hook, delivery_id, &body(kind, &payload), 1).await;
        inner
            .store
            .delivery(delivery_id)
            .await?
            .ok_or(EngineError::WebhookNotFound(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(validate_url("https://hooks.slack.com/services/T/B/x").is_ok());
        assert!(validate_url(" http://127.0.0.1:9/hook ").is_ok());
        for bad in [
            "",
            "not a url",
            "ftp://x/y",
            "file:///etc/passwd",
            "http://",
        ] {
            assert!(validate_url(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_new_webhook_names_the_field_that_is_wrong() {
        let new = |url: &str, events: Option<Vec<&str>>| NewWebhook {
            url: url.into(),
            events: events.map(|e| e.into_iter().map(String::from).collect()),
            ..NewWebhook::default()
        };
        let field = |r: Result<WebhookRow, EngineError>| match r {
            Err(EngineError::BadWebhook { field, .. }) => field,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert_eq!(field(checked(&new("nope", None))), "url");
        assert_eq!(
            field(checked(&new("http://x/", Some(vec!["failed", "boom"])))),
            "events"
        );
        let ok = checked(&new("http://x/", None)).expect("accepted");
        assert_eq!(ok.events, NotifyEvent::SUBSCRIBABLE.to_vec());
    }
}
