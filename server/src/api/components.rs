//! The components store over REST, in CVLab-Kit's shapes: every answer is
//! `{"data": …, "meta": {…}}`, mounted under `/api/v1/components/…` and,
//! for CVLab-Kit's own worker client, `/api/components/…` (which also takes
//! the key as `X-API-Key`). Uploads and activations are recorded with who
//! made them and from where. Plus what agents call around a job's start:
//! the sync plan and the copies it asks for.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use trainyard_core::components::{
    ActivateRequest, ComponentSummary, ComponentVersion, ConflictNotice, CopyUploadQuery,
    DiffRequest, DiffResponse, Envelope, EnvelopeMeta, ExperimentManifest, JobManifest,
    NoticeAnswer, ScanReport, SyncPlan, SyncRequest, UploadRequest, UploadResponse,
};

use super::error::ApiError;
use super::extract::{
    ApiActor, ApiBytes, ApiJson, ApiQuery, AttemptPath, JobIdPath, PathParams, TailPath,
};
use crate::state::AppState;

/// Largest component upload body (a 4 MiB file as JSON, with room).
pub const MAX_UPLOAD_BODY_BYTES: usize = 10 << 20;

pub(super) fn envelope<T>(data: T, message: impl Into<String>) -> Json<Envelope<T>> {
    Json(Envelope {
        data,
        meta: EnvelopeMeta {
            message: message.into(),
            timestamp: format!("{}Z", trainyard_core::components::iso_utc(now_ms())),
            version: "1.0".into(),
        },
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `GET …/versions`: every path with versions.
pub async fn list(
    State(state): State<AppState>,
) -> Result<Json<Envelope<Vec<ComponentSummary>>>, ApiError> {
    let all = state.engine.components(None).await?;
    let n = all.len();
    Ok(envelope(all, format!("Found {n} components")))
}

/// `GET …/versions/{category}`
pub async fn list_category(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<Json<Envelope<Vec<ComponentSummary>>>, ApiError> {
    let found = state
        .engine
        .components(Some(params.get("category")?))
        .await?;
    let n = found.len();
    Ok(envelope(found, format!("Found {n} components")))
}

#[derive(Debug, Deserialize)]
pub struct VersionsQuery {
    #[serde(default)]
    include_content: Option<String>,
}

/// `GET …/versions/{category}/{name}?include_content=false`: the versions
/// of one path, newest first; 404 when it has none.
pub async fn versions(
    State(state): State<AppState>,
    params: PathParams,
    ApiQuery(q): ApiQuery<VersionsQuery>,
) -> Result<Json<Envelope<Vec<ComponentVersion>>>, ApiError> {
    let include = q
        .include_content
        .as_deref()
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"));
    let name = params.get("name")?;
    let name = name.strip_suffix(".py").unwrap_or(name);
    let found = state
        .engine
        .component_versions(params.get("category")?, name, include)
        .await?;
    let n = found.len();
    Ok(envelope(found, format!("Found {n} versions")))
}

/// `GET …/versions/hash/{hash}`: the version with that content, with its code.
pub async fn by_hash(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<Json<Envelope<ComponentVersion>>, ApiError> {
    let version = state.engine.component_by_hash(params.get("hash")?).await?;
    Ok(envelope(version, "Version found"))
}

/// `POST …/versions/upload` `{path, content, activate}`.
pub async fn upload(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(req): ApiJson<UploadRequest>,
) -> Result<Json<Envelope<UploadResponse>>, ApiError> {
    let done = state.engine.upload_component(&req, &actor).await?;
    let message = if done.is_new {
        "New version uploaded"
    } else {
        "Version already exists"
    };
    Ok(envelope(done, message))
}

/// `POST …/versions/activate` `{hash, path?}`: a rollback (or roll-forward).
pub async fn activate(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(req): ApiJson<ActivateRequest>,
) -> Result<Json<Envelope<ComponentVersion>>, ApiError> {
    let version = state.engine.activate_component(&req, &actor).await?;
    Ok(envelope(version, "Version activated"))
}

/// `POST …/versions/diff` `{from_hash, to_hash}`.
pub async fn diff(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DiffRequest>,
) -> Result<Json<Envelope<DiffResponse>>, ApiError> {
    let diff = state
        .engine
        .diff_components(&req.from_hash, &req.to_hash)
        .await?;
    Ok(envelope(diff, "Diff computed"))
}

/// `POST …/versions/scan`: registers the components dir's new content.
pub async fn scan(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> Result<Json<Envelope<ScanReport>>, ApiError> {
    let report = state.engine.scan_components(&actor).await?;
    let message = format!(
        "Registered {} components from the components dir ({} new versions)",
        report.registered, report.new_versions
    );
    Ok(envelope(report, message))
}

/// `GET …/manifest/{uid}`: a job's components (by id or run name) or what
/// CVLab-Kit saved under that id.
pub async fn get_manifest(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<Json<Envelope<ExperimentManifest>>, ApiError> {
    let manifest = state.engine.experiment_manifest(params.get("uid")?).await?;
    Ok(envelope(manifest, "Manifest found"))
}

#[derive(Debug, Serialize)]
pub struct ManifestSaved {
    experiment_uid: String,
    component_count: usize,
}

/// `POST …/manifest/{uid}` with `{path: hash}`.
pub async fn save_manifest(
    State(state): State<AppState>,
    params: PathParams,
    ApiJson(components): ApiJson<BTreeMap<String, String>>,
) -> Result<Json<Envelope<ManifestSaved>>, ApiError> {
    let uid = params.get("uid")?;
    let count = state
        .engine
        .save_experiment_manifest(uid, &components)
        .await?;
    Ok(envelope(
        ManifestSaved {
            experiment_uid: uid.to_string(),
            component_count: count,
        },
        "Manifest saved",
    ))
}

#[derive(Debug, Deserialize)]
pub struct NoticesQuery {
    #[serde(default)]
    open: bool,
}

/// `GET /api/v1/components/notices?open=true`: conflicts for people.
pub async fn notices(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<NoticesQuery>,
) -> Result<Json<Envelope<Vec<ConflictNotice>>>, ApiError> {
    let found = state.engine.notices(q.open).await?;
    let n = found.len();
    Ok(envelope(found, format!("Found {n} notifications")))
}

/// `POST /api/v1/components/notices/{id}` `{choice: upload|download|skip}`.
pub async fn answer_notice(
    State(state): State<AppState>,
    params: PathParams,
    ApiActor(actor): ApiActor,
    ApiJson(answer): ApiJson<NoticeAnswer>,
) -> Result<Json<Envelope<ConflictNotice>>, ApiError> {
    let raw = params.get("id")?;
    let id = raw.parse::<i64>().map_err(|_| {
        ApiError::bad_request(
            trainyard_core::protocol::codes::BAD_OPTION,
            format!("notification id must be a number, not {raw:?}"),
        )
    })?;
    let notice = state
        .engine
        .answer_notice(id, answer.choice, &actor)
        .await?;
    Ok(envelope(notice, "Answer recorded"))
}

/// `GET /api/v1/components/blobs/{hash}`: stored content (a version or a
/// `code:` file) as text.
pub async fn blob(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<([(axum::http::HeaderName, &'static str); 1], String), ApiError> {
    let content = state.engine.component_content(params.get("hash")?).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        content,
    ))
}

/// `POST /api/v1/components/plan`: a shell's sync plan (nothing recorded).
pub async fn preview_plan(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<SyncRequest>,
) -> Result<Json<SyncPlan>, ApiError> {
    Ok(Json(state.engine.preview_component_sync(req).await?))
}

/// `GET /api/v1/jobs/{id}/manifest`: the code the job ran with.
pub async fn job_manifest(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<JobManifest>, ApiError> {
    Ok(Json(state.engine.job_manifest(id).await?))
}

/// `POST …/attempts/{n}/components`: the agent's sync before the process
/// starts; the answer is the whole plan.
pub async fn sync(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
    ApiJson(req): ApiJson<SyncRequest>,
) -> Result<Json<SyncPlan>, ApiError> {
    Ok(Json(state.engine.sync_components(at, req).await?))
}

#[derive(Debug, Serialize)]
pub struct CopyStored {
    hash: String,
}

/// `PUT …/attempts/{n}/components/{*path}?xxh3=H&code=false`: a worker's
/// copy the plan asked for (UTF-8 text, hash-checked).
pub async fn store_copy(
    State(state): State<AppState>,
    AttemptPath(at): AttemptPath,
    TailPath(path): TailPath,
    ApiQuery(q): ApiQuery<CopyUploadQuery>,
    ApiBytes(body): ApiBytes,
) -> Result<Json<CopyStored>, ApiError> {
    let hash = state
        .engine
        .store_component_copy(at, &path, &q, &body)
        .await?;
    Ok(Json(CopyStored { hash }))
}
