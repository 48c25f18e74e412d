//! Server functions for results: a run's metrics, projects and their runs
//! table, notes and tags, comparisons, CSV export and live progress.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use trainyard_core::runs::{
    ImportReport, ProjectSummary, RunComparison, RunNotes, RunProgress, RunsPage, RunsQuery,
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

/// Bytes of a run file the preview shows at most.
pub const PREVIEW_BYTES: usize = 256 * 1024;

/// The start of a run file, for the Job page's preview.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FilePreview {
    /// `None` when the file is not text (not UTF-8, or has NUL bytes).
    pub text: Option<String>,
    pub size: u64,
    pub truncated: bool,
}

#[server(prefix = "/ui")]
pub async fn list_run_files(
    id: i64,
) -> Result<Vec<trainyard_core::sync::FileEntry>, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.run_files(id).await.map_err(engine_error)
}

#[server(prefix = "/ui", input = Json)]
pub async fn preview_run_file(id: i64, path: String) -> Result<FilePreview, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    let slice = ctx
        .engine
        .read_run_file(id, &path, PREVIEW_BYTES)
        .await
        .map_err(engine_error)?;
    Ok(FilePreview {
        text: preview_text(&slice.data, slice.truncated),
        size: slice.size,
        truncated: slice.truncated,
    })
}

/// The bytes as text, if they are text; a character cut at the end of a
/// truncated preview is dropped.
pub fn preview_text(data: &[u8], truncated: bool) -> Option<String> {
    if data.contains(&0) {
        return None;
    }
    match std::str::from_utf8(data) {
        Ok(text) => Some(text.to_string()),
        Err(e) if truncated && e.error_len().is_none() => {
            Some(String::from_utf8_lossy(&data[..e.valid_up_to()]).into_owned())
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::preview_text;

    #[test]
    fn previews_are_text_or_nothing() {
        assert_eq!(
            preview_text(b"epoch,loss\n1,0.5\n", false).as_deref(),
            Some("epoch,loss\n1,0.5\n")
        );
        assert_eq!(preview_text(b"\x89PNG\0\0", false), None);
        // "é" cut in half by the preview limit.
        assert_eq!(preview_text(b"caf\xc3", true).as_deref(), Some("caf"));
        assert_eq!(preview_text(b"caf\xc3", false), None);
    }
}

/// The log trees the server imports (`--import-dir`), as given.
#[server(prefix = "/ui")]
pub async fn import_dirs() -> Result<Vec<String>, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    Ok(ctx
        .engine
        .import_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect())
}

/// Reads every imported run again.
#[server(prefix = "/ui")]
pub async fn reindex_imports() -> Result<ImportReport, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.reindex_imports().await.map_err(engine_error)
}
