//! The MLflow tracking REST API, so scripts that log with the real `mlflow`
//! client (`MLFLOW_TRACKING_URI=http://<server>:3000`) log into Trainyard
//! unchanged: `/api/2.0/mlflow/*` (and the same under `/ajax-api/2.0`),
//! the artifact proxy `/api/2.0/mlflow-artifacts/*`, and
//! `/api/3.0/mlflow/server-info`. These paths and shapes are MLflow's
//! (observed with client 3.17, docs/tracking.md), so they live here rather
//! than in Trainyard's own route table; the rules are the engine's
//! (`engine/src/tracking/`).

mod artifacts;
mod error;
mod experiments;
mod registry;
mod request;
mod runs;
mod versions;
mod wire;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use serde_json::json;

use crate::auth;
use crate::state::AppState;
use error::{MlflowError, ENDPOINT_NOT_FOUND, UNAUTHENTICATED};

/// The MLflow client version whose calls this API was built against.
pub const MLFLOW_COMPAT_VERSION: &str = "3.17.2";

/// Tracking routes, mounted at `/api/2.0/mlflow` and `/ajax-api/2.0/mlflow`.
fn tracking() -> Router<AppState> {
    Router::new()
        .route("/experiments/get-by-name", get(experiments::get_by_name))
        .route("/experiments/get", get(experiments::get))
        .route("/experiments/create", post(experiments::create))
        .route(
            "/experiments/search",
            post(experiments::search).get(experiments::search),
        )
        .route("/experiments/update", post(experiments::update))
        .route("/experiments/delete", post(experiments::delete))
        .route("/experiments/restore", post(experiments::restore))
        .route(
            "/experiments/set-experiment-tag",
            post(experiments::set_tag),
        )
        .route(
            "/experiments/delete-experiment-tag",
            post(experiments::delete_tag),
        )
        .route("/runs/create", post(runs::create))
        .route("/runs/update", post(runs::update))
        .route("/runs/get", get(runs::get))
        .route("/runs/log-metric", post(runs::log_metric))
        .route("/runs/log-parameter", post(runs::log_param))
        .route("/runs/set-tag", post(runs::set_tag))
        .route("/runs/delete-tag", post(runs::delete_tag))
        .route("/runs/log-batch", post(runs::log_batch))
        .route("/runs/log-inputs", post(runs::log_inputs))
        .route("/runs/delete", post(runs::delete))
        .route("/runs/restore", post(runs::restore))
        .route("/runs/search", post(runs::search).get(runs::search))
        .route("/metrics/get-history", get(runs::get_history))
        .route("/artifacts/list", get(artifacts::list_by_run))
        // `list_artifacts(run, "dir")` looks for a logged model of that name
        // first; none are stored yet (the model registry is its own issue).
        .route("/logged-models/search", post(no_logged_models))
        .route("/logged-models", post(logged_models_not_stored))
        .merge(registry())
}

/// The model registry routes (`registry.rs`, `versions.rs`).
fn registry() -> Router<AppState> {
    Router::new()
        .route("/registered-models/create", post(registry::create))
        .route("/registered-models/get", get(registry::get))
        .route(
            "/registered-models/search",
            get(registry::search).post(registry::search),
        )
        .route(
            "/registered-models/get-latest-versions",
            post(registry::latest_versions).get(registry::latest_versions),
        )
        .route("/registered-models/update", patch(registry::update))
        .route("/registered-models/delete", delete(registry::delete))
        .route("/registered-models/rename", post(registry::rename))
        .route("/registered-models/set-tag", post(registry::set_tag))
        .route(
            "/registered-models/delete-tag",
            delete(registry::delete_tag),
        )
        .route(
            "/registered-models/alias",
            post(registry::set_alias)
                .get(registry::get_alias)
                .delete(registry::delete_alias),
        )
        .route("/model-versions/create", post(versions::create))
        .route("/model-versions/get", get(versions::get))
        .route(
            "/model-versions/search",
            get(versions::search).post(versions::search),
        )
        .route(
            "/model-versions/get-download-uri",
            get(versions::download_uri),
        )
        .route("/model-versions/update", patch(versions::update))
        .route("/model-versions/set-tag", post(versions::set_tag))
        .route("/model-versions/delete-tag", delete(versions::delete_tag))
        .route("/model-versions/delete", delete(versions::delete))
        .route(
            "/model-versions/transition-stage",
            post(registry::transition),
        )
}

/// Everything under `/api/2.0` (also `/ajax-api/2.0`).
fn api_2_0() -> Router<AppState> {
    Router::new()
        .nest("/mlflow", tracking())
        .route("/mlflow-artifacts/artifacts", get(artifacts::list))
        .route(
            "/mlflow-artifacts/artifacts/{*path}",
            get(artifacts::get).put(artifacts::put),
        )
        .route("/mlflow-artifacts/mpu/{*path}", post(artifacts::multipart))
        .route(
            "/mlflow-artifacts/presigned/{*path}",
            get(artifacts::multipart),
        )
        .fallback(endpoint_not_found)
}

/// The MLflow API, to merge into the server's router.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .nest("/api/2.0", api_2_0())
        .nest("/ajax-api/2.0", api_2_0())
        .nest(
            "/api/3.0",
            Router::new()
                .route("/mlflow/server-info", get(server_info))
                .fallback(endpoint_not_found),
        )
        .layer(middleware::from_fn_with_state(state, require_key))
}

/// The API key as `MLFLOW_TRACKING_TOKEN` (Bearer) or as the password of
/// `MLFLOW_TRACKING_USERNAME`/`PASSWORD` (Basic); 401 in MLflow's shape.
async fn require_key(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    match auth::caller(&state, request.headers()) {
        Some(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => MlflowError {
            status: axum::http::StatusCode::UNAUTHORIZED,
            error_code: UNAUTHENTICATED,
            message: "missing or wrong API key: set MLFLOW_TRACKING_TOKEN to the server's key"
                .into(),
        }
        .into_response(),
    }
}

async fn endpoint_not_found(request: Request) -> MlflowError {
    MlflowError {
        status: axum::http::StatusCode::NOT_FOUND,
        error_code: ENDPOINT_NOT_FOUND,
        message: format!(
            "{} {} is not an MLflow endpoint this server implements",
            request.method(),
            request.uri().path()
        ),
    }
}

async fn server_info() -> Json<serde_json::Value> {
    Json(json!({
        "store_type": "SqlStore",
        "workspaces_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
    }))
}

async fn no_logged_models() -> Json<serde_json::Value> {
    Json(json!({ "models": [] }))
}

async fn logged_models_not_stored() -> MlflowError {
    MlflowError::not_implemented(
        "logged models (mlflow.<flavor>.log_model) are not stored by this server yet; log the files with log_artifacts",
    )
}
