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

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
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
            EngineError::Config(_) => (StatusCode::BAD_REQUEST, "invalid_config"),
            EngineError::NoCommand => (StatusCode::BAD_REQUEST, "no_command"),
            EngineError::BadOption(_) => (StatusCode::BAD_REQUEST, "bad_option"),
            EngineError::JobNotFound(_) => (StatusCode::NOT_FOUND, "job_not_found"),
            EngineError::JobFinished { .. } => (StatusCode::CONFLICT, "job_finished"),
            EngineError::JobNotQueued { .. } => (StatusCode::CONFLICT, "job_not_queued"),
            EngineError::JobNotFinished { .. } => (StatusCode::CONFLICT, "job_not_finished"),
            EngineError::Superseded(_) => (StatusCode::CONFLICT, trainyard_core::work::SUPERSEDED),
            EngineError::LogOffsetMismatch { .. } => (StatusCode::CONFLICT, "offset_mismatch"),
            EngineError::LogTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "log_too_large"),
            EngineError::BadRunPath { .. } => (StatusCode::BAD_REQUEST, trainyard_core::sync::BAD_PATH),
            EngineError::FileOffsetMismatch { .. } => {
                (StatusCode::CONFLICT, trainyard_core::sync::OFFSET_MISMATCH)
            }
            EngineError::HashMismatch { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, trainyard_core::sync::HASH_MISMATCH)
            }
            EngineError::FileTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, trainyard_core::sync::TOO_LARGE)
            }
            EngineError::RunFileNotFound { .. } => (StatusCode::NOT_FOUND, "file_not_found"),
            EngineError::BadMetricQuery { .. } => (StatusCode::BAD_REQUEST, "bad_metric_query"),
            EngineError::MetricNotFound { .. } => (StatusCode::NOT_FOUND, "metric_not_found"),
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
