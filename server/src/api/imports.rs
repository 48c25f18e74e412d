//! `POST /api/v1/imports/reindex`: reads every imported run again (new
//! runs, changed files); answers what it found and skipped.
//! `POST /api/v1/imports/tensorboard`: imports a TensorBoard log dir on the
//! server's machine (`trainyard import tensorboard DIR`).

use axum::extract::State;
use axum::Json;
use trainyard_core::runs::{ImportReport, TensorBoardImport};

use super::error::ApiError;
use super::extract::ApiJson;
use crate::state::AppState;

pub async fn reindex(State(state): State<AppState>) -> Result<Json<ImportReport>, ApiError> {
    Ok(Json(state.engine.reindex_imports().await?))
}

pub async fn tensorboard(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TensorBoardImport>,
) -> Result<Json<ImportReport>, ApiError> {
    let dir = std::path::PathBuf::from(&body.dir);
    Ok(Json(
        state
            .engine
            .import_tensorboard(&dir, body.project.as_deref())
            .await?,
    ))
}
