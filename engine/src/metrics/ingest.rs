//! Recording points: grouped by key, appended to each series' file, then
//! the catalog's summaries written in one transaction.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use trainyard_core::validate_metric_key;

use super::points::{self, Point};
use super::{JobSeries, MetricLine, Metrics};
use crate::error::EngineError;
use crate::store::{CursorSave, SeriesRow};

/// One point to record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint<'a> {
    pub key: &'a str,
    pub step: f64,
    pub value: f64,
    /// When it was measured (Unix ms).
    pub time_ms: i64,
}

impl Metrics {
    /// Records `points` of job `job_id`. Refuses the whole batch if a key is
    /// invalid or a step or value is not finite. Returns how many were recorded.
    pub async fn ingest(
        &self,
        job_id: i64,
        points: &[MetricPoint<'_>],
    ) -> Result<usize, EngineError> {
        check_points(points, false)?;
        let mut catalog = self.catalog.lock().await;
        let job = self.job_series(&mut catalog, job_id).await?;
        self.append_points(job_id, job, points, None).await
    }

    /// Records points logged through the MLflow API: like [`Metrics::ingest`],
    /// but a value may be NaN (kept in the points file for the metric's
    /// history, skipped by summaries and charts). Infinite values must have
    /// been clamped by the caller, as MLflow stores them.
    pub async fn ingest_tracked(
        &self,
        job_id: i64,
        points: &[MetricPoint<'_>],
    ) -> Result<usize, EngineError> {
        check_points(points, true)?;
        let mut catalog = self.catalog.lock().await;
        let job = self.job_series(&mut catalog, job_id).await?;
        self.append_points(job_id, job, points, None).await
    }

    /// Records parsed metric lines from job output; lines without a step get
    /// the job's next automatic one.
    pub(super) async fn ingest_lines(
        &self,
        job_id: i64,
        lines: Vec<MetricLine>,
    ) -> Result<usize, EngineError> {
        if lines.is_empty() {
            return Ok(0);
        }
        let now = self.clock.now_ms();
        let mut catalog = self.catalog.lock().await;
        let job = self.job_series(&mut catalog, job_id).await?;
        let mut batch = Vec::new();
        for line in &lines {
            let step = line.step.unwrap_or_else(|| {
                let step = job.next_auto_step;
                job.next_auto_step += 1.0;
                step
            });
            batch.extend(
                line.values
                    .iter()
                    .filter(|(key, _)| !is_progress_total(key))
                    .map(|(key, value)| MetricPoint {
                        key,
                        step,
                        value: *value,
                        time_ms: now,
                    }),
            );
        }
        self.append_points(job_id, job, &batch, None).await
    }

    /// The cached catalog of `job_id`, loaded on first use.
    pub(super) async fn job_series<'a>(
        &self,
        catalog: &'a mut HashMap<i64, JobSeries>,
        job_id: i64,
    ) -> Result<&'a mut JobSeries, EngineError> {
        let slot = match catalog.entry(job_id) {
            Entry::Occupied(cached) => return Ok(cached.into_mut()),
            Entry::Vacant(slot) => slot,
        };
        let Some(stored) = self.store.job(job_id).await? else {
            return Err(EngineError::JobNotFound(job_id));
        };
        let rows = self.store.metric_series_of(job_id).await?;
        // After a restart, automatic steps continue past what is stored.
        let next_auto_step = rows
            .iter()
            .filter(|r| r.count > 0)
            .map(|r| r.max_step + 1.0)
            .fold(0.0, f64::max);
        let by_key = rows.into_iter().map(|r| (r.key.clone(), r)).collect();
        let mut series = JobSeries {
            by_key,
            next_auto_step,
            floors: HashMap::new(),
        };
        // Loaded after a restart while a later attempt runs: what is stored
        // came before (or from) it, and its steps only grow from here.
        if stored.view.attempt > 1 {
            series.floors = series.floors_now();
        }
        Ok(slot.insert(series))
    }

