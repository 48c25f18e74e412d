//! Logging into a run: params (immutable once logged), tags (a
//! `mlflow.runName` tag renames the run) and metric points, with MLflow's
//! batch limits. Everything is checked before anything is written.

use std::collections::HashSet;
use std::sync::Arc;

use super::{
    check_key, invalid, short, truncated, Tracking, MAX_BATCH_ENTITIES, MAX_BATCH_METRICS,
    MAX_BATCH_PARAMS, MAX_BATCH_TAGS, MAX_PARAM_VALUE_CHARS, MAX_TAG_VALUE_CHARS, RUN_NAME_TAG,
};
use crate::error::EngineError;
use crate::events::{BusEvent, EventBus};
use crate::metrics::{MetricPoint, Metrics};

/// One metric point as a client logs it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedMetric {
    pub key: String,
    /// May be NaN or infinite (stored as MLflow does: ±inf as ±f64::MAX).
    pub value: f64,
    pub timestamp_ms: i64,
    pub step: i64,
}

/// A `log-batch` (also what single `log-metric`, `log-parameter` and
/// `set-tag` calls become).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackedBatch {
    pub metrics: Vec<LoggedMetric>,
    pub params: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
}

impl Tracking {
    /// Logs `batch` into run `id`, which must not be archived (MLflow's
    /// deleted).
    pub async fn log_batch(
        &self,
        id: i64,
        batch: TrackedBatch,
        metrics: &Metrics,
        bus: &Arc<EventBus>,
    ) -> Result<(), EngineError> {
        check_limits(&batch)?;
        let mut seen = HashSet::new();
        for (key, _) in &batch.params {
            check_key("params.key", key)?;
            if !seen.insert(key.as_str()) {
                return Err(invalid(
                    "params",
                    format!("duplicate parameter key {:?} in one batch", short(key)),
                ));
            }
        }
        for (key, _) in &batch.tags {
            check_key("tags.key", key)?;
        }
        for m in &batch.metrics {
            check_key("metrics.key", &m.key)?;
        }
        let points: Vec<MetricPoint<'_>> = batch
            .metrics
            .iter()
            .map(|m| MetricPoint {
                key: &m.key,
                step: m.step as f64,
                value: stored_value(m.value),
                time_ms: m.timestamp_ms,
            })
            .collect();

        let deleted = || {
            invalid(
                "run_id",
                format!("run {id} is deleted; it must be in the 'active' state to log to it"),
            )
        };
        if batch.params.is_empty() && batch.tags.is_empty() {
            // Metrics only (every `log_metric`): one lookup, and the metric
            // store orders its own writes.
            match self.store.archived(id).await? {
                None => return Err(EngineError::JobNotFound(id)),
                Some(true) => return Err(deleted()),
                Some(false) => {}
            }
            if !points.is_empty() {
                metrics.ingest_tracked(id, &points).await?;
            }
            return Ok(());
        }
        let _writing = self.writes.lock().await;
        let mut job = self.run_job(id).await?;
        if self.store.is_archived(id).await? {
            return Err(deleted());
        }
        let params = if batch.params.is_empty() {
            None
        } else {
            let mut params = job.view.params.clone();
            for (key, value) in &batch.params {
                let value = truncated(value, MAX_PARAM_VALUE_CHARS);
                match params.iter().find(|(k, _)| k == key) {
                    Some((_, old)) if *old == value => {}
                    Some((_, old)) => {
                        return Err(invalid(
                            "params",
                            format!(
                                "Changing param values is not allowed. Param with key={:?} was already logged with value={:?} for run ID={id}. Attempted logging new value {:?}.",
                                short(key),
                                short(old),
                                short(&value)
                            ),
                        ))
                    }
                    None => params.push((key.clone(), value)),
                }
            }
            Some(params)
        };
        let tags: Vec<(String, String)> = batch
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), truncated(v, MAX_TAG_VALUE_CHARS)))
            .collect();
        let rename = tags
            .iter()
            .rev()
            .find(|(k, v)| k == RUN_NAME_TAG && !v.is_empty())
            .map(|(_, v)| v.clone());
        if params.is_some() || !tags.is_empty() {
            self.store
                .save_tracked_fields(id, params.as_deref(), &tags, rename.as_deref())
                .await?;
        }
        if !points.is_empty() {
            metrics.ingest_tracked(id, &points).await?;
        }
        if params.is_some() || rename.is_some() {
            if let Some(params) = params {
                job.view.params = params;
            }
            if let Some(name) = rename {
                job.view.name = name;
            }
            bus.publish(BusEvent::Job(Arc::new(job.view)));
        }
        Ok(())
    }
}

/// ±inf become ±f64::MAX, as MLflow's SQL store keeps them; NaN stays.
fn stored_value(value: f64) -> f64 {
    if value == f64::INFINITY {
        f64::MAX
    } else if value == f64::NEG_INFINITY {
        f64::MIN
    } else {
        value
    }
}

fn check_limits(batch: &TrackedBatch) -> Result<(), EngineError> {
    let too_many = |field: &str, n: usize, limit: usize, what: &str| {
        invalid(
            field,
            format!("A batch logging request can contain at most {limit} {what}. Got {n} {what}. Please split up the batch into smaller batches."),
        )
    };
    if batch.metrics.len() > MAX_BATCH_METRICS {
        return Err(too_many(
            "metrics",
            batch.metrics.len(),
            MAX_BATCH_METRICS,
            "metrics",
        ));
    }
    if batch.params.len() > MAX_BATCH_PARAMS {
        return Err(too_many(
            "params",
            batch.params.len(),
            MAX_BATCH_PARAMS,
            "params",
        ));
    }
    if batch.tags.len() > MAX_BATCH_TAGS {
        return Err(too_many("tags", batch.tags.len(), MAX_BATCH_TAGS, "tags"));
    }
    let total = batch.metrics.len() + batch.params.len() + batch.tags.len();
    if total > MAX_BATCH_ENTITIES {
        return Err(too_many(
            "metrics",
            total,
            MAX_BATCH_ENTITIES,
            "metrics, params and tags in total",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinities_are_clamped_like_mlflow_and_nan_kept() {
        assert_eq!(stored_value(f64::INFINITY), f64::MAX);
        assert_eq!(stored_value(f64::NEG_INFINITY), f64::MIN);
        assert!(stored_value(f64::NAN).is_nan());
        assert_eq!(stored_value(1.5), 1.5);
    }

    #[test]
    fn batch_limits_are_mlflows() {
        let metric = LoggedMetric {
            key: "m".into(),
            value: 1.0,
            timestamp_ms: 1,
            step: 0,
        };
        let ok = TrackedBatch {
            metrics: vec![metric.clone(); 1000],
            ..TrackedBatch::default()
        };
        assert!(check_limits(&ok).is_ok());
        let over = TrackedBatch {
            metrics: vec![metric.clone(); 1001],
            ..TrackedBatch::default()
        };
        let err = check_limits(&over).unwrap_err().to_string();
        assert!(err.contains("at most 1000 metrics"), "{err}");
        let params = TrackedBatch {
            params: (0..101).map(|i| (format!("p{i}"), "v".into())).collect(),
            ..TrackedBatch::default()
        };
        assert!(check_limits(&params)
            .unwrap_err()
            .to_string()
            .contains("100 params"));
        let total = TrackedBatch {
            metrics: vec![metric; 950],
            params: (0..60).map(|i| (format!("p{i}"), "v".into())).collect(),
            ..TrackedBatch::default()
        };
        assert!(check_limits(&total)
            .unwrap_err()
            .to_string()
            .contains("in total"));
    }
}
