//! A run's files for people and scripts: `GET /api/v1/runs/{id}/files`
//! (every file with size and xxh3), `GET /api/v1/runs/{id}/files/{*path}`
//! (download) and `GET /api/v1/runs/{id}/problems` (lines that could not be
//! indexed). `{id}` is the job id.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tokio_util::io::ReaderStream;
use trainyard_core::metrics::RunProblem;
use trainyard_core::sync::FileEntry;
use trainyard_engine::EngineError;

use super::error::ApiError;
use super::extract::{JobIdPath, TailPath};
use crate::state::AppState;

/// `GET /api/v1/runs/{id}/files`
pub async fn list(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<Vec<FileEntry>>, ApiError> {
    Ok(Json(state.engine.run_files(id).await?))
}

/// `GET /api/v1/runs/{id}/files/{*path}`: the file's bytes, streamed.
pub async fn download(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
    TailPath(path): TailPath,
) -> Result<Response, ApiError> {
    let (full, size) = state.engine.locate_run_file(id, &path).await?;
    Ok(file_download(&full, size, &path).await?)
}

/// A file on disk as a streamed download named after `path`'s last part,
/// with its type guessed from the extension.
pub(crate) async fn file_download(
    full: &std::path::Path,
    size: u64,
    path: &str,
) -> Result<Response, EngineError> {
    let file = tokio::fs::File::open(full)
        .await
        .map_err(|source| EngineError::Io {
            path: full.to_path_buf(),
            source,
        })?;
    let name = path.rsplit('/').next().unwrap_or("file");
    let mut response =
        Body::from_stream(ReaderStream::with_capacity(file, super::ranged::CHUNK)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(name)),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}\"",
        name.replace(['"', '\\'], "_")
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .collect::<String>()
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// `GET /api/v1/runs/{id}/problems`
pub async fn problems(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<Vec<RunProblem>>, ApiError> {
    Ok(Json(state.engine.run_problems(id).await?))
}

fn content_type(name: &str) -> &'static str {
    let extension = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "csv" => "text/csv; charset=utf-8",
        "log" | "txt" | "out" | "err" | "yaml" | "yml" | "py" | "md" | "tsv" => {
            "text/plain; charset=utf-8"
        }
        "json" | "jsonl" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}
