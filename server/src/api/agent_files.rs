//! The agent's run-file endpoints (docs/agent-protocol.md, "Run files"):
//! `GET …/files` (status), `PUT …/files/{path}` (append) and
//! `PUT …/uploads/{path}` (a chunk of a whole-file upload); and for a
//! later attempt, `GET …/resume` and `GET …/resume/{path}`: the files of
//! the newest earlier attempt, to resume from.

use std::io::Read;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use trainyard_core::protocol::codes::{BAD_BODY, TOO_LARGE};
use trainyard_core::sync::{AppendAck, AppendQuery, SyncStatus, UploadAck, UploadQuery};
use trainyard_core::work::ResumeFiles;
use trainyard_engine::MAX_CHUNK_BYTES;

use super::error::ApiError;
use super::extract::{ApiBytes, ApiQuery, AttemptPath, TailPath};
use crate::state::AppState;

/// Body limit of the chunk routes: a chunk, plus room for gzip's framing of
/// data that did not compress.
pub const MAX_CHUNK_BODY_BYTES: usize = MAX_CHUNK_BYTES + (64 << 10);

/// `GET /api/v1/agents/jobs/{job}/attempts/{n}/files`
pub async fn status(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
) -> Result<Json<SyncStatus>, ApiError> {
    Ok(Json(state.engine.sync_status(at).await?))
}

/// `GET /api/v1/agents/jobs/{job}/attempts/{n}/resume`: what attempt `n`
/// resumes from (an empty list when nothing).
pub async fn resume_list(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
) -> Result<Json<ResumeFiles>, ApiError> {
    Ok(Json(state.engine.resume_files(at).await?))
}

/// `GET /api/v1/agents/jobs/{job}/attempts/{n}/resume/{*path}`: one of
/// those files' bytes, streamed.
pub async fn resume_file(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
    TailPath(path): TailPath,
) -> Result<axum::response::Response, ApiError> {
    let (full, size) = state.engine.locate_resume_file(at, &path).await?;
    Ok(super::run_files::file_download(&full, size, &path).await?)
}

/// `PUT /api/v1/agents/jobs/{job}/attempts/{n}/files/{*path}?offset=N&xxh3=H`;
/// a wrong offset is 409 with the server's size.
pub async fn append(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
    TailPath(path): TailPath,
    ApiQuery(q): ApiQuery<AppendQuery>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Json<AppendAck>, ApiError> {
    let data = chunk(&headers, body)?;
    let size = state.engine.append_run_file(at, &path, &q, &data).await?;
    Ok(Json(AppendAck { size }))
}

/// `PUT /api/v1/agents/jobs/{job}/attempts/{n}/uploads/{*path}?size&xxh3&offset&chunk_xxh3`
pub async fn upload(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
    TailPath(path): TailPath,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> Result<Json<UploadAck>, ApiError> {
    let data = chunk(&headers, body)?;
    let ack = state
        .engine
        .upload_run_file_chunk(at, &path, &q, &data)
        .await?;
    Ok(Json(ack))
}

/// The request's bytes, inflated if sent with `Content-Encoding: gzip`.
fn chunk(headers: &HeaderMap, body: Bytes) -> Result<Bytes, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => {
            if body.len() > MAX_CHUNK_BYTES {
                return Err(too_large());
            }
            Ok(body)
        }
        Some("gzip") => {
            let mut inflated = Vec::with_capacity(body.len() * 2);
            flate2::read::GzDecoder::new(&body[..])
                .take(MAX_CHUNK_BYTES as u64 + 1)
                .read_to_end(&mut inflated)
                .map_err(|e| {
                    ApiError::bad_request(BAD_BODY, format!("the gzip body does not inflate: {e}"))
                })?;
            if inflated.len() > MAX_CHUNK_BYTES {
                return Err(too_large());
            }
            Ok(Bytes::from(inflated))
        }
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BAD_BODY,
            format!("Content-Encoding {other:?} is not supported; send gzip or plain bytes"),
        )),
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        TOO_LARGE,
        format!("a chunk may hold at most {MAX_CHUNK_BYTES} bytes (uncompressed)"),
    )
}
