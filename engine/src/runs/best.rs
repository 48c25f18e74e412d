//! The step where a series reached its lowest or highest value. The
//! catalog knows the value (min/max) but not the step, so this narrows
//! down with bucketed queries: each round keeps the bucket holding the
//! value, 1,000 times narrower, until one step is left. Two or three rounds
//! find it in a million points, without reading them all.

use trainyard_core::runs::StepValue;

use super::Results;
use crate::error::EngineError;
use crate::metrics::Metrics;

/// Buckets per round.
const ROUND_BUCKETS: u32 = 1_000;
/// Rounds at most; 1,000^6 steps is more than any run has.
const MAX_ROUNDS: usize = 6;

impl Results {
    /// The first point (in step order) of `key` whose value is `value`,
    /// the series' min (`want_min`) or max.
    pub(super) async fn step_of_extreme(
        &self,
        metrics: &Metrics,
        job_id: i64,
        key: &str,
        value: f64,
        want_min: bool,
    ) -> Result<StepValue, EngineError> {
        let (mut from, mut to) = (None, None);
        let mut found = StepValue {
            step: f64::NAN,
            value,
        };
        for _ in 0..MAX_ROUNDS {
            let series = metrics.series(job_id, key, ROUND_BUCKETS, from, to).await?;
            let hit = series.buckets.iter().find(|b| {
                if want_min {
                    b.min == value
                } else {
                    b.max == value
                }
            });
            let Some(bucket) = hit else {
                break;
            };
            // Until narrowed down, the bucket's start is the best guess.
            found.step = if bucket.count == 1 {
                bucket.last_step
            } else {
                bucket.step_start
            };
            if bucket.count == 1 || bucket.step_start == bucket.step_end {
                break;
            }
            (from, to) = (Some(bucket.step_start), Some(bucket.step_end));
        }
        Ok(found)
    }
}
