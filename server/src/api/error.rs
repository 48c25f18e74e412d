//! The one error type of the REST API: a status, a stable code and a message
//! for people, sent as JSON. Internal details are logged, not leaked.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use trainyard_core::protocol::codes;
use trainyard_core::work::OffsetMismatch;
use trainyard_core::ApiErrorBody;
use trainyard_engine::{EngineError, ErrorKind};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// An offset mismatch's current size, so the sender resends from there.
    pub size: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            size: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `bad_body` with `message`.
    pub fn bad_body_text(message: impl Into<String>) -> ApiError {
        ApiError::bad_request(codes::BAD_BODY, message)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            codes::UNAUTHORIZED,
            "missing or wrong API key: send `Authorization: Bearer <key>` (agents: --token or TRAINYARD_TOKEN)",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.code.to_string();
        match self.size {
            Some(size) => {
                let body = OffsetMismatch {
                    code,
                    message: self.message,
                    size,
                };
                (self.status, Json(body)).into_response()
            }
            None => {
                let body = ApiErrorBody {
                    code,
                    message: self.message,
                };
                (self.status, Json(body)).into_response()
            }
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let (code, kind) = e.code();
        let status = match kind {
            ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::UpgradeRequired => StatusCode::UPGRADE_REQUIRED,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let size = match &e {
            EngineError::LogOffsetMismatch { size, .. }
            | EngineError::FileOffsetMismatch { size, .. } => Some(*size),
            _ => None,
        };
        ApiError {
            size,
            ..ApiError::new(status, code, e.public_message())
        }
    }
}
