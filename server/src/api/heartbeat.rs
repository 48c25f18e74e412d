//! `POST /api/v1/agents/heartbeat`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use trainyard_core::{protocol, Heartbeat, HeartbeatAck};

use super::error::ApiError;
use crate::state::AppState;

pub async fn post_heartbeat(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<HeartbeatAck>, ApiError> {
    let body = body.map_err(|r| {
        let status = r.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!(
                "heartbeat is larger than {} KiB",
                protocol::MAX_HEARTBEAT_BYTES / 1024
            )
        } else {
            format!("could not read the heartbeat body: {}", r.body_text())
        };
        ApiError::new(status, "bad_body", message)
    })?;
    let heartbeat = parse(&body)?;
    let server_time_ms = state.engine.ingest_heartbeat(heartbeat)?;
    Ok(Json(HeartbeatAck { server_time_ms }))
}

/// Parses the body, telling an agent of another protocol version apart from a
/// malformed body: a future agent's heartbeat may not fit today's shape.
fn parse(body: &[u8]) -> Result<Heartbeat, ApiError> {
    match serde_json::from_slice::<Heartbeat>(body) {
        Ok(hb) => Ok(hb),
        Err(e) => {
            #[derive(Deserialize)]
            struct VersionOnly {
                protocol_version: u32,
            }
            if let Ok(v) = serde_json::from_slice::<VersionOnly>(body) {
                trainyard_engine::EngineError::check_protocol(v.protocol_version)?;
            }
            Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_heartbeat",
                format!("heartbeat is not valid JSON for this server: {e}"),
            ))
        }
    }
}
