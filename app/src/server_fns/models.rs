//! Server functions for the Models page: the registry's listings, the best
//! run of a project, and registering, promoting and moving LATEST from the
//! browser. Versions made here are recorded as the UI's (`registered_by:
//! ui`). Browser uploads and downloads use the REST routes directly
//! (multipart in, `Range`-able files out), with the session cookie.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use trainyard_core::models::{
    BestMode, BestRunReport, ModelSummary, ModelVersionView, ModelView, PromoteRequest,
    PublishBest, PublishedBest, RegisterFromRun,
};

#[cfg(feature = "ssr")]
use super::engine;
use super::UiError;

/// Who a version says registered it when it comes from the UI.
#[cfg(feature = "ssr")]
const REGISTERED_BY_UI: &str = "ui";

/// Every model with its version count and LATEST pointers.
#[server(prefix = "/ui")]
pub async fn list_models() -> Result<Vec<ModelSummary>, UiError> {
    Ok(engine()?.models().await?)
}

/// One model's versions per stage and each stage's LATEST.
#[server(prefix = "/ui")]
pub async fn load_model(name: String) -> Result<ModelView, UiError> {
    Ok(engine()?.model(&name).await?)
}

/// The runs of a project (or one sweep) ranked by their best value of a
/// metric, and the runs without it.
#[server(prefix = "/ui", input = Json)]
pub async fn rank_runs(
    project: String,
    sweep: Option<i64>,
    metric: String,
    mode: BestMode,
) -> Result<BestRunReport, UiError> {
    Ok(engine()?.best_run(&project, sweep, &metric, mode).await?)
}

/// The metric keys a project's runs logged, sorted: the choices for
/// ranking.
#[server(prefix = "/ui")]
pub async fn project_metric_keys(project: String) -> Result<Vec<String>, UiError> {
    let mut query = trainyard_core::runs::RunsQuery::newest(&project);
    query.page_size = 1;
    Ok(engine()?.runs_page(&query).await?.metric_keys)
}

/// Picks the best run and registers it as a version of `name`.
#[server(prefix = "/ui", input = Json)]
pub async fn publish_best_run(
    name: String,
    request: PublishBest,
) -> Result<PublishedBest, UiError> {
    Ok(engine()?
        .publish_best(&name, &request, REGISTERED_BY_UI)
        .await?)
}

/// Registers a version of `name` from one run's files.
#[server(prefix = "/ui", input = Json)]
pub async fn register_run(
    name: String,
    request: RegisterFromRun,
) -> Result<ModelVersionView, UiError> {
    Ok(engine()?
        .register_model_from_run(&name, &request, REGISTERED_BY_UI)
        .await?)
}

/// Copies a version to another stage, with its provenance.
#[server(prefix = "/ui", input = Json)]
pub async fn promote_version(
    name: String,
    version: String,
    request: PromoteRequest,
) -> Result<ModelVersionView, UiError> {
    Ok(engine()?
        .promote_model_version(&name, &version, &request, REGISTERED_BY_UI)
        .await?)
}

/// Moves a stage's LATEST to `version`.
#[server(prefix = "/ui")]
pub async fn set_latest_version(
    name: String,
    stage: String,
    version: String,
) -> Result<(), UiError> {
    Ok(engine()?.set_model_latest(&name, &stage, &version).await?)
}

/// Serves the stage's LATEST as a job (what served the stage before is
/// stopped first).
#[server(prefix = "/ui", input = Json)]
pub async fn serve_stage(
    name: String,
    stage: String,
    request: trainyard_core::serving::ServeRequest,
) -> Result<trainyard_core::serving::ServingView, UiError> {
    Ok(engine()?.serve_model(&name, &stage, &request).await?)
}

/// Stops what serves the stage.
#[server(prefix = "/ui")]
pub async fn stop_stage(
    name: String,
    stage: String,
) -> Result<trainyard_core::serving::ServingView, UiError> {
    Ok(engine()?.stop_serving(&name, &stage).await?)
}
