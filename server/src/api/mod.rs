//! The versioned REST API for agents and scripts, under `/api/v1`.

mod agent_files;
mod agent_work;
pub mod auth;
mod compat;
pub mod error;
mod events;
mod heartbeat;
mod hosts;
mod job_log;
mod jobs;
mod metrics;
mod run_files;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::routing::{delete, get, post, put};
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
        .route(
            "/experiments",
            post(jobs::submit).layer(DefaultBodyLimit::max(jobs::MAX_CONFIG_BYTES)),
        )
        .route("/jobs", get(jobs::list))
        .route("/jobs/{id}", get(jobs::get))
        .route("/jobs/{id}/cancel", post(jobs::cancel))
        .route("/jobs/{id}/priority", post(jobs::priority))
        .route("/jobs/{id}/rerun", post(jobs::rerun))
        .route("/jobs/{id}/log", get(job_log::text))
        .route("/jobs/{id}/log/stream", get(job_log::sse))
        .route("/runs/{id}/metrics", get(metrics::keys))
        .route("/runs/{id}/metrics/{*key}", get(metrics::series))
        .route("/runs/{id}/files", get(run_files::list))
        .route("/runs/{id}/files/{*path}", get(run_files::download))
        .route("/runs/{id}/problems", get(run_files::problems))
        .route("/imports/reindex", post(run_files::reindex))
        .route("/agents/poll", post(agent_work::poll))
        .route(
            "/agents/jobs/{job}/attempts/{attempt}/started",
            post(agent_work::started),
        )
        .route(
            "/agents/jobs/{job}/attempts/{attempt}/log",
            put(agent_work::append_log)
                .layer(DefaultBodyLimit::max(agent_work::MAX_LOG_CHUNK_BYTES)),
        )
        .route(
            "/agents/jobs/{job}/attempts/{attempt}/files",
            get(agent_files::status),
        )
        .route(
            "/agents/jobs/{job}/attempts/{attempt}/files/{*path}",
            put(agent_files::append)
                .layer(DefaultBodyLimit::max(agent_files::MAX_CHUNK_BODY_BYTES)),
        )
        .route(
            "/agents/jobs/{job}/attempts/{attempt}/uploads/{*path}",
            put(agent_files::upload)
                .layer(DefaultBodyLimit::max(agent_files::MAX_CHUNK_BODY_BYTES)),
        )
        .route(
            "/agents/jobs/{job}/attempts/{attempt}/finished",
            post(agent_work::finished),
        )
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

/// Routes kept for scripts written against CVLab-Kit, nested at `/api`.
pub fn compat_router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/queue/add",
            post(compat::queue_add).layer(DefaultBodyLimit::max(jobs::MAX_CONFIG_BYTES)),
        )
        .layer(middleware::from_fn_with_state(state, auth::require_api_key))
}
