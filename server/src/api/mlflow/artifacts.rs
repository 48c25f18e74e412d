//! The artifact proxy (`mlflow-artifacts:` URIs): a run's artifact
//! `<exp>/<run>/artifacts/<path>` is its run file `artifacts/<path>`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use futures::TryStreamExt;
use serde_json::{json, Value};
use tokio_util::io::StreamReader;
use trainyard_engine::EngineError;

use super::error::MlflowError;
use super::request::{parse_run_id, Fields};
use super::wire;
use crate::state::AppState;

/// `<exp>/<run>/artifacts[/<rest>]` → (run id, rest).
fn split(path: &str) -> Result<(i64, String), MlflowError> {
    let mut parts = path.trim_start_matches('/').splitn(4, '/');
    let (exp, run, root) = (parts.next(), parts.next(), parts.next());
    let rest = parts.next().unwrap_or("").trim_end_matches('/').to_string();
    match (exp, run, root) {
        (Some(exp), Some(run), Some("artifacts")) if exp.parse::<i64>().is_ok() => {
            Ok((parse_run_id(run)?, rest))
        }
        _ => Err(MlflowError::invalid(format!(
            "Invalid path {:?}: expected <experiment id>/<run id>/artifacts/<path> (logged models are not stored yet)",
            path.chars().take(200).collect::<String>()
        ))),
    }
}

fn invalid_path(e: EngineError) -> MlflowError {
    match e {
        EngineError::BadRunPath { path, message } => {
            MlflowError::invalid(format!("Invalid path {path:?}: {message}"))
        }
        EngineError::RunFileNotFound { path, .. } => {
            MlflowError::not_found(format!("File {path:?} does not exist"))
        }
        other => other.into(),
    }
}

/// `PUT /api/2.0/mlflow-artifacts/artifacts/{*path}`: the raw body is the file.
pub async fn put(
    State(state): State<AppState>,
    Path(path): Path<String>,
    body: Body,
) -> Result<Json<Value>, MlflowError> {
    let (run, rest) = split(&path)?;
    if rest.is_empty() {
        return Err(MlflowError::invalid(
            "Invalid path: no file name after artifacts/",
        ));
    }
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    state
        .engine
        .put_artifact(run, &rest, StreamReader::new(stream))
        .await
        .map_err(invalid_path)?;
    Ok(Json(json!({})))
}

/// `GET /api/2.0/mlflow-artifacts/artifacts/{*path}`: the file's bytes.
pub async fn get(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, MlflowError> {
    let (run, rest) = split(&path)?;
    let (full, size) = state
        .engine
        .locate_artifact(run, &rest)
        .await
        .map_err(invalid_path)?;
    Ok(crate::api::run_files::file_download(&full, size, &rest).await?)
}

/// `GET /api/2.0/mlflow-artifacts/artifacts?path=<exp>/<run>/artifacts[/dir]`:
/// basenames; `{}` for a file or a missing directory (the client then GETs it).
pub async fn list(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, MlflowError> {
    let path = fields.opt_str("path")?.unwrap_or_default();
    let (run, rest) = split(&path)?;
    let entries = state
        .engine
        .list_artifacts(run, &rest)
        .await
        .map_err(invalid_path)?;
    Ok(Json(match entries {
        None => json!({}),
        Some(entries) => {
            json!({ "files": entries.iter().map(|e| entry(&e.name, e.is_dir, e.size)).collect::<Vec<_>>() })
        }
    }))
}

fn entry(path: &str, is_dir: bool, size: Option<u64>) -> Value {
    let mut v = json!({ "path": path, "is_dir": is_dir });
    if let Some(size) = size {
        v["file_size"] = json!(size);
    }
    v
}

/// `GET /api/2.0/mlflow/artifacts/list?run_id=&path=`: run-relative paths.
pub async fn list_by_run(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, MlflowError> {
    let id = fields.run_id()?;
    let dir = fields.opt_str("path")?.unwrap_or_default();
    let dir = dir.trim_matches('/');
    let run = state.engine.tracked_run(id).await?;
    let entries = state
        .engine
        .list_artifacts(id, dir)
        .await
        .map_err(invalid_path)?
        .unwrap_or_default();
    let files: Vec<Value> = entries
        .iter()
        .map(|e| {
            let path = if dir.is_empty() {
                e.name.clone()
            } else {
                format!("{dir}/{}", e.name)
            };
            entry(&path, e.is_dir, e.size)
        })
        .collect();
    Ok(Json(json!({
        "root_uri": wire::run_artifact_uri(run.experiment_id, id),
        "files": files,
    })))
}

/// Multipart uploads and presigned downloads: not offered (server-info says
/// so), answered as MLflow's client expects.
pub async fn multipart() -> MlflowError {
    MlflowError::not_implemented(
        "Multipart upload is not supported by this server; send the file in one PUT",
    )
}
