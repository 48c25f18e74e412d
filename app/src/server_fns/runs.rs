//! Server functions for results: a run's metrics, projects and their runs
//! table, notes and tags, comparisons, CSV export, live progress, run
//! files and imports.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use trainyard_core::runs::{
    ImportReport, ProjectSummary, RunComparison, RunNotes, RunProgress, RunState, RunsPage,
    RunsQuery,
};
use trainyard_core::sync::FileEntry;
use trainyard_core::{MetricSeries, MetricSummary};

#[cfg(feature = "ssr")]
use super::engine;
use super::UiError;

/// Points per series a comparison draws at most.
pub const COMPARE_POINTS: u32 = 500;

/// Bytes of a run file the preview shows at most.
pub const PREVIEW_BYTES: usize = 256 * 1024;

/// The start of a run file, for the Job page's preview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilePreview {
    /// `None` when the file is not text (not UTF-8, or has NUL bytes).
    pub text: Option<String>,
    pub size: u64,
    pub truncated: bool,
}

#[server(prefix = "/ui")]
pub async fn run_metrics(id: i64) -> Result<Vec<MetricSummary>, UiError> {
    Ok(engine()?.metric_keys(id).await?)
}

#[server(prefix = "/ui", input = Json)]
pub async fn run_series(
    id: i64,
    key: String,
    max_points: u32,
    from: Option<f64>,
    to: Option<f64>,
) -> Result<MetricSeries, UiError> {
    Ok(engine()?
        .metric_series(id, &key, max_points, from, to)
        .await?)
}

#[server(prefix = "/ui")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, UiError> {
    Ok(engine()?.projects(Default::default()).await?)
}

#[server(prefix = "/ui", input = Json)]
pub async fn list_runs(query: RunsQuery) -> Result<RunsPage, UiError> {
    Ok(engine()?.runs_page(&query).await?)
}

#[server(prefix = "/ui", input = Json)]
pub async fn export_runs_csv(query: RunsQuery) -> Result<String, UiError> {
    Ok(engine()?.runs_csv(&query).await?)
}

#[server(prefix = "/ui", input = Json)]
pub async fn save_run_notes(id: i64, notes: RunNotes) -> Result<RunNotes, UiError> {
    Ok(engine()?.set_run_notes(id, notes).await?)
}

#[server(prefix = "/ui", input = Json)]
pub async fn compare_runs(ids: Vec<i64>) -> Result<RunComparison, UiError> {
    Ok(engine()?.compare_runs(&ids, COMPARE_POINTS).await?)
}

#[server(prefix = "/ui")]
pub async fn list_progress() -> Result<Vec<RunProgress>, UiError> {
    Ok(engine()?.progress())
}

#[server(prefix = "/ui")]
pub async fn list_run_files(id: i64) -> Result<Vec<FileEntry>, UiError> {
    Ok(engine()?.run_files(id).await?)
}

#[server(prefix = "/ui", input = Json)]
pub async fn preview_run_file(id: i64, path: String) -> Result<FilePreview, UiError> {
    let slice = engine()?.read_run_file(id, &path, PREVIEW_BYTES).await?;
    Ok(FilePreview {
        text: crate::format::preview_text(&slice.data, slice.truncated),
        size: slice.size,
        truncated: slice.truncated,
    })
}

/// The log trees the server imports (`--import-dir`), as given.
#[server(prefix = "/ui")]
pub async fn import_dirs() -> Result<Vec<String>, UiError> {
    Ok(engine()?
        .import_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect())
}

/// Reads every imported run again.
#[server(prefix = "/ui")]
pub async fn reindex_imports() -> Result<ImportReport, UiError> {
    Ok(engine()?.reindex_imports().await?)
}

/// A run's archive state, origin and sync state (the Job page).
#[server(prefix = "/ui")]
pub async fn load_run_state(id: i64) -> Result<RunState, UiError> {
    Ok(engine()?.run_state(id).await?)
}

/// Archives a finished run (the Projects page); its files stay.
#[server(prefix = "/ui")]
pub async fn archive_run(id: i64) -> Result<RunState, UiError> {
    let engine = engine()?;
    engine.archive_run(id).await?;
    Ok(engine.run_state(id).await?)
}

/// Restores an archived run.
#[server(prefix = "/ui")]
pub async fn restore_run(id: i64) -> Result<RunState, UiError> {
    let engine = engine()?;
    engine.restore_run(id).await?;
    Ok(engine.run_state(id).await?)
}
