//! The agent's run-file endpoints (docs/agent-protocol.md, "Run files"):
//! `GET …/files` (status), `PUT …/files/{path}` (append) and
//! `PUT …/uploads/{path}` (a chunk of a whole-file upload).

use std::io::Read;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use trainyard_core::protocol::codes::{OFFSET_MISMATCH, TOO_LARGE};
use trainyard_core::sync::{AppendAck, AppendQuery, SyncStatus, UploadQuery};
use trainyard_core::work::OffsetMismatch;
use trainyard_engine::files::MAX_CHUNK_BYTES;
use trainyard_engine::EngineError;

use super::agent_work::attempt_ref;
use super::error::ApiError;
use crate::state::AppState;

/// Body limit of the chunk routes: a chunk, plus room for gzip's framing of
/// data that did not compress.
pub const MAX_CHUNK_BODY_BYTES: usize = MAX_CHUNK_BYTES + (64 << 10);

/// `GET /api/v1/agents/jobs/{job}/attempts/{n}/files`
pub async fn status(
    State(state): State<AppState>,
    Path((job, attempt)): Path<(String, String)>,
) -> Result<Json<SyncStatus>, ApiError> {
    let at = attempt_ref(&job, &attempt)?;
    Ok(Json(state.engine.sync_status(at).await?))
}

/// `PUT /api/v1/agents/jobs/{job}/attempts/{n}/files/{*path}?offset=N&xxh3=H`
pub async fn append(
    State(state): State<AppState>,
    Path((job, attempt, path)): Path<(String, String, String)>,
    query: Result<Query<AppendQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let at = attempt_ref(&job, &attempt)?;
    let q = required(query, "offset (bytes) and xxh3 (hex)")?;
    let data = chunk(&headers, body)?;
    let result = state.engine.append_run_file(at, &path, &q, &data).await;
    match result {
        Ok(size) => Ok(Json(AppendAck { size }).into_response()),
        Err(e) => Ok(mismatch_or_error(e)),
    }
}

/// `PUT /api/v1/agents/jobs/{job}/attempts/{n}/uploads/{*path}?size&xxh3&offset&chunk_xxh3`
pub async fn upload(
    State(state): State<AppState>,
    Path((job, attempt, path)): Path<(String, String, String)>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let at = attempt_ref(&job, &attempt)?;
    let q = required(query, "size, xxh3, offset and chunk_xxh3")?;
    let data = chunk(&headers, body)?;
    match state
        .engine
        .upload_run_file_chunk(at, &path, &q, &data)
        .await
    {
        Ok(ack) => Ok(Json(ack).into_response()),
        Err(e) => Ok(mismatch_or_error(e)),
    }
}

/// The query, or 400 `bad_query` naming the fields it needs.
fn required<T>(query: Result<Query<T>, QueryRejection>, fields: &str) -> Result<T, ApiError> {
    query.map(|Query(q)| q).map_err(|e| {
        ApiError::bad_request(
            "bad_query",
            format!("{fields} are required: {}", e.body_text()),
        )
    })
}

/// An offset mismatch carries the server's size so the agent resumes there.
fn mismatch_or_error(e: EngineError) -> Response {
    match e {
        EngineError::FileOffsetMismatch { size, .. } => (
            StatusCode::CONFLICT,
            Json(OffsetMismatch {
                code: OFFSET_MISMATCH.into(),
                message: e.to_string(),
                size,
            }),
        )
            .into_response(),
        e => ApiError::from(e).into_response(),
    }
}

/// The request's bytes, inflated if sent with `Content-Encoding: gzip`.
fn chunk(headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), "bad_body", e.body_text()))?;
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
                    ApiError::bad_request(
                        "bad_body",
                        format!("the gzip body does not inflate: {e}"),
                    )
                })?;
            if inflated.len() > MAX_CHUNK_BYTES {
                return Err(too_large());
            }
            Ok(Bytes::from(inflated))
        }
        Some(other) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_body",
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
