//! The best run of a project (or one sweep) by a metric: each run's best
//! value (its min or max, not its last), the step where it was first
//! reached, equal values broken by the newest run. Runs without a point of
//! the metric are listed as skipped.

use std::cmp::Ordering;

use trainyard_core::models::{BestMode, BestRunReport, RankedRun, SkippedRun};
use trainyard_core::runs::StepValue;
use trainyard_core::validate_metric_key;

use super::Results;
use crate::error::EngineError;
use crate::metrics::Metrics;

impl Results {
    pub async fn best_run(
        &self,
        project: &str,
        sweep: Option<i64>,
        metric: &str,
        mode: BestMode,
        metrics: &Metrics,
    ) -> Result<BestRunReport, EngineError> {
        validate_metric_key(metric).map_err(|e| EngineError::BadMetricQuery {
            field: "metric",
            message: e.to_string(),
        })?;
        if !self.store.project_exists(project).await? {
            return Err(EngineError::ProjectNotFound(
                project.chars().take(200).collect(),
            ));
        }
        let candidates = self.store.best_candidates(project, sweep, metric).await?;
        let mut ranked = Vec::new();
        let mut skipped = Vec::new();
        // Newest first, so a stable sort by value keeps the newest first
        // among equals.
        for c in candidates {
            let Some((points, min, max, last, last_step)) = c.series else {
                skipped.push(SkippedRun {
                    job_id: c.job_id,
                    name: c.name,
                    status: c.status,
                    reason: format!("no point of {metric:?}"),
                });
                continue;
            };
            let want_min = mode == BestMode::Min;
            let extreme = if want_min { min } else { max };
            if !extreme.is_finite() {
                skipped.push(SkippedRun {
                    job_id: c.job_id,
                    name: c.name,
                    status: c.status,
                    reason: format!("{metric:?} has no finite value"),
                });
                continue;
            }
            let best = self
                .step_of_extreme(metrics, c.job_id, metric, extreme, want_min)
                .await?;
            ranked.push(RankedRun {
                job_id: c.job_id,
                name: c.name,
                sweep_id: c.sweep_id,
                status: c.status,
                created_ms: c.created_ms,
                best,
                last: StepValue {
                    step: last_step,
                    value: last,
                },
                points,
            });
        }
        ranked.sort_by(|a, b| {
            let order = a
                .best
                .value
                .partial_cmp(&b.best.value)
                .unwrap_or(Ordering::Equal);
            match mode {
                BestMode::Min => order,
                BestMode::Max => order.reverse(),
            }
        });
        if sweep.is_some() && ranked.is_empty() && skipped.is_empty() {
            return Err(EngineError::BadOption(format!(
                "project {project:?} has no runs in sweep {}",
                sweep.unwrap_or_default()
            )));
        }
        Ok(BestRunReport {
            project: project.to_string(),
            sweep,
            metric: metric.to_string(),
            mode,
            best: ranked.first().cloned(),
            ranked,
            skipped,
        })
    }
}
