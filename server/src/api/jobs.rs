//! Experiments and jobs for people and scripts: submit a YAML config, list,
//! inspect, cancel, re-prioritize, re-run.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use trainyard_core::protocol::codes;
use trainyard_core::{JobDetail, JobStatus, JobView, PriorityChange, SubmitOptions, SubmitResult};
use trainyard_engine::JobFilter;

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, JobIdPath};
use crate::state::AppState;

/// Largest config accepted (a sweep file, not a dataset).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// `POST /api/v1/experiments`: the body is the YAML config; scheduling
/// overrides come as query parameters (`priority`, `gpus`, `host`,
/// `min_gpu_memory_mb`).
pub async fn submit(
    State(state): State<AppState>,
    ApiQuery(options): ApiQuery<SubmitOptions>,
    body: String,
) -> Result<(StatusCode, Json<SubmitResult>), ApiError> {
    let result = state.engine.submit(&body, options).await?;
    Ok((StatusCode::CREATED, Json(result)))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    sweep: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/v1/jobs?status=running&sweep=3&limit=100`
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(str::parse::<JobStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request(codes::BAD_QUERY, format!("status: {e}")))?;
    let jobs = state
        .engine
        .jobs(JobFilter {
            status,
            sweep_id: query.sweep,
            limit: query.limit,
        })
        .await?;
    Ok(Json(jobs))
}

/// `GET /api/v1/jobs/{id}`
pub async fn get(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<JobDetail>, ApiError> {
    Ok(Json(state.engine.job(id).await?))
}

/// `POST /api/v1/jobs/{id}/cancel`
pub async fn cancel(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(state.engine.cancel_job(id).await?))
}

/// `POST /api/v1/jobs/{id}/priority` with `{"priority": "high"}`
pub async fn priority(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
    ApiJson(change): ApiJson<PriorityChange>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(state.engine.set_priority(id, change.priority).await?))
}

#[derive(Debug, Deserialize)]
pub struct RerunQuery {
    #[serde(default)]
    exact: bool,
}

/// `POST /api/v1/jobs/{id}/rerun`: a new job with the same config;
/// `?exact=true` also pins it to the code the old job ran with.
pub async fn rerun(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
    ApiQuery(q): ApiQuery<RerunQuery>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    let job = if q.exact {
        state.engine.rerun_job_exactly(id).await?
    } else {
        state.engine.rerun_job(id).await?
    };
    Ok((StatusCode::CREATED, Json(job)))
}

/// `POST /api/v1/jobs/{id}/resume`: a failed, cancelled or lost job queued
/// again as its next attempt, from its newest attempt's synced files.
pub async fn resume(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(state.engine.resume_job(id).await?))
}
