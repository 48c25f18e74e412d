//! The Projects page: projects with run counts, one project's runs table
//! (sorted, filtered and paged in SQL), and notes and tags on a run.

use trainyard_core::runs::{
    ArchivedFilter, ProjectSummary, RunColumn, RunNotes, RunRow, RunsPage, RunsQuery, MAX_PAGE_SIZE,
};

use super::Results;
use crate::error::EngineError;
use crate::hosts::Hosts;

/// Longest search text accepted, in characters.
const MAX_SEARCH_CHARS: usize = 200;

impl Results {
    /// Every project with its run counts (of the runs `archived` selects),
    /// most recently used first.
    pub async fn projects(
        &self,
        archived: ArchivedFilter,
    ) -> Result<Vec<ProjectSummary>, EngineError> {
        self.store.projects(archived).await
    }

    /// One page of a project's runs with their final metrics, notes, origin
    /// and sync state.
    pub async fn runs_page(&self, q: &RunsQuery, hosts: &Hosts) -> Result<RunsPage, EngineError> {
        if q.page_size == 0 || q.page_size > MAX_PAGE_SIZE {
            return Err(EngineError::BadOption(format!(
                "page_size: must be between 1 and {MAX_PAGE_SIZE}, got {}",
                q.page_size
            )));
        }
        if q.search.chars().count() > MAX_SEARCH_CHARS {
            return Err(EngineError::BadOption(format!(
                "search: at most {MAX_SEARCH_CHARS} characters"
            )));
        }
        if !self.store.project_exists(&q.project).await? {
            return Err(EngineError::BadOption(format!(
                "no project named {:?}; the Projects page lists them",
                q.project
            )));
        }
        let param_keys = self.store.param_keys(&q.project).await?;
        let metric_keys = self.store.metric_keys_of_project(&q.project).await?;
        check_sort(&q.sort, &q.project, &param_keys, &metric_keys)?;
        let (total, runs) = self.store.runs_page(q).await?;
        let pages = total.div_ceil(u64::from(q.page_size)).max(1);
        if u64::from(q.page) >= pages {
            return Err(EngineError::BadOption(format!(
                "page {} is past the end: {total} runs make {pages} page(s) of {} (pages count from 0)",
                q.page, q.page_size
            )));
        }
        let ids: Vec<i64> = runs.iter().map(|f| f.job.id).collect();
        let mut lasts = self.store.metric_lasts(&ids).await?;
        let rows = runs
            .into_iter()
            .map(|facts| {
                let state = self.state_of(&facts, hosts);
                RunRow {
                    metrics: lasts.remove(&facts.job.id).unwrap_or_default(),
                    job: facts.job,
                    notes: facts.notes,
                    state,
                }
            })
            .collect();
        Ok(RunsPage {
            total,
            page: q.page,
            page_size: q.page_size,
            rows,
            param_keys,
            metric_keys,
        })
    }

    /// Replaces the notes and tags of run `job_id`; returns them cleaned.
    pub async fn set_run_notes(
        &self,
        job_id: i64,
        notes: RunNotes,
    ) -> Result<RunNotes, EngineError> {
        let notes = notes
            .cleaned()
            .map_err(|e| EngineError::BadOption(e.to_string()))?;
        self.require_job(job_id).await?;
        self.store
            .set_run_notes(job_id, &notes, self.clock.now_ms())
            .await?;
        Ok(notes)
    }
}

/// A parameter or metric column must be one the project has: a typo in a
/// script's `sort` is an error naming what exists, not a silent no-op.
fn check_sort(
    sort: &RunColumn,
    project: &str,
    param_keys: &[String],
    metric_keys: &[String],
) -> Result<(), EngineError> {
    let (kind, key, known) = match sort {
        RunColumn::Param(key) => ("parameter", key, param_keys),
        RunColumn::Metric(key) => ("metric", key, metric_keys),
        _ => return Ok(()),
    };
    if known.contains(key) {
        return Ok(());
    }
    let listed: Vec<&str> = known.iter().take(20).map(String::as_str).collect();
    Err(EngineError::BadOption(format!(
        "sort: project {project:?} has no {kind} {key:?}; it has {}",
        if listed.is_empty() {
            "none".to_string()
        } else {
            listed.join(", ")
        }
    )))
}
