//! Results for scripts: projects, a project's runs table (the UI's sort,
//! filter, search and paging, parameters and final metrics as columns), one
//! run's detail, notes and tags, comparisons, and archiving, restoring and
//! purging runs. `{id}` is the job id.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use trainyard_core::protocol::codes;
use trainyard_core::runs::{
    parse_age_ms, ArchivedFilter, ProjectSummary, PurgeReport, RunColumn, RunComparison, RunDetail,
    RunNotes, RunState, RunsQuery, MAX_COMPARE_RUNS,
};
use trainyard_core::JobStatus;

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, JobIdPath, PathParams};
use crate::state::AppState;

/// Rows a page has unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Points per series a comparison has unless `max_points` says otherwise.
pub const DEFAULT_COMPARE_POINTS: u32 = 500;

/// A query value that cannot be read, named by its field.
pub fn bad_query(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(codes::BAD_QUERY, format!("{field}: {message}"))
}

/// `archived=exclude|include|only` (default exclude).
pub fn archived(raw: Option<&str>) -> Result<ArchivedFilter, ApiError> {
    match raw {
        None | Some("") => Ok(ArchivedFilter::Exclude),
        Some(raw) => raw
            .parse()
            .map_err(|e: String| ApiError::bad_request(codes::BAD_QUERY, e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct ProjectsQuery {
    archived: Option<String>,
}

/// `GET /api/v1/projects?archived=include`
pub async fn projects(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ProjectsQuery>,
) -> Result<Json<Vec<ProjectSummary>>, ApiError> {
    let archived = archived(q.archived.as_deref())?;
    Ok(Json(state.engine.projects(archived).await?))
}

/// The runs table's query string, every value raw so a bad one is named.
#[derive(Debug, Default, Deserialize)]
pub struct RunsParams {
    pub sort: Option<String>,
    pub order: Option<String>,
    pub status: Option<String>,
    pub search: Option<String>,
    pub page: Option<String>,
    pub page_size: Option<String>,
    pub archived: Option<String>,
    pub format: Option<String>,
}

impl RunsParams {
    /// The engine's query for `project`. `sort` is a column (`id`, `name`,
    /// `status`, `started`, `duration`, `param:<key>`, `metric:<key>`),
    /// descending with a leading `-` or `order=desc`.
    pub fn query(&self, project: &str) -> Result<RunsQuery, ApiError> {
        let mut q = RunsQuery::newest(project);
        if let Some(raw) = self.sort.as_deref().filter(|s| !s.is_empty()) {
            let (descending, column) = match raw.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            q.sort = RunColumn::from_param(column).map_err(|e| bad_query("sort", e))?;
            q.descending = descending;
        }
        match self.order.as_deref() {
            None | Some("") => {}
            Some("asc") => q.descending = false,
            Some("desc") => q.descending = true,
            Some(other) => return Err(bad_query("order", format!("{other:?}; use asc or desc"))),
        }
        if let Some(raw) = self.status.as_deref().filter(|s| !s.is_empty()) {
            q.status = Some(
                raw.parse::<JobStatus>()
                    .map_err(|e| bad_query("status", e))?,
            );
        }
        q.search = self.search.clone().unwrap_or_default();
        q.page = number("page", self.page.as_deref(), 0)?;
        q.page_size = number("page_size", self.page_size.as_deref(), DEFAULT_PAGE_SIZE)?;
        q.archived = archived(self.archived.as_deref())?;
        Ok(q)
    }
}

fn number(field: &str, raw: Option<&str>, default: u32) -> Result<u32, ApiError> {
    match raw {
        None | Some("") => Ok(default),
        Some(raw) => raw
            .parse()
            .map_err(|_| bad_query(field, format!("{raw:?} is not a whole number"))),
    }
}

/// `GET /api/v1/projects/{name}/runs?sort=-metric:val_acc&status=&search=&page=&page_size=&archived=`;
/// `format=csv` answers every matching run as CSV instead of one JSON page.
pub async fn project_runs(
    State(state): State<AppState>,
    params: PathParams,
    ApiQuery(p): ApiQuery<RunsParams>,
) -> Result<Response, ApiError> {
    let q = p.query(params.get("name")?)?;
    match p.format.as_deref() {
        None | Some("") | Some("json") => {
            Ok(Json(state.engine.runs_page(&q).await?).into_response())
        }
        Some("csv") => {
            let csv = state.engine.runs_csv(&q).await?;
            Ok(([(CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
        }
        Some(other) => Err(bad_query("format", format!("{other:?}; use json or csv"))),
    }
}

/// `GET /api/v1/runs/{id}`
pub async fn detail(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<RunDetail>, ApiError> {
    Ok(Json(state.engine.run_detail(id).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotesBody {
    notes: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagsBody {
    tags: Vec<String>,
}

/// `PUT /api/v1/runs/{id}/notes` with `{"notes": "…"}`: replaces the notes,
/// keeps the tags.
pub async fn put_notes(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
    ApiJson(body): ApiJson<NotesBody>,
) -> Result<Json<RunNotes>, ApiError> {
    let current = state.engine.run_notes(id).await?;
    let notes = RunNotes {
        notes: body.notes,
        tags: current.tags,
    };
    Ok(Json(state.engine.set_run_notes(id, notes).await?))
}

/// `PUT /api/v1/runs/{id}/tags` with `{"tags": ["a", "b"]}`: replaces the
/// tags, keeps the notes.
pub async fn put_tags(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
    ApiJson(body): ApiJson<TagsBody>,
) -> Result<Json<RunNotes>, ApiError> {
    let current = state.engine.run_notes(id).await?;
    let notes = RunNotes {
        notes: current.notes,
        tags: body.tags,
    };
    Ok(Json(state.engine.set_run_notes(id, notes).await?))
}

/// `POST /api/v1/runs/{id}/archive`: hides a finished run (idempotent);
/// answers its state.
pub async fn archive(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<RunState>, ApiError> {
    state.engine.archive_run(id).await?;
    Ok(Json(state.engine.run_state(id).await?))
}

/// `POST /api/v1/runs/{id}/restore` (idempotent); answers its state.
pub async fn restore(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
) -> Result<Json<RunState>, ApiError> {
    state.engine.restore_run(id).await?;
    Ok(Json(state.engine.run_state(id).await?))
}

#[derive(Debug, Deserialize)]
pub struct PurgeQuery {
    older_than: Option<String>,
}

/// `POST /api/v1/runs/purge?older_than=30d`: deletes runs archived at least
/// that long ago, with their files.
pub async fn purge(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PurgeQuery>,
) -> Result<Json<PurgeReport>, ApiError> {
    let raw = q
        .older_than
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad_query("older_than", "required, e.g. older_than=30d"))?;
    let older_than_ms =
        parse_age_ms("older_than", raw).map_err(|e| ApiError::bad_request(codes::BAD_QUERY, e))?;
    Ok(Json(state.engine.purge_archived_runs(older_than_ms).await?))
}

#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    runs: Option<String>,
    max_points: Option<String>,
}

/// `GET /api/v1/compare?runs=3,5,8&max_points=500`
pub async fn compare(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> Result<Json<RunComparison>, ApiError> {
    let ids = run_ids(q.runs.as_deref().unwrap_or(""))?;
    let max_points = number(
        "max_points",
        q.max_points.as_deref(),
        DEFAULT_COMPARE_POINTS,
    )?;
    Ok(Json(state.engine.compare_runs(&ids, max_points).await?))
}

/// `3,5,8`: positive job ids, between 1 and [`MAX_COMPARE_RUNS`].
fn run_ids(raw: &str) -> Result<Vec<i64>, ApiError> {
    let ids = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| bad_query("runs", format!("{s:?} is not a run id")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() || ids.len() > MAX_COMPARE_RUNS {
        return Err(bad_query(
            "runs",
            format!(
                "give between 1 and {MAX_COMPARE_RUNS} run ids, comma-separated (runs=3,5), got {}",
                ids.len()
            ),
        ));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_and_order_parse_and_bad_values_name_their_field() {
        let p = RunsParams {
            sort: Some("-metric:val_acc".into()),
            page_size: Some("20".into()),
            archived: Some("include".into()),
            ..RunsParams::default()
        };
        let q = p.query("p").expect("valid");
        assert_eq!(q.sort, RunColumn::Metric("val_acc".into()));
        assert!(q.descending);
        assert_eq!((q.page_size, q.archived), (20, ArchivedFilter::Include));
        for (p, field) in [
            (
                RunsParams {
                    sort: Some("colour".into()),
                    ..Default::default()
                },
                "sort:",
            ),
            (
                RunsParams {
                    order: Some("up".into()),
                    ..Default::default()
                },
                "order:",
            ),
            (
                RunsParams {
                    page: Some("-1".into()),
                    ..Default::default()
                },
                "page:",
            ),
            (
                RunsParams {
                    page_size: Some("x".into()),
                    ..Default::default()
                },
                "page_size:",
            ),
            (
                RunsParams {
                    status: Some("done".into()),
                    ..Default::default()
                },
                "status:",
            ),
            (
                RunsParams {
                    archived: Some("all".into()),
                    ..Default::default()
                },
                "archived:",
            ),
        ] {
            match p.query("p") {
                Err(e) => assert!(e.message.starts_with(field), "{}", e.message),
                Ok(q) => panic!("accepted {q:?}"),
            }
        }
        assert!(run_ids("3, 5").is_ok());
        assert!(run_ids("").is_err());
        assert!(run_ids("3,x").is_err());
    }
}
