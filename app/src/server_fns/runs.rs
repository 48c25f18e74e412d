//! Server functions for results: a run's metrics, projects and their runs
//! table, notes and tags, comparisons, CSV export and live progress.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use trainyard_core::runs::{
    ProjectSummary, RunComparison, RunNotes, RunProgress, RunsPage, RunsQuery,
};
use trainyard_core::{MetricSeries, MetricSummary};

#[cfg(feature = "ssr")]
use super::engine_error;

/// Points per series a comparison draws at most.
pub const COMPARE_POINTS: u32 = 500;

#[server(prefix = "/ui")]
pub async fn run_metrics(id: i64) -> Result<Vec<MetricSummary>, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.metric_keys(id).await.map_err(engine_error)
}

#[server(prefix = "/ui", input = Json)]
pub async fn run_series(
    id: i64,
    key: String,
    max_points: u32,
    from: Option<f64>,
    to: Option<f64>,
) -> Result<MetricSeries, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine
        .metric_series(id, &key, max_points, from, to)
        .await
        .map_err(engine_error)
}

#[server(prefix = "/ui")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.projects().await.map_err(engine_error)
}

#[server(prefix = "/ui", input = Json)]
pub async fn list_runs(query: RunsQuery) -> Result<RunsPage, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.runs_page(&query).await.map_err(engine_error)
}

#[server(prefix = "/ui", input = Json)]
pub async fn export_runs_csv(query: RunsQuery) -> Result<String, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.runs_csv(&query).await.map_err(engine_error)
}

#[server(prefix = "/ui", input = Json)]
pub async fn save_run_notes(id: i64, notes: RunNotes) -> Result<RunNotes, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine
        .set_run_notes(id, notes)
        .await
        .map_err(engine_error)
}

#[server(prefix = "/ui", input = Json)]
pub async fn compare_runs(ids: Vec<i64>) -> Result<RunComparison, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine
        .compare_runs(&ids, COMPARE_POINTS)
        .await
        .map_err(engine_error)
}

#[server(prefix = "/ui")]
pub async fn list_progress() -> Result<Vec<RunProgress>, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    Ok(ctx.engine.progress())
}
