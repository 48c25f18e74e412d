//! The versioned REST API for agents and scripts, under `/api/v1`.

pub mod auth;
pub mod error;
mod events;
mod heartbeat;
mod hosts;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::routing::{delete, get, post};
use axum::{middleware, Router};
use tower_http::set_header::SetResponseHeaderLayer;
use trainyard_core::protocol::{MAX_HEARTBEAT_BYTES, PROTOCOL_HEADER, PROTOCOL_VERSION};

use crate::state::AppState;
use error::ApiError;

/// Routes to nest at `/api/v1`.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/health", get(hosts::health))
        .route(
            "/agents/heartbeat",
            post(heartbeat::post_heartbeat).layer(DefaultBodyLimit::max(MAX_HEARTBEAT_BYTES)),
        )
        .route("/hosts", get(hosts::list_hosts))
        .route("/hosts/{id}", delete(hosts::delete_host))
        .route("/events", get(events::events))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state, auth::require_api_key))
        // Outermost, so every answer (401s included) names the server's version.
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(PROTOCOL_HEADER),
            HeaderValue::from(PROTOCOL_VERSION),
        ))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API route")
}
