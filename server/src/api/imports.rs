//! `POST /api/v1/imports/reindex`: reads every imported run again (new
//! runs, changed files); answers what it found and skipped.

use axum::extract::State;
use axum::Json;
use trainyard_core::runs::ImportReport;

use super::error::ApiError;
use crate::state::AppState;

pub async fn reindex(State(state): State<AppState>) -> Result<Json<ImportReport>, ApiError> {
    Ok(Json(state.engine.reindex_imports().await?))
}
