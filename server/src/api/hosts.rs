//! `GET /api/v1/hosts`, `DELETE /api/v1/hosts/{id}`,
//! `GET /api/v1/hosts/{id}/telemetry` and `GET /api/v1/health`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use trainyard_core::protocol::codes;
use trainyard_core::{HostListParams, HostTelemetry, HostsPage, ServerStatus, TelemetryParams};

use super::error::ApiError;
use super::extract::ApiQuery;
use crate::state::AppState;

/// `GET /api/v1/hosts?health=healthy,stale&q=h100&min_free_gpus=1&limit=100&after=gpu-07`:
/// one page of the fleet, ordered by id, with the number of matching hosts.
/// A value that cannot be used is 400 `bad_query` naming the parameter.
pub async fn list_hosts(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<HostListParams>,
) -> Result<Json<HostsPage>, ApiError> {
    let query = params
        .query()
        .map_err(|e| ApiError::bad_request(codes::BAD_QUERY, e.to_string()))?;
    Ok(Json(state.engine.hosts_page(&query)))
}

/// `GET /api/v1/hosts/{id}/telemetry?window=hour|day`: the host's GPUs over
/// the last hour (60 one-minute buckets, the default) or day (96 quarter
/// hours). A bad window is 400 `bad_query` naming `window`; an unknown host
/// is 404 `host_not_found`.
pub async fn host_telemetry(
    State(state): State<AppState>,
    Path(host_id): Path<String>,
    ApiQuery(params): ApiQuery<TelemetryParams>,
) -> Result<Json<HostTelemetry>, ApiError> {
    let window = params
        .window()
        .map_err(|e| ApiError::bad_request(codes::BAD_QUERY, e))?;
    Ok(Json(state.engine.host_telemetry(&host_id, window).await?))
}

pub async fn delete_host(
    State(state): State<AppState>,
    Path(host_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.engine.remove_host(&host_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn health(State(state): State<AppState>) -> Json<ServerStatus> {
    Json(state.engine.status(state.api_key.is_some()))
}
