//! The one error type of the REST API: a status, a stable code and a message
//! for people, sent as JSON. Internal details are logged, not leaked.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use trainyard_core::ApiErrorBody;
use trainyard_engine::EngineError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong API key: send `Authorization: Bearer <key>` (agents: --token or TRAINYARD_TOKEN)",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiErrorBody {
            code: self.code.to_string(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let (status, code) = match &e {
            EngineError::ProtocolMismatch { .. } => {
                (StatusCode::UPGRADE_REQUIRED, "protocol_mismatch")
            }
            EngineError::InvalidHeartbeat(_) => (StatusCode::BAD_REQUEST, "invalid_heartbeat"),
            EngineError::HostNotFound(_) => (StatusCode::NOT_FOUND, "host_not_found"),
            EngineError::HostNotDisconnected { .. } => {
                (StatusCode::CONFLICT, "host_not_disconnected")
            }
            EngineError::DataDir { .. } | EngineError::Database(_) | EngineError::Migration(_) => {
                tracing::error!("internal error: {e}");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; the server log has the details",
                );
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}
