//! Results queries over `jobs`, `metric_series` and `run_notes`: projects,
//! the sorted and paged runs table, and notes and tags.

use std::collections::HashMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use trainyard_core::runs::{ArchivedFilter, ProjectSummary, RunColumn, RunNotes, RunsQuery};
use trainyard_core::{JobStatus, JobView};

use super::jobs::{job_row, JobRow, JOB_COLUMNS};
use super::Store;
use crate::error::EngineError;

impl Store {
    /// Every project with its run counts (of the runs `archived` selects)
    /// and how many are archived, most recently used first.
    pub async fn projects(
        &self,
        archived: ArchivedFilter,
    ) -> Result<Vec<ProjectSummary>, EngineError> {
        let shown = archived_sql(archived);
        let sql = format!(
            "SELECT project, SUM({shown}) AS runs,
               SUM(({shown}) AND status IN {}) AS active,
               SUM(({shown}) AND status = 'succeeded') AS succeeded,
               SUM(({shown}) AND status IN ('failed', 'cancelled')) AS failed,
               MAX(created_ms) AS last_created_ms,
               SUM(archived_ms IS NOT NULL) AS archived
             FROM jobs GROUP BY project {}
             ORDER BY last_created_ms DESC",
            super::unfinished_statuses_sql(),
            if archived == ArchivedFilter::Only {
                "HAVING SUM(archived_ms IS NOT NULL) > 0"
            } else {
                ""
            }
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
                    archived: count(r, "archived")?,
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
    pub async fn runs_page(&self, q: &RunsQuery) -> Result<(u64, Vec<RunFacts>), EngineError> {
        let mut counter = QueryBuilder::<Sqlite>::new(
            "SELECT COUNT(*) AS n FROM jobs LEFT JOIN run_notes n ON n.job_id = jobs.id",
        );
        push_filter(&mut counter, q);
        let total = count(&counter.build().fetch_one(&self.pool).await?, "n")?;

        let mut page = QueryBuilder::<Sqlite>::new(format!(
            "SELECT * FROM (SELECT {JOB_COLUMNS}, n.notes AS notes, n.tags AS tags, {FACT_COLUMNS}, "
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
            .map(|r| Ok(facts_of(r)?.0))
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

/// `WHERE` for the project, status, search and archive state of `q`.
fn push_filter(b: &mut QueryBuilder<'_, Sqlite>, q: &RunsQuery) {
    b.push(" WHERE jobs.project = ");
    b.push_bind(q.project.clone());
    b.push(format!(" AND {}", archived_sql(q.archived)));
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

// ---- archive, run state and purge (issue 11) -------------------------------

/// What the results domain derives a run's state from, beside the job.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFacts {
    pub job: JobView,
    pub notes: RunNotes,
    pub archived_ms: Option<i64>,
    /// The status of the job's current attempt as recorded (`succeeded`
    /// etc. only after its agent's final report).
    pub attempt_status: Option<JobStatus>,
    pub imported: bool,
    /// Created by an MLflow client, never scheduled.
    pub tracked: bool,
}

/// The columns [`facts_of`] reads beside `JOB_COLUMNS`, notes and tags.
const FACT_COLUMNS: &str = "jobs.archived_ms AS archived_ms, \
    (SELECT a.status FROM attempts a WHERE a.job_id = jobs.id AND a.attempt = jobs.attempt) AS attempt_status, \
    EXISTS (SELECT 1 FROM imported_runs i WHERE i.job_id = jobs.id) AS imported, \
    EXISTS (SELECT 1 FROM tracked_runs t WHERE t.job_id = jobs.id) AS tracked";

/// The SQL condition on `jobs.archived_ms` that `filter` selects.
fn archived_sql(filter: ArchivedFilter) -> &'static str {
    match filter {
        ArchivedFilter::Exclude => "jobs.archived_ms IS NULL",
        ArchivedFilter::Include => "1",
        ArchivedFilter::Only => "jobs.archived_ms IS NOT NULL",
    }
}

fn facts_of(r: &SqliteRow) -> Result<(RunFacts, String), EngineError> {
    let JobRow { view, config_yaml } = job_row(r)?;
    let attempt_status: Option<String> = r.try_get("attempt_status")?;
    Ok((
        RunFacts {
            job: view,
            notes: notes_of(r)?,
            archived_ms: r.try_get("archived_ms")?,
            attempt_status: attempt_status.and_then(|s| s.parse().ok()),
            imported: r.try_get("imported")?,
            tracked: r.try_get("tracked")?,
        },
        config_yaml,
    ))
}

impl Store {
    /// One run's facts and resolved config, or `None` if no job has that id.
    pub async fn run_facts(&self, job_id: i64) -> Result<Option<(RunFacts, String)>, EngineError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS}, n.notes AS notes, n.tags AS tags, {FACT_COLUMNS}
             FROM jobs LEFT JOIN run_notes n ON n.job_id = jobs.id WHERE jobs.id = ?"
        );
        let row = sqlx::query(&sql)
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(facts_of).transpose()
    }

    /// The newest job named `name` in `project` (the web helper's run name).
    pub async fn run_id_by_name(
        &self,
        project: &str,
        name: &str,
    ) -> Result<Option<i64>, EngineError> {
        let row = sqlx::query(
            "SELECT id FROM jobs WHERE project = ? AND name = ? ORDER BY id DESC LIMIT 1",
        )
        .bind(project)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// Marks a finished (or imported or MLflow-created: never scheduled) job archived at
    /// `now_ms`, keeping an earlier time if it already was. Returns `false`
    /// if no such job has that id.
    pub async fn archive_job(&self, job_id: i64, now_ms: i64) -> Result<bool, EngineError> {
        let sql = format!(
            "UPDATE jobs SET archived_ms = COALESCE(archived_ms, ?)
             WHERE id = ? AND (status NOT IN {}
               OR EXISTS (SELECT 1 FROM imported_runs i WHERE i.job_id = jobs.id)
               OR EXISTS (SELECT 1 FROM tracked_runs t WHERE t.job_id = jobs.id))",
            super::unfinished_statuses_sql()
        );
        let done = sqlx::query(&sql)
            .bind(now_ms)
            .bind(job_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Clears a job's archived mark. Returns `false` if no job has that id.
    pub async fn restore_job(&self, job_id: i64) -> Result<bool, EngineError> {
        let done = sqlx::query("UPDATE jobs SET archived_ms = NULL WHERE id = ?")
            .bind(job_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Jobs archived at or before `cutoff_ms`, oldest first, with whether
    /// each was imported.
    pub async fn archived_before(&self, cutoff_ms: i64) -> Result<Vec<(i64, bool)>, EngineError> {
        let rows = sqlx::query(
            "SELECT id, EXISTS (SELECT 1 FROM imported_runs i WHERE i.job_id = jobs.id) AS imported
             FROM jobs WHERE archived_ms IS NOT NULL AND archived_ms <= ? ORDER BY archived_ms, id",
        )
        .bind(cutoff_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("imported")?)))
            .collect()
    }

    /// Deletes a job archived at or before `cutoff_ms` and every row about
    /// it, in one transaction. Returns `false` (deleting nothing) if it was
    /// restored (or archived again, later) meanwhile.
    pub async fn purge_job(&self, job_id: i64, cutoff_ms: i64) -> Result<bool, EngineError> {
        let mut tx = self.pool.begin().await?;
        let archived = sqlx::query("SELECT 1 FROM jobs WHERE id = ? AND archived_ms <= ?")
            .bind(job_id)
            .bind(cutoff_ms)
            .fetch_optional(&mut *tx)
            .await?;
        if archived.is_none() {
            return Ok(false);
        }
        for table in [
            "metric_series",
            "csv_cursors",
            "run_problems",
            "attempts",
            "run_notes",
            "job_manifests",
            "job_launches",
        ] {
            sqlx::query(&format!("DELETE FROM {table} WHERE job_id = ?"))
                .bind(job_id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE component_notices SET job_id = NULL WHERE job_id = ?")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM jobs WHERE id = ?")
            .bind(job_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
