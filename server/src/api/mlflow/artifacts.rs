//! The artifact proxy (`mlflow-artifacts:` URIs): a run's artifact
//! `<exp>/<run>/artifacts/<path>` is its run file `artifacts/<path>`; a
//! model version's file `registry/<model>/<stage>/<version>/<path>` is its
//! payload file `<path>` (read-only; `get-download-uri` hands these out).

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

/// What an artifact path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// `<exp>/<run>/artifacts[/<path>]`: a run's artifact.
    Run { run: i64, path: String },
    /// `registry/<model>/<stage>/<version>[/<path>]`: a model version's
    /// payload (read-only).
    Version {
        model: String,
        stage: String,
        version: String,
        path: String,
    },
}

/// Reads an artifact path (the part after `mlflow-artifacts:/`).
pub fn target(path: &str) -> Result<Target, MlflowError> {
    let trimmed = path.trim_start_matches('/');
    let bad = || {
        MlflowError::invalid(format!(
            "Invalid path {:?}: expected <experiment id>/<run id>/artifacts/<path> or {}/<model>/<stage>/<version>/<path>",
            path.chars().take(200).collect::<String>(),
            wire::REGISTRY_ROOT
        ))
    };
    if let Some(rest) = trimmed
        .strip_prefix(wire::REGISTRY_ROOT)
        .and_then(|r| r.strip_prefix('/'))
    {
        let mut parts = rest.splitn(4, '/');
        return match (parts.next(), parts.next(), parts.next()) {
            (Some(model), Some(stage), Some(version))
                if !model.is_empty() && !stage.is_empty() && !version.is_empty() =>
            {
                Ok(Target::Version {
                    model: model.to_string(),
                    stage: stage.to_string(),
                    version: version.to_string(),
                    path: parts.next().unwrap_or("").trim_end_matches('/').to_string(),
                })
            }
            _ => Err(bad()),
        };
    }
    let mut parts = trimmed.splitn(4, '/');
    let (exp, run, root) = (parts.next(), parts.next(), parts.next());
    let rest = parts.next().unwrap_or("").trim_end_matches('/').to_string();
    match (exp, run, root) {
        (Some(exp), Some(run), Some("artifacts")) if exp.parse::<i64>().is_ok() => {
            Ok(Target::Run {
                run: parse_run_id(run)?,
                path: rest,
            })
        }
        _ => Err(bad()),
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
    let (run, rest) =
        match target(&path)? {
            Target::Run { run, path } => (run, path),
            Target::Version { .. } => return Err(MlflowError::invalid(
                "a model version's files are read-only; log to a run and register a new version",
            )),
        };
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
    let (run, rest) = match target(&path)? {
        Target::Run { run, path } => (run, path),
        Target::Version {
            model,
            stage,
            version,
            path,
        } => {
            let file = state
                .engine
                .model_file(&model, &stage, &version, &path)
                .await
                .map_err(invalid_path)?;
            return Ok(crate::api::run_files::file_download(&file.path, file.size, &path).await?);
        }
    };
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
    let entries = match target(&path)? {
        Target::Run { run, path } => state.engine.list_artifacts(run, &path).await,
        Target::Version {
            model,
            stage,
            version,
            path,
        } => {
            state
                .engine
                .model_payload_entries(&model, &stage, &version, &path)
                .await
        }
    }
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
