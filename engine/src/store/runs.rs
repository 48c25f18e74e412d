//! Results queries over `jobs`, `metric_series` and `run_notes`: projects,
//! the sorted and paged runs table, and notes and tags.

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use trainyard_core::runs::{ProjectSummary, RunColumn, RunNotes, RunsQuery};
use trainyard_core::JobView;

use super::jobs::{job_row, JOB_COLUMNS};
use super::Store;
use crate::error::EngineError;

impl Store {
    /// Every project with its run counts, most recently used first.
    pub async fn projects(&self) -> Result<Vec<ProjectSummary>, EngineError> {
        let sql = format!(
            "SELECT project, COUNT(*) AS runs,
               SUM(status IN {}) AS active,
               SUM(status = 'succeeded') AS succeeded,
               SUM(status IN ('failed', 'cancelled')) AS failed,
               MAX(created_ms) AS last_created_ms
             FROM jobs GROUP BY project ORDER BY last_created_ms DESC",
            super::unfinished_statuses_sql()
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(ProjectSummary {
                    name: r.try_get("project")?,
                    runs: count(r, "runs")?,
                    active: count(r, "active")?,
                    succeeded: count(r, "succeeded")?,
                    failed: count(r, "failed")?,
                    last_created_ms: r.try_get("last_created_ms")?,
                })
            })
            .collect()
    }

    /// Whether any job names `project`.
    pub async fn project_exists(&self, project: &str) -> Result<bool, EngineError> {
        let found = sqlx::query("SELECT 1 FROM jobs WHERE project = ? LIMIT 1")
            .bind(project)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    /// How many runs match `q`'s filter, and the page it asks for.
    pub async fn runs_page(
        &self,
        q: &RunsQuery,
    ) -> Result<(u64, Vec<(JobView, RunNotes)>), EngineError> {
        let mut counter = QueryBuilder::<Sqlite>::new(
            "SELECT COUNT(*) AS n FROM jobs LEFT JOIN run_notes n ON n.job_id = jobs.id",
        );
        push_filter(&mut counter, q);
        let total = count(&counter.build().fetch_one(&self.pool).await?, "n")?;

        let mut page = QueryBuilder::<Sqlite>::new(format!(
            "SELECT * FROM (SELECT {JOB_COLUMNS}, n.notes AS notes, n.tags AS tags, "
        ));
        push_sort_value(&mut page, &q.sort);
        page.push(" AS sort_value FROM jobs LEFT JOIN run_notes n ON n.job_id = jobs.id");
        push_filter(&mut page, q);
        let dir = if q.descending { "DESC" } else { "ASC" };
        // Missing values (a run without that metric) sort last either way;
        // parameters are text, so numbers compare as numbers first.
        page.push(format!(
            ") ORDER BY sort_value IS NULL, {} sort_value {dir}, id {dir} LIMIT ",
            match q.sort {
                RunColumn::Param(_) => format!("CAST(sort_value AS REAL) {dir},"),
                _ => String::new(),
            }
        ));
        page.push_bind(i64::from(q.page_size));
        page.push(" OFFSET ");
        page.push_bind(i64::from(q.page) * i64::from(q.page_size));
        let rows = page.build().fetch_all(&self.pool).await?;
        let runs = rows
            .iter()
            .map(|r| Ok((job_row(r)?.view, notes_of(r)?)))
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok((total, runs))
    }

    /// Parameter keys of a project's runs, in first-seen order.
    pub async fn param_keys(&self, project: &str) -> Result<Vec<String>, EngineError> {
        let rows = sqlx::query(
            "SELECT json_extract(p.value, '$[0]') AS k FROM jobs, json_each(jobs.params) p
             WHERE jobs.project = ? GROUP BY k ORDER BY MIN(jobs.id), MIN(p.key)",
        )
        .bind(project)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("k")?)).collect()
    }

    /// Metric keys with points in any of a project's runs, sorted.
    pub async fn metric_keys_of_project(&self, project: &str) -> Result<Vec<String>, EngineError> {
        let rows = sqlx::query(
            "SELECT DISTINCT m.key AS k FROM jobs JOIN metric_series m ON m.job_id = jobs.id
             WHERE jobs.project = ? AND m.count > 0 ORDER BY k",
        )
        .bind(project)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("k")?)).collect()
    }

    /// Last value of every metric of each job in `job_ids`, ordered by key.
    pub async fn metric_lasts(
        &self,
        job_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<(String, f64)>>, EngineError> {
        let mut by_job: HashMap<i64, Vec<(String, f64)>> = HashMap::new();
        if job_ids.is_empty() {
            return Ok(by_job);
        }
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT job_id, key, last FROM metric_series WHERE count > 0 AND job_id IN (",
        );
        let mut ids = q.separated(", ");
        for id in job_ids {
            ids.push_bind(*id);
        }
        q.push(") ORDER BY job_id, key");
        for r in q.build().fetch_all(&self.pool).await? {
            by_job
                .entry(r.try_get("job_id")?)
                .or_default()
                .push((r.try_get("key")?, r.try_get("last")?));
        }
        Ok(by_job)
    }

    /// Replaces a run's notes and tags.
    pub async fn set_run_notes(
        &self,
        job_id: i64,
        notes: &RunNotes,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        sqlx::query(
            "INSERT INTO run_notes (job_id, notes, tags, updated_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (job_id) DO UPDATE SET notes = ?2, tags = ?3, updated_ms = ?4",
        )
        .bind(job_id)
        .bind(&notes.notes)
        .bind(serde_json::to_string(&notes.tags).unwrap_or_else(|_| "[]".into()))
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// `WHERE` for the project, status and search of `q`.
fn push_filter(b: &mut QueryBuilder<'_, Sqlite>, q: &RunsQuery) {
    b.push(" WHERE jobs.project = ");
    b.push_bind(q.project.clone());
    if let Some(status) = q.status {
        b.push(" AND jobs.status = ");
        b.push_bind(status.label());
    }
    let search = q.search.trim();
    if !search.is_empty() {
        let pattern = format!("%{}%", escape_like(search));
        b.push(" AND (");
        for (i, column) in ["jobs.name", "jobs.params", "n.notes", "n.tags"]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                b.push(" OR ");
            }
            b.push(format!("{column} LIKE "));
            b.push_bind(pattern.clone());
            b.push(" ESCAPE '\\'");
        }
        b.push(")");
    }
}

