//! The read API of CVLab-Kit's web helper guide ("API 엔드포인트"), in its
//! `{"data": …, "meta": {…}}` envelope, under `/api` beside
//! `/api/queue/add`: projects, a project's runs, one run by project and run
//! name, re-run, the queue, cancel, and devices. Errors are the API's usual
//! `{code, message}` with the same status codes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use trainyard_core::components::Envelope;
use trainyard_core::protocol::codes;
use trainyard_core::runs::{RunDetail, RunRow, MAX_PAGE_SIZE};
use trainyard_core::{HostView, JobView};
use trainyard_engine::JobFilter;

use super::components::envelope;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, JobIdPath, PathParams};
use super::runs::{archived, bad_query, RunsParams};
use crate::state::AppState;

/// Runs `GET /api/runs` answers at most without `page`.
const MAX_LISTED_RUNS: u64 = 10_000;

#[derive(Debug, Deserialize)]
pub struct ProjectsQuery {
    archived: Option<String>,
}

/// One project as the web helper lists it.
#[derive(Debug, Serialize)]
pub struct WebProject {
    pub name: String,
    pub run_count: u64,
    pub active: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub archived: u64,
    pub last_created_ms: i64,
}

/// `GET /api/projects`
pub async fn projects(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ProjectsQuery>,
) -> Result<Json<Envelope<Vec<WebProject>>>, ApiError> {
    let list: Vec<WebProject> = state
        .engine
        .projects(archived(q.archived.as_deref())?)
        .await?
        .into_iter()
        .map(|p| WebProject {
            name: p.name,
            run_count: p.runs,
            active: p.active,
            succeeded: p.succeeded,
            failed: p.failed,
            archived: p.archived,
            last_created_ms: p.last_created_ms,
        })
        .collect();
    let n = list.len();
    Ok(envelope(list, format!("Found {n} projects")))
}

/// One run as the web helper lists it (the seed's field names).
#[derive(Debug, Serialize)]
pub struct WebRun {
    pub id: i64,
    pub run_name: String,
    pub project: String,
    pub status: String,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub hyperparameters: serde_json::Map<String, serde_json::Value>,
    pub final_metrics: serde_json::Map<String, serde_json::Value>,
    pub notes: String,
    pub tags: Vec<String>,
    /// `local`, the host id, or `imported`; `null` before it ran.
    pub server_origin: Option<String>,
    /// `synced`, `syncing` or `outdated`; `null` before it ran.
    pub sync_status: Option<&'static str>,
    pub archived: bool,
}

impl From<RunRow> for WebRun {
    fn from(row: RunRow) -> WebRun {
        let job = row.job;
        WebRun {
            id: job.id,
            run_name: job.name,
            project: job.project,
            status: job.status.label().to_string(),
            created_ms: job.created_ms,
            started_ms: job.started_ms,
            finished_ms: job.finished_ms,
            hyperparameters: job
                .params
                .into_iter()
                .map(|(k, v)| (k, serde_json::Value::String(v)))
                .collect(),
            final_metrics: row
                .metrics
                .into_iter()
                .map(|(k, v)| (k, serde_json::json!(v)))
                .collect(),
            notes: row.notes.notes,
            tags: row.notes.tags,
            server_origin: row.state.server_origin.map(|o| o.label().to_string()),
            sync_status: row.state.sync_status.map(|s| s.label()),
            archived: row.state.archived_ms.is_some(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RunsQueryString {
    project: Option<String>,
    #[serde(flatten)]
    params: RunsParams,
}

/// `GET /api/runs?project=p`: every run of the project (the runs table's
/// `sort`, `status`, `search`, `archived` apply; `page`/`page_size` give
/// one page instead).
pub async fn runs(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RunsQueryString>,
) -> Result<Json<Envelope<Vec<WebRun>>>, ApiError> {
    let project = q
        .project
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| bad_query("project", "required, e.g. /api/runs?project=my_project"))?;
    let mut query = q.params.query(project)?;
    let one_page = q.params.page.is_some() || q.params.page_size.is_some();
    if !one_page {
        query.page_size = MAX_PAGE_SIZE;
    }
    let mut out: Vec<WebRun> = Vec::new();
    loop {
        let page = state.engine.runs_page(&query).await?;
        let total = page.total;
        let got = page.rows.len();
        out.extend(page.rows.into_iter().map(WebRun::from));
        if one_page || got == 0 || out.len() as u64 >= total.min(MAX_LISTED_RUNS) {
            let n = out.len();
            return Ok(envelope(out, format!("Found {n} of {total} runs")));
        }
        query.page += 1;
    }
}

/// `GET /api/run/{project}/{run}`: the newest run of that name, in detail.
pub async fn run(
    State(state): State<AppState>,
    params: PathParams,
) -> Result<Json<Envelope<RunDetail>>, ApiError> {
    let id = state
        .engine
        .run_id_by_name(params.get("project")?, params.get("run")?)
        .await?;
    let detail = state.engine.run_detail(id).await?;
    Ok(envelope(detail, format!("Run {id}")))
}

#[derive(Debug, Deserialize)]
pub struct RerunBody {
    project: String,
    run_name: String,
    /// Overrides are not taken: a re-run is the old config exactly.
    #[serde(default)]
    config: Option<serde_json::Value>,
}

/// `POST /api/run/rerun {project, run_name}`: queues the run's exact config again.
pub async fn rerun(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RerunBody>,
) -> Result<(StatusCode, Json<Envelope<JobView>>), ApiError> {
    if body.config.as_ref().is_some_and(|c| !c.is_null()) {
        return Err(ApiError::bad_request(
            codes::BAD_BODY,
            "config: a re-run repeats the run's own config; to run a changed one, POST it to /api/queue/add",
        ));
    }
    let id = state
        .engine
        .run_id_by_name(&body.project, &body.run_name)
        .await?;
    let job = state.engine.rerun_job(id).await?;
    let message = format!("Queued job {} as a re-run of {id}", job.id);
    Ok((StatusCode::CREATED, envelope(job, message)))
}

/// `GET /api/queue`: jobs not finished yet (queued, assigned, running, lost), newest first.
pub async fn queue(
    State(state): State<AppState>,
) -> Result<Json<Envelope<Vec<JobView>>>, ApiError> {
    let jobs: Vec<JobView> = state
        .engine
        .jobs(JobFilter {
            limit: Some(5_000),
            ..JobFilter::default()
        })
        .await?
        .into_iter()
        .filter(|j| !j.status.is_final())
        .collect();
    let n = jobs.len();
    Ok(envelope(jobs, format!("{n} jobs in the queue")))
}

/// `POST /api/queue/cancel/{id}` (the job id).
pub async fn cancel(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<Envelope<JobView>>, ApiError> {
    let job = state.engine.cancel_job(id).await?;
    Ok(envelope(job, format!("Cancel of job {id} requested")))
}

/// `GET /api/devices`
pub async fn devices(State(state): State<AppState>) -> Json<Envelope<Vec<HostView>>> {
    let hosts = state.engine.hosts();
    let n = hosts.len();
    envelope(hosts, format!("Found {n} devices"))
}
