//! `POST /api/v1/agents/heartbeat`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use trainyard_core::protocol::codes;
use trainyard_core::{Heartbeat, HeartbeatAck};
use trainyard_engine::EngineError;

use super::error::ApiError;
use super::extract::ApiBytes;
use crate::state::AppState;

/// `POST /api/v1/agents/heartbeat` (at most `MAX_HEARTBEAT_BYTES`).
pub async fn post_heartbeat(
    State(state): State<AppState>,
    ApiBytes(body): ApiBytes,
) -> Result<Json<HeartbeatAck>, ApiError> {
    let heartbeat = parse(&body)?;
    let server_time_ms = state.engine.ingest_heartbeat(heartbeat)?;
    Ok(Json(HeartbeatAck { server_time_ms }))
}

/// Parses the body, telling an agent of another protocol version apart from a
/// malformed body: a future agent's heartbeat may not fit today's shape.
fn parse(body: &[u8]) -> Result<Heartbeat, ApiError> {
    // The whole body is checked for UTF-8 once (a fast pass over ASCII), so
    // the parser need not check each of the ~150 strings of an 8-GPU
    // heartbeat again: `from_str` parses ~20% faster than `from_slice`.
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_HEARTBEAT,
            format!("heartbeat is not valid JSON for this server: the body is not UTF-8 ({e})"),
        )
    })?;
    match serde_json::from_str::<Heartbeat>(text) {
        Ok(hb) => Ok(hb),
        Err(e) => {
            #[derive(Deserialize)]
            struct VersionOnly {
                protocol_version: u32,
            }
            if let Ok(v) = serde_json::from_str::<VersionOnly>(text) {
                EngineError::check_protocol(v.protocol_version)?;
            }
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                codes::INVALID_HEARTBEAT,
                format!("heartbeat is not valid JSON for this server: {e}"),
            ))
        }
    }
}
