//! MLflow's error shape, `{"error_code": "...", "message": "..."}`, with
//! its status mapping. Only failures that may pass on a retry are 5xx: the
//! client retries 5xx for minutes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use trainyard_engine::{EngineError, ErrorKind};

#[derive(Debug)]
pub struct MlflowError {
    pub status: StatusCode,
    pub error_code: &'static str,
    pub message: String,
}

pub const INVALID_PARAMETER_VALUE: &str = "INVALID_PARAMETER_VALUE";
pub const RESOURCE_DOES_NOT_EXIST: &str = "RESOURCE_DOES_NOT_EXIST";
pub const RESOURCE_ALREADY_EXISTS: &str = "RESOURCE_ALREADY_EXISTS";
pub const ENDPOINT_NOT_FOUND: &str = "ENDPOINT_NOT_FOUND";
pub const NOT_IMPLEMENTED: &str = "NOT_IMPLEMENTED";
pub const BAD_REQUEST: &str = "BAD_REQUEST";
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub const INTERNAL_ERROR: &str = "INTERNAL_ERROR";

impl MlflowError {
    pub fn invalid(message: impl Into<String>) -> MlflowError {
        MlflowError {
            status: StatusCode::BAD_REQUEST,
            error_code: INVALID_PARAMETER_VALUE,
            message: message.into(),
        }
    }

    pub fn missing(field: &str) -> MlflowError {
        MlflowError::invalid(format!("Missing value for required parameter '{field}'."))
    }

    pub fn not_found(message: impl Into<String>) -> MlflowError {
        MlflowError {
            status: StatusCode::NOT_FOUND,
            error_code: RESOURCE_DOES_NOT_EXIST,
            message: message.into(),
        }
    }

    pub fn not_implemented(message: impl Into<String>) -> MlflowError {
        MlflowError {
            status: StatusCode::NOT_IMPLEMENTED,
            error_code: NOT_IMPLEMENTED,
            message: message.into(),
        }
    }
}

impl IntoResponse for MlflowError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({
                "error_code": self.error_code,
                "message": self.message,
            })),
        )
            .into_response()
    }
}

impl From<EngineError> for MlflowError {
    fn from(e: EngineError) -> MlflowError {
        let message = e.public_message();
        let (status, error_code) = match (&e, e.code().1) {
            (
                EngineError::ExperimentExists(_)
                | EngineError::ModelExists(_)
                | EngineError::ModelVersionExists { .. },
                _,
            ) => (StatusCode::BAD_REQUEST, RESOURCE_ALREADY_EXISTS),
            (_, ErrorKind::NotFound) => (StatusCode::NOT_FOUND, RESOURCE_DOES_NOT_EXIST),
            (_, ErrorKind::Internal) => (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_ERROR),
            // Everything else will fail again: a 4xx, never retried.
            _ => (StatusCode::BAD_REQUEST, INVALID_PARAMETER_VALUE),
        };
        MlflowError {
            status,
            error_code,
            message,
        }
    }
}
