//! The agent's job endpoints: long-poll for work, report start, output and end.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use trainyard_core::work::{
    AttemptRef, FinishedReport, LogAck, OffsetMismatch, PollRequest, PollResponse, StartedReport,
};
use trainyard_engine::EngineError;

use super::error::ApiError;
use super::jobs::job_id;
use crate::state::AppState;

/// Largest log chunk accepted in one request.
pub const MAX_LOG_CHUNK_BYTES: usize = 4 << 20;

pub async fn poll(
    State(state): State<AppState>,
    body: Result<Json<PollRequest>, JsonRejection>,
) -> Result<Json<PollResponse>, ApiError> {
    let Json(request) = body.map_err(|e| ApiError::bad_request("bad_body", e.body_text()))?;
    Ok(Json(state.engine.poll(request).await?))
}

pub async fn started(
    State(state): State<AppState>,
    Path((job, attempt)): Path<(String, String)>,
    body: Result<Json<StartedReport>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let at = attempt_ref(&job, &attempt)?;
    let Json(report) = body.map_err(|e| ApiError::bad_request("bad_body", e.body_text()))?;
    state.engine.attempt_started(at, report).await?;
    Ok(Json(serde_json::json!({})))
}

pub async fn finished(
    State(state): State<AppState>,
    Path((job, attempt)): Path<(String, String)>,
    body: Result<Json<FinishedReport>, JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let at = attempt_ref(&job, &attempt)?;
    let Json(report) = body.map_err(|e| ApiError::bad_request("bad_body", e.body_text()))?;
    state.engine.attempt_finished(at, report).await?;
    Ok(Json(serde_json::json!({})))
}

#[derive(Debug, Deserialize)]
pub struct OffsetQuery {
    offset: u64,
}

/// `PUT …/log?offset=N`: append raw bytes at N (see docs/agent-protocol.md).
pub async fn append_log(
    State(state): State<AppState>,
    Path((job, attempt)): Path<(String, String)>,
    query: Result<Query<OffsetQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let at = attempt_ref(&job, &attempt)?;
    let Query(OffsetQuery { offset }) = query.map_err(|e| {
        ApiError::bad_request(
            "bad_query",
            format!("offset (bytes, required): {}", e.body_text()),
        )
    })?;
    let body = body.map_err(|e| ApiError::new(e.status(), "bad_body", e.body_text()))?;
    match state.engine.append_log(at, offset, &body).await {
        Ok(size) => Ok(Json(LogAck { size }).into_response()),
        Err(e @ EngineError::LogOffsetMismatch { size, .. }) => Ok((
            StatusCode::CONFLICT,
            Json(OffsetMismatch {
                code: trainyard_core::protocol::codes::OFFSET_MISMATCH.into(),
                message: e.to_string(),
                size,
            }),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn attempt_ref(job: &str, attempt: &str) -> Result<AttemptRef, ApiError> {
    let job_id = job_id(job)?;
    let attempt = attempt
        .parse::<u32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_attempt",
                format!("attempt must be a positive integer, not {attempt:?}"),
            )
        })?;
    Ok(AttemptRef { job_id, attempt })
}
