//! `GET /api/v1/hosts`, `DELETE /api/v1/hosts/{id}` and `GET /api/v1/health`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use trainyard_core::{HostView, ServerStatus};

use super::error::ApiError;
use crate::state::AppState;

pub async fn list_hosts(State(state): State<AppState>) -> Json<Vec<HostView>> {
    Json(state.engine.hosts())
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
