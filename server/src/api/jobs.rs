//! Experiments and jobs for people and scripts: submit a YAML config, list,
//! inspect, cancel, re-prioritize, re-run.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use trainyard_core::{JobDetail, JobStatus, JobView, PriorityChange, SubmitOptions, SubmitResult};
use trainyard_engine::JobFilter;

use super::error::ApiError;
use crate::state::AppState;

/// Largest config accepted (a sweep file, not a dataset).
pub const MAX_CONFIG_BYTES: usize = 1 << 20;

/// `POST /api/v1/experiments`: the body is the YAML config; scheduling
/// overrides come as query parameters (`priority`, `gpus`, `host`,
/// `min_gpu_memory_mb`).
pub async fn submit(
    State(state): State<AppState>,
    options: Result<Query<SubmitOptions>, axum::extract::rejection::QueryRejection>,
    body: String,
) -> Result<(StatusCode, Json<SubmitResult>), ApiError> {
    let Query(options) = options.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
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
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let status = query
        .status
        .as_deref()
        .map(str::parse::<JobStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_query", format!("status: {e}")))?;
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
    Path(id): Path<String>,
) -> Result<Json<JobDetail>, ApiError> {
    Ok(Json(state.engine.job(job_id(&id)?).await?))
}

/// `POST /api/v1/jobs/{id}/cancel`
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    Ok(Json(state.engine.cancel_job(job_id(&id)?).await?))
}

/// `POST /api/v1/jobs/{id}/priority` with `{"priority": "high"}`
pub async fn priority(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<PriorityChange>, JsonRejection>,
) -> Result<Json<JobView>, ApiError> {
    let id = job_id(&id)?;
    let Json(change) = body.map_err(|e| ApiError::bad_request("bad_body", e.body_text()))?;
    Ok(Json(state.engine.set_priority(id, change.priority).await?))
}

/// `POST /api/v1/jobs/{id}/rerun`: a new job with the same config.
pub async fn rerun(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<JobView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.engine.rerun_job(job_id(&id)?).await?),
    ))
}

/// A job id from a URL segment.
pub fn job_id(segment: &str) -> Result<i64, ApiError> {
    segment
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_job_id",
                format!("job id must be a positive integer, not {segment:?}"),
            )
        })
}