/// The value `column` sorts by, as an SQL expression over `jobs`.
fn push_sort_value(b: &mut QueryBuilder<'_, Sqlite>, column: &RunColumn) {
    match column {
        RunColumn::Id => b.push("jobs.id"),
        RunColumn::Name => b.push("jobs.name COLLATE NOCASE"),
        RunColumn::Status => b.push("jobs.status"),
        RunColumn::Started => b.push("jobs.started_ms"),
        RunColumn::Duration => b.push("jobs.duration_ms"),
        RunColumn::Param(key) => b
            .push("(SELECT json_extract(p.value, '$[1]') FROM json_each(jobs.params) p WHERE json_extract(p.value, '$[0]') = ")
            .push_bind(key.clone())
            .push(" LIMIT 1)"),
        RunColumn::Metric(key) => b
            .push("(SELECT m.last FROM metric_series m WHERE m.job_id = jobs.id AND m.count > 0 AND m.key = ")
            .push_bind(key.clone())
            .push(")"),
    };
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn notes_of(r: &SqliteRow) -> Result<RunNotes, EngineError> {
    let notes: Option<String> = r.try_get("notes")?;
    let tags: Option<String> = r.try_get("tags")?;
    Ok(RunNotes {
        notes: notes.unwrap_or_default(),
        tags: tags
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default(),
    })
}

fn count(r: &SqliteRow, column: &str) -> Result<u64, EngineError> {
    let n: Option<i64> = r.try_get(column)?;
    Ok(u64::try_from(n.unwrap_or(0)).unwrap_or(0))
}
