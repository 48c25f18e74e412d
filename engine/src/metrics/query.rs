//! Reading metrics: the key list from the catalog, and a series bucketed
//! for a chart from its points file.

use trainyard_core::metrics::MAX_CHART_POINTS;
use trainyard_core::{validate_metric_key, MetricSeries, MetricSummary};

use super::buckets::Bucketer;
use super::points::{self, Reader};
use super::Metrics;
use crate::error::EngineError;

impl Metrics {
    /// Every metric key of job `job_id` with its summary, ordered by key.
    pub async fn keys(&self, job_id: i64) -> Result<Vec<MetricSummary>, EngineError> {
        let mut catalog = self.catalog.lock().await;
        let job = self.job_series(&mut catalog, job_id).await?;
        let mut keys: Vec<MetricSummary> = job
            .by_key
            .values()
            .filter(|r| r.count > 0)
            .map(|r| MetricSummary {
                key: r.key.clone(),
                last: r.last,
                min: r.min,
                max: r.max,
                last_step: r.last_step,
                count: r.count,
                updated_ms: r.updated_ms,
            })
            .collect();
        keys.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(keys)
    }

    /// Series `key` of job `job_id` over steps `[from, to]` (default: all)
    /// in at most `max_points` min/max/last buckets of equal step width.
    pub async fn series(
        &self,
        job_id: i64,
        key: &str,
        max_points: u32,
        from: Option<f64>,
        to: Option<f64>,
    ) -> Result<MetricSeries, EngineError> {
        let bad = |field, message: String| EngineError::BadMetricQuery { field, message };
        validate_metric_key(key).map_err(|e| bad("key", e.to_string()))?;
        if max_points == 0 || max_points > MAX_CHART_POINTS {
            return Err(bad(
                "max_points",
                format!("must be between 1 and {MAX_CHART_POINTS}, got {max_points}"),
            ));
        }
        for (field, bound) in [("from", from), ("to", to)] {
            if bound.is_some_and(|b| !b.is_finite()) {
                return Err(bad(field, "must be a finite number".into()));
            }
        }
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(bad("from", format!("from ({f}) is after to ({t})")));
            }
        }
        let row = {
            let mut catalog = self.catalog.lock().await;
            let job = self.job_series(&mut catalog, job_id).await?;
            match job.by_key.get(key) {
                Some(row) if row.count > 0 => row.clone(),
                _ => {
                    return Err(EngineError::MetricNotFound {
                        job_id,
                        key: key.to_string(),
                    })
                }
            }
        };
        let path = points::series_path(&self.root, job_id, row.id);
        let lo = from.unwrap_or(row.min_step);
        let hi = to.unwrap_or(row.max_step);
        let mut series = MetricSeries {
            key: key.to_string(),
            from: Some(lo),
            to: Some(hi),
            total_points: 0,
            buckets: Vec::new(),
        };
        if lo > hi {
            return Ok(series);
        }
        let buckets = usize::try_from(max_points).unwrap_or(usize::MAX);
        let (total, buckets) = tokio::task::spawn_blocking(move || {
            let Some(reader) = Reader::open(&path, row.count)? else {
                return Ok((0, Vec::new()));
            };
            let (start, end) = if row.monotonic {
                (reader.partition(lo, false)?, reader.partition(hi, true)?)
            } else {
                (0, reader.len)
            };
            let mut bucketer = Bucketer::new(lo, hi, buckets);
            reader.scan(start, end, |p| bucketer.add(p))?;
            Ok::<_, EngineError>((bucketer.total(), bucketer.finish()))
        })
        .await
        .map_err(|e| EngineError::Io {
            path: self.root.clone(),
            source: std::io::Error::other(e.to_string()),
        })??;
        series.total_points = total;
        series.buckets = buckets;
        Ok(series)
    }
}
