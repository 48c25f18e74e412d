//! A run's metrics: `GET /api/v1/runs/{id}/metrics` (every key with its
//! summary) and `GET /api/v1/runs/{id}/metrics/{key}` (one series in at most
//! `max_points` min/max/last buckets, optionally over `from`..`to` steps).
//! `{id}` is the job id. A key with `/` may be sent encoded (`train%2Floss`)
//! or as is (`train/loss`): the route takes the rest of the path.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use trainyard_core::metrics::DEFAULT_CHART_POINTS;
use trainyard_core::protocol::codes;
use trainyard_core::{MetricSeries, MetricSummary};

use super::error::ApiError;
use super::extract::{ApiQuery, JobIdPath, TailPath};
use crate::state::AppState;

/// Raw query values, parsed here so a bad one is reported by name.
#[derive(Debug, Deserialize)]
pub struct SeriesQuery {
    max_points: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /api/v1/runs/{id}/metrics`
pub async fn keys(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<Vec<MetricSummary>>, ApiError> {
    Ok(Json(state.engine.metric_keys(id).await?))
}

/// `GET /api/v1/runs/{id}/metrics/{key}?max_points=N&from=&to=`
pub async fn series(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
    TailPath(key): TailPath,
    ApiQuery(q): ApiQuery<SeriesQuery>,
) -> Result<Json<MetricSeries>, ApiError> {
    let max_points = match q.max_points.as_deref() {
        None | Some("") => DEFAULT_CHART_POINTS,
        Some(raw) => raw.parse().map_err(|_| bad("max_points", raw))?,
    };
    let from = step("from", q.from.as_deref())?;
    let to = step("to", q.to.as_deref())?;
    Ok(Json(
        state
            .engine
            .metric_series(id, &key, max_points, from, to)
            .await?,
    ))
}

fn step(field: &'static str, raw: Option<&str>) -> Result<Option<f64>, ApiError> {
    match raw {
        None | Some("") => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| bad(field, raw)),
    }
}

fn bad(field: &str, raw: &str) -> ApiError {
    ApiError::bad_request(
        codes::BAD_METRIC_QUERY,
        format!("{field}: {raw:?} is not a number"),
    )
}