    /// Appends `batch` to the series files, then commits the catalog (and
    /// `cursor`, the read position of the file the points came from, if any)
    /// in one transaction.
    pub(super) async fn append_points(
        &self,
        job_id: i64,
        job: &mut JobSeries,
        batch: &[MetricPoint<'_>],
        cursor: Option<&CursorSave>,
    ) -> Result<usize, EngineError> {
        let mut groups: Vec<(&str, Vec<Point>)> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut kept = 0;
        for p in batch {
            if job.floors.get(p.key).is_some_and(|floor| p.step <= *floor) {
                continue;
            }
            kept += 1;
            let at = *index.entry(p.key).or_insert_with(|| {
                groups.push((p.key, Vec::new()));
                groups.len() - 1
            });
            groups[at].1.push(Point {
                step: p.step,
                value: p.value,
                time_ms: p.time_ms,
            });
        }
        let now = self.clock.now_ms();
        let new_keys: Vec<&str> = groups
            .iter()
            .map(|(key, _)| *key)
            .filter(|key| !job.by_key.contains_key(*key))
            .collect();
        if !new_keys.is_empty() {
            let ids = self
                .store
                .create_metric_series(job_id, &new_keys, now)
                .await?;
            for (key, id) in new_keys.iter().zip(ids) {
                job.by_key
                    .insert((*key).to_string(), empty_row(id, job_id, key, now));
            }
        }
        let root = self.root.clone();
        let mut writes = Vec::with_capacity(groups.len());
        let mut updated = Vec::with_capacity(groups.len());
        for (key, points) in groups {
            let Some(row) = job.by_key.get(key) else {
                continue;
            };
            let mut next = row.clone();
            summarize(&mut next, &points, now);
            writes.push((
                points::series_path(&root, job_id, row.id),
                row.count,
                points,
            ));
            updated.push(next);
        }
        tokio::task::spawn_blocking(move || {
            writes
                .iter()
                .try_for_each(|(path, committed, points)| points::append(path, *committed, points))
        })
        .await
        .map_err(|e| EngineError::Io {
            path: root.clone(),
            source: std::io::Error::other(e.to_string()),
        })??;
        // The catalog is the commit point: on failure the appended records
        // stay uncommitted and are cut off by the next append.
        self.store
            .update_metric_series(&updated.iter().collect::<Vec<_>>(), cursor)
            .await?;
        for row in updated {
            job.by_key.insert(row.key.clone(), row);
        }
        self.points_recorded.add(kept as u64);
        Ok(kept)
    }
}

/// Refuses the batch if a key is invalid or a step is not finite, or a
/// value is not finite (NaN allowed with `nan_ok`).
fn check_points(points: &[MetricPoint<'_>], nan_ok: bool) -> Result<(), EngineError> {
    for p in points {
        validate_metric_key(p.key).map_err(|e| EngineError::BadMetricQuery {
            field: "key",
            message: format!("{e}: {:?}", p.key.chars().take(40).collect::<String>()),
        })?;
        let value_ok = p.value.is_finite() || (nan_ok && p.value.is_nan());
        if !p.step.is_finite() || !value_ok {
            return Err(EngineError::BadMetricQuery {
                field: "value",
                message: format!("step and value of {:?} must be finite numbers", p.key),
            });
        }
    }
    Ok(())
}

/// Keys that say how long a job will run (`total_epochs`, `total_steps`):
/// they feed the Queue's progress, and a constant is no curve, so they are
/// not recorded as series.
fn is_progress_total(key: &str) -> bool {
    key == "total_epochs" || key == "total_steps"
}

fn empty_row(id: i64, job_id: i64, key: &str, now: i64) -> SeriesRow {
    SeriesRow {
        id,
        job_id,
        key: key.to_string(),
        count: 0,
        last: 0.0,
        min: 0.0,
        max: 0.0,
        last_step: 0.0,
        min_step: 0.0,
        max_step: 0.0,
        monotonic: true,
        updated_ms: now,
    }
}

/// Folds `points` (in arrival order) into a series' summary. A NaN value
/// (MLflow clients may log one) counts as a point but never becomes the
/// last, min or max value: summaries stay numbers. A series whose first
/// point is NaN starts its summary at 0, as MLflow stores NaN.
fn summarize(row: &mut SeriesRow, points: &[Point], now: i64) {
    for p in points {
        if p.value.is_nan() {
            if row.count == 0 {
                (row.min, row.max, row.last) = (0.0, 0.0, 0.0);
                (row.min_step, row.max_step) = (p.step, p.step);
                row.monotonic = true;
            } else {
                row.min_step = row.min_step.min(p.step);
                row.max_step = row.max_step.max(p.step);
                row.monotonic &= p.step >= row.last_step;
            }
            row.last_step = p.step;
            row.count += 1;
            continue;
        }
        if row.count == 0 {
            (row.min, row.max) = (p.value, p.value);
            (row.min_step, row.max_step) = (p.step, p.step);
            row.monotonic = true;
        } else {
            row.min = row.min.min(p.value);
            row.max = row.max.max(p.value);
            row.min_step = row.min_step.min(p.step);
            row.max_step = row.max_step.max(p.step);
            row.monotonic &= p.step >= row.last_step;
        }
        row.last = p.value;
        row.last_step = p.step;
        row.count += 1;
    }
    row.updated_ms = now;
}
