//! The model registry over HTTP (issue 14): models and their stages,
//! registering a version from a run's files (JSON) or an upload
//! (multipart), publish-best, promotion, LATEST, and the downloads
//! (`bundle.tar.gz`, `manifest.json`, payload files) with Range and ETag.
//! Also the best-run query, `GET /api/v1/projects/{name}/best`.

use axum::extract::{Multipart, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::TryStreamExt;
use serde::Deserialize;
use tokio_util::io::StreamReader;
use trainyard_core::models::{
    BestMode, BestRunReport, MirrorView, ModelSummary, ModelView, PromoteRequest, PublishBest,
    RegisterFromRun, SetLatest, UploadVersion, BUNDLE_FILE, MANIFEST_FILE,
};
use trainyard_core::protocol::codes;
use trainyard_core::serving::{ServeRequest, ServingView};
use trainyard_engine::{Actor, EngineError};

use super::error::ApiError;
use super::extract::{ApiActor, ApiJson, ApiQuery, PathParams, TailPath};
use super::ranged;
use crate::auth::Caller;
use crate::state::AppState;

/// The largest JSON body of a registration.
const MAX_JSON_BYTES: usize = 1 << 20;

/// Who a version says registered it: the caller, or `local` on a server
/// without a key.
fn registered_by(actor: &Actor) -> &str {
    if actor.who == Caller::Open.label() {
        "local"
    } else {
        &actor.who
    }
}

/// `GET /api/v1/models`
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ModelSummary>>, ApiError> {
    Ok(Json(state.engine.models().await?))
}

/// `GET /api/v1/models/{name}`: versions per stage and each LATEST.
pub async fn show(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<Json<ModelView>, ApiError> {
    Ok(Json(state.engine.model(params.get("name")?).await?))
}

/// `GET /api/v1/models/{name}/mirror`: the FTP target (never its
/// password) and the model's mirror tasks, newest first.
pub async fn mirror(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<Json<MirrorView>, ApiError> {
    Ok(Json(state.engine.model_mirror(params.get("name")?).await?))
}

/// `POST /api/v1/models/{name}/{stage}/serve`: `{command?, gpus?, host?,
/// health_path?}`; 201 with the deployment (starting). A stage that
/// already serves is stopped and served again on its current LATEST.
pub async fn serve(
    State(state): State<AppState>,
    params: PathParams,
    ApiJson(req): ApiJson<ServeRequest>,
) -> Result<(StatusCode, Json<ServingView>), ApiError> {
    let view = state
        .engine
        .serve_model(params.get("name")?, params.get("stage")?, &req)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// `DELETE /api/v1/models/{name}/{stage}/serve`: stops it; the stopped view.
pub async fn stop_serving(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<Json<ServingView>, ApiError> {
    Ok(Json(
        state
            .engine
            .stop_serving(params.get("name")?, params.get("stage")?)
            .await?,
    ))
}

/// `POST /api/v1/models/{name}/versions`: JSON `{job_id, files?, stage?,
/// version?, notes?, set_latest?}`, or `multipart/form-data` with file
/// parts (each stored under its file name) and `stage`, `version`,
/// `notes`, `set_latest` fields. 201 with the version.
pub async fn register(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: PathParams,
    request: Request,
) -> Result<Response, ApiError> {
    let name = params.get("name")?.to_string();
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let version = if multipart {
        let form =
            <Multipart as axum::extract::FromRequest<AppState>>::from_request(request, &state)
                .await
                .map_err(|e| {
                    ApiError::bad_body_text(format!("not a multipart form: {}", e.body_text()))
                })?;
        upload(&state, &name, form, registered_by(&actor)).await?
    } else {
        // The route takes uploads of any size; a JSON request is small.
        let body = axum::body::to_bytes(request.into_body(), MAX_JSON_BYTES)
            .await
            .map_err(|e| {
                ApiError::bad_body_text(format!("could not read the request body: {e}"))
            })?;
        let req: RegisterFromRun = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_body_text(format!("not the JSON this route takes: {e}")))?;
        state
            .engine
            .register_model_from_run(&name, &req, registered_by(&actor))
            .await?
    };
    Ok((StatusCode::CREATED, Json(version)).into_response())
}

/// Streams the form's files into a draft, then commits it.
async fn upload(
    state: &AppState,
    name: &str,
    mut form: Multipart,
    by: &str,
) -> Result<trainyard_core::models::ModelVersionView, ApiError> {
    let mut draft = state.engine.begin_model_upload(name).await?;
    let mut meta = UploadVersion::default();
    let bad = |field: &str, message: String| {
        ApiError::from(EngineError::ModelInvalid {
            field: field.to_string(),
            message,
        })
    };
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| ApiError::bad_body_text(format!("the form broke off: {e}")))?;
        let Some(field) = field else { break };
        let field_name = field.name().unwrap_or("").to_string();
        if let Some(file_name) = field.file_name().map(str::to_string) {
            let reader = StreamReader::new(field.map_err(std::io::Error::other));
            draft.add_reader(&field_name, &file_name, reader).await?;
            continue;
        }
        let value = field
            .text()
            .await
            .map_err(|e| ApiError::bad_body_text(format!("{field_name}: {e}")))?;
        match field_name.as_str() {
            "stage" => meta.stage = Some(value),
            "version" if !value.is_empty() => meta.version = Some(value),
            "version" => {}
            "notes" => meta.notes = Some(value),
            "set_latest" | "setLatest" => {
                meta.set_latest = Some(match value.trim() {
                    "true" | "1" | "on" | "yes" => true,
                    "false" | "0" | "off" | "no" | "" => false,
                    other => {
                        return Err(bad("set_latest", format!("true or false, not {other:?}")))
                    }
                })
            }
            other => {
                return Err(bad(
                    other,
                    "not a field of an upload (stage, version, notes, set_latest, and files)"
                        .into(),
                ))
            }
        }
    }
    Ok(state
        .engine
        .commit_model_upload(name, draft, &meta, by)
        .await?)
}

/// `POST /api/v1/models/{name}/publish-best`: 201 with the chosen run and
/// the version.
pub async fn publish_best(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: PathParams,
    ApiJson(req): ApiJson<PublishBest>,
) -> Result<Response, ApiError> {
    let published = state
        .engine
        .publish_best(params.get("name")?, &req, registered_by(&actor))
        .await?;
    Ok((StatusCode::CREATED, Json(published)).into_response())
}

/// `POST /api/v1/models/{name}/versions/{version}/promote` `{to, from?,
/// version?, notes?, set_latest?}`: 201 with the new version.
pub async fn promote(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    params: PathParams,
    ApiJson(req): ApiJson<PromoteRequest>,
) -> Result<Response, ApiError> {
    let version = state
        .engine
        .promote_model_version(
            params.get("name")?,
            params.get("version")?,
            &req,
            registered_by(&actor),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(version)).into_response())
}

/// `PUT /api/v1/models/{name}/{stage}/latest` `{version}`: the model after.
pub async fn set_latest(
    State(state): State<AppState>,
    params: PathParams,
    ApiJson(req): ApiJson<SetLatest>,
) -> Result<Json<ModelView>, ApiError> {
    let name = params.get("name")?;
    state
        .engine
        .set_model_latest(name, params.get("stage")?, &req.version)
        .await?;
    Ok(Json(state.engine.model(name).await?))
}

/// `GET /api/v1/models/{name}/{stage}/{version|latest}/bundle.tar.gz`
pub async fn bundle(
    State(state): State<AppState>,
    params: PathParams,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (name, stage, version) = (
        params.get("name")?,
        params.get("stage")?,
        params.get("version")?,
    );
    let dl = state.engine.model_bundle(name, stage, version).await?;
    let file_name = format!("{name}-{stage}-{}-{BUNDLE_FILE}", dl.version);
    ranged::serve(
        &headers,
        &dl.path,
        dl.size,
        &dl.xxh3,
        "application/gzip",
        &file_name,
    )
    .await
}

/// `GET /api/v1/models/{name}/{stage}/{version|latest}/manifest.json`
pub async fn manifest(
    State(state): State<AppState>,
    params: PathParams,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let dl = state
        .engine
        .model_manifest_file(
            params.get("name")?,
            params.get("stage")?,
            params.get("version")?,
        )
        .await?;
    ranged::serve(
        &headers,
        &dl.path,
        dl.size,
        &dl.xxh3,
        "application/json",
        MANIFEST_FILE,
    )
    .await
}

/// `GET /api/v1/models/{name}/{stage}/{version|latest}/files/{*path}`
pub async fn file(
    State(state): State<AppState>,
    params: PathParams,
    TailPath(path): TailPath,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let dl = state
        .engine
        .model_file(
            params.get("name")?,
            params.get("stage")?,
            params.get("version")?,
            &path,
        )
        .await?;
    let name = path.rsplit('/').next().unwrap_or("file").to_string();
    ranged::serve(
        &headers,
        &dl.path,
        dl.size,
        &dl.xxh3,
        "application/octet-stream",
        &name,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct BestQuery {
    metric: String,
    mode: String,
    #[serde(default)]
    sweep: Option<i64>,
}

/// `GET /api/v1/projects/{name}/best?metric=&mode=min|max&sweep=`
pub async fn best(
    State(state): State<AppState>,
    params: PathParams,
    ApiQuery(q): ApiQuery<BestQuery>,
) -> Result<Json<BestRunReport>, ApiError> {
    let mode: BestMode = q
        .mode
        .parse()
        .map_err(|m: String| ApiError::bad_request(codes::BAD_QUERY, format!("mode: {m}")))?;
    Ok(Json(
        state
            .engine
            .best_run(params.get("name")?, q.sweep, &q.metric, mode)
            .await?,
    ))
}
