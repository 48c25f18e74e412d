//! Notifications: the webhooks (add, list, delete, test-send) and the
//! deliveries made, so a failed one is visible.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use trainyard_core::protocol::codes;
use trainyard_core::webhooks::{DeliveriesPage, DeliveryView, NewWebhook, WebhookView};

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, PathParams};
use crate::state::AppState;

fn webhook_id(params: &PathParams) -> Result<i64, ApiError> {
    let raw = params.get("id")?;
    raw.parse().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::bad_request(
            codes::BAD_QUERY,
            format!("a webhook id is a positive number, not {raw:?}"),
        )
    })
}

/// `GET /api/v1/webhooks`: every webhook, each with its newest delivery.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<WebhookView>>, ApiError> {
    Ok(Json(state.engine.webhooks().await?))
}

/// `POST /api/v1/webhooks` `{url, kind, project, events}`: 201 with the
/// webhook; 400 `bad_webhook` naming the field that is wrong.
pub async fn add(
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.engine.add_webhook(&new).await?),
    ))
}

/// `DELETE /api/v1/webhooks/{id}`: 204; its deliveries go with it.
pub async fn delete(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<StatusCode, ApiError> {
    state.engine.delete_webhook(webhook_id(&params)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/webhooks/{id}/test`: sends a test message now, once, and
/// answers with the delivery as it ended (200 even when it failed: the
/// delivery's status and error say how).
pub async fn test(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<Json<DeliveryView>, ApiError> {
    Ok(Json(state.engine.test_webhook(webhook_id(&params)?).await?))
}

#[derive(Debug, Deserialize)]
pub struct DeliveriesQuery {
    /// Only this webhook's.
    webhook: Option<i64>,
    /// At most this many (default 100, at most 500).
    limit: Option<u32>,
}

/// `GET /api/v1/webhooks/deliveries?webhook=ID&limit=N`: newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<DeliveriesPage>, ApiError> {
    let deliveries = state.engine.webhook_deliveries(q.webhook, q.limit).await?;
    Ok(Json(DeliveriesPage { deliveries }))
}
