//! `GET /metrics`: Prometheus's scrape target (docs/operations.md,
//! "Prometheus and Grafana"). Protected like the API, or by its own
//! `--metrics-token` so a scraper need not hold the key that runs jobs.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::auth;
use crate::state::AppState;

/// The page, in the text exposition format.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let page = state.engine.prometheus().await?;
    Ok((
        [(CONTENT_TYPE, trainyard_engine::PROMETHEUS_CONTENT_TYPE)],
        page,
    )
        .into_response())
}

/// 401 unless the request carries the metrics token (`Authorization:
/// Bearer`) or anything the API accepts.
pub async fn require_metrics_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let by_token = state
        .metrics_token
        .as_ref()
        .zip(bearer)
        .is_some_and(|(token, given)| token.matches(given.trim()));
    if by_token || auth::is_authorized(&state, request.headers()) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}
