//! Runs side by side: each run's curves (bounded points per series) and,
//! per metric, its last, lowest and highest point with their steps.

use std::collections::BTreeSet;

use trainyard_core::runs::{ComparedRun, FinalValue, RunComparison, StepValue, MAX_COMPARE_RUNS};

use super::Results;
use crate::error::EngineError;
use crate::metrics::Metrics;

impl Results {
    /// Compares runs `ids` (in that order, repeats dropped), each series
    /// cut to at most `max_points` buckets.
    pub async fn compare_runs(
        &self,
        ids: &[i64],
        max_points: u32,
        metrics: &Metrics,
    ) -> Result<RunComparison, EngineError> {
        let mut unique: Vec<i64> = Vec::with_capacity(ids.len());
        for id in ids {
            if !unique.contains(id) {
                unique.push(*id);
            }
        }
        if unique.is_empty() || unique.len() > MAX_COMPARE_RUNS {
            return Err(EngineError::BadOption(format!(
                "runs: choose between 1 and {MAX_COMPARE_RUNS} runs to compare, got {}",
                unique.len()
            )));
        }
        let mut runs = Vec::with_capacity(unique.len());
        let mut keys = BTreeSet::new();
        let mut param_keys: Vec<String> = Vec::new();
        for id in unique {
            let job = self.require_job(id).await?.view;
            let mut series = Vec::new();
            let mut finals = Vec::new();
            for summary in metrics.keys(id).await? {
                series.push(
                    metrics
                        .series(id, &summary.key, max_points, None, None)
                        .await?,
                );
                finals.push(FinalValue {
                    last: StepValue {
                        step: summary.last_step,
                        value: summary.last,
                    },
                    min: self
                        .step_of_extreme(metrics, id, &summary.key, summary.min, true)
                        .await?,
                    max: self
                        .step_of_extreme(metrics, id, &summary.key, summary.max, false)
                        .await?,
                    count: summary.count,
                    key: summary.key.clone(),
                });
                keys.insert(summary.key);
            }
            for (key, _) in &job.params {
                if !param_keys.contains(key) {
                    param_keys.push(key.clone());
                }
            }
            runs.push(ComparedRun {
                job,
                series,
                finals,
            });
        }
        Ok(RunComparison {
            runs,
            keys: keys.into_iter().collect(),
            param_keys,
        })
    }
}
