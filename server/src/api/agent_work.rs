//! The agent's job endpoints: long-poll for work, report start, output and end.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::Json;
use serde::Deserialize;
use trainyard_core::work::{
    FinishedReport, LogAck, PollRequest, PollResponse, ServingReport, StartedReport,
};

use super::error::ApiError;
use super::extract::{ApiBytes, ApiJson, ApiQuery, AttemptPath};
use crate::state::AppState;

/// Largest log chunk accepted in one request.
pub const MAX_LOG_CHUNK_BYTES: usize = 4 << 20;

/// An acknowledgement with nothing in it: `{}`.
#[derive(Debug, serde::Serialize)]
pub struct Ack {}

/// `POST /api/v1/agents/poll`
pub async fn poll(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<PollRequest>,
) -> Result<Json<PollResponse>, ApiError> {
    Ok(Json(state.engine.poll(request).await?))
}

/// `POST …/attempts/{n}/started`
pub async fn started(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
    ApiJson(report): ApiJson<StartedReport>,
) -> Result<Json<Ack>, ApiError> {
    state.engine.attempt_started(at, report).await?;
    Ok(Json(Ack {}))
}

/// `POST …/attempts/{n}/finished`
pub async fn finished(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
    ApiJson(report): ApiJson<FinishedReport>,
) -> Result<Json<Ack>, ApiError> {
    state.engine.attempt_finished(at, report).await?;
    Ok(Json(Ack {}))
}

/// `POST …/attempts/{n}/serving`: a serving attempt answers its health
/// path; the proxy forwards to `address` (default: where the report came
/// from) and `port`.
pub async fn serving(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(report): ApiJson<ServingReport>,
) -> Result<Json<Ack>, ApiError> {
    let address = report
        .address
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| peer.ip().to_string());
    state
        .engine
        .serving_reported(at, &address, report.port)
        .await?;
    Ok(Json(Ack {}))
}

#[derive(Debug, Deserialize)]
pub struct OffsetQuery {
    offset: u64,
}

/// `PUT …/log?offset=N`: append raw bytes at N (see docs/agent-protocol.md);
/// a wrong offset is 409 with the server's size.
pub async fn append_log(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
    ApiQuery(OffsetQuery { offset }): ApiQuery<OffsetQuery>,
    ApiBytes(body): ApiBytes,
) -> Result<Json<LogAck>, ApiError> {
    let size = state.engine.append_log(at, offset, &body).await?;
    Ok(Json(LogAck { size }))
}
