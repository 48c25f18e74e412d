//! The launcher: the catalog (its revisions, a diff, restore), the tasks'
//! forms, and launches. An invalid catalog is answered with every problem
//! (`errors`, each with its field path and line).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use trainyard_core::catalog::{
    CatalogDiff, CatalogProblems, CatalogRevision, CatalogRevisionContent, CatalogSaved,
    CatalogTasks, CatalogView, JobLaunch, LaunchRequest, LaunchResult, SaveCatalog,
};
use trainyard_core::protocol::codes;
use trainyard_engine::{Actor, EngineError};

use super::error::ApiError;
use super::extract::{ApiActor, ApiJson, ApiQuery, JobIdPath, PathParams};
use crate::auth::Caller;
use crate::state::AppState;

/// Who a revision says saved it: the caller, or `local` on a server
/// without a key.
fn saved_by(actor: &Actor) -> &str {
    if actor.who == Caller::Open.label() {
        "local"
    } else {
        &actor.who
    }
}

/// A refused save with its problems listed; other errors as usual.
fn save_error(e: EngineError) -> Response {
    match e {
        EngineError::InvalidCatalog(errors) => {
            let body = CatalogProblems {
                code: codes::INVALID_CATALOG.to_string(),
                message: EngineError::InvalidCatalog(errors.clone()).to_string(),
                errors: errors.0,
            };
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
        e => ApiError::from(e).into_response(),
    }
}

fn revision_id(params: &PathParams) -> Result<i64, ApiError> {
    let raw = params.get("id")?;
    raw.parse().map_err(|_| {
        ApiError::bad_request(
            codes::BAD_QUERY,
            format!("a revision id is a number, not {raw:?}"),
        )
    })
}

/// `GET /api/v1/catalog`: the running YAML and its revision.
pub async fn get(State(state): State<AppState>) -> Json<CatalogView> {
    Json(state.engine.catalog())
}

/// `POST /api/v1/catalog` `{content}`: 201 with the new revision, 200 when
/// the content is the running one's, 400 `invalid_catalog` with `errors`.
pub async fn save(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(req): ApiJson<SaveCatalog>,
) -> Response {
    match state
        .engine
        .save_catalog(&req.content, saved_by(&actor))
        .await
    {
        Ok(saved) => saved_response(saved),
        Err(e) => save_error(e),
    }
}

fn saved_response(saved: CatalogSaved) -> Response {
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, Json(saved)).into_response()
}

/// `GET /api/v1/catalog/revisions`: newest first.
pub async fn revisions(
    State(state): State<AppState>,
) -> Result<Json<Vec<CatalogRevision>>, ApiError> {
    Ok(Json(state.engine.catalog_revisions().await?))
}

/// `GET /api/v1/catalog/revisions/{id}`: one revision with its content.
pub async fn revision(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<Json<CatalogRevisionContent>, ApiError> {
    let id = revision_id(&params)?;
    Ok(Json(state.engine.catalog_revision(id).await?))
}

/// `POST /api/v1/catalog/revisions/{id}/restore`: saves it as a new revision.
pub async fn restore(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: PathParams,
) -> Response {
    let id = match revision_id(&params) {
        Ok(id) => id,
        Err(e) => return e.into_response(),
    };
    match state
        .engine
        .restore_catalog_revision(id, saved_by(&actor))
        .await
    {
        Ok(saved) => saved_response(saved),
        Err(e) => save_error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    from: i64,
    to: i64,
}

/// `GET /api/v1/catalog/diff?from=A&to=B`: a unified line diff.
pub async fn diff(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DiffQuery>,
) -> Result<Json<CatalogDiff>, ApiError> {
    Ok(Json(
        state.engine.diff_catalog_revisions(q.from, q.to).await?,
    ))
}

/// `GET /api/v1/catalog/tasks`: the enabled tasks' forms.
pub async fn tasks(State(state): State<AppState>) -> Json<CatalogTasks> {
    Json(state.engine.catalog_tasks())
}

/// `POST /api/v1/launch`: 201 with the queued jobs (200 for a preview).
pub async fn launch(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LaunchRequest>,
) -> Result<(StatusCode, Json<LaunchResult>), ApiError> {
    let preview = req.preview;
    let result = state.engine.launch(req).await?;
    let status = if preview {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(result)))
}

/// `GET /api/v1/jobs/{id}/launch`: the task, revision and values that
/// launched the job (404 `not_launched` for a job submitted as a config).
pub async fn job_launch(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<JobLaunch>, ApiError> {
    Ok(Json(state.engine.job_launch(id).await?))
}
