//! Metrics of a run (a job) as the browser and scripts see them: one
//! summary per key, and a series cut into a bounded number of step buckets
//! for charts. See docs/metrics.md.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest metric key accepted, in characters.
pub const MAX_METRIC_KEY_CHARS: usize = 200;
/// Most buckets one series query may ask for.
pub const MAX_CHART_POINTS: u32 = 100_000;
/// Buckets a series query gets when it names no `max_points`.
pub const DEFAULT_CHART_POINTS: u32 = 2_000;

/// What a run's metric key holds: `GET /api/v1/runs/{id}/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    pub key: String,
    /// Value of the most recently reported point.
    pub last: f64,
    pub min: f64,
    pub max: f64,
    /// Step of the most recently reported point.
    pub last_step: f64,
    pub count: u64,
    /// Server time (Unix ms) of the last write.
    #[serde(default)]
    pub updated_ms: i64,
}

/// The points whose step falls in `[step_start, step_end]`, summarized so
/// that no spike is lost: the chart draws min–max and the last value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesBucket {
    pub step_start: f64,
    pub step_end: f64,
    pub min: f64,
    pub max: f64,
    /// Value of the point reported last (in arrival order) in this bucket.
    pub last: f64,
    pub last_step: f64,
    pub count: u64,
}

/// A series for a chart: `GET /api/v1/runs/{id}/metrics/{key}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    pub key: String,
    /// Step range covered (the query's, or the series' own); `None` when the
    /// series has no points in range.
    pub from: Option<f64>,
    pub to: Option<f64>,
    /// Points in range, before bucketing.
    pub total_points: u64,
    /// Non-empty buckets in step order. When `total_points` fits the budget
    /// each point is its own bucket (`count == 1`), so small series are exact.
    pub buckets: Vec<SeriesBucket>,
}

/// Why a metric key was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetricKeyError {
    #[error("metric key is empty")]
    Empty,
    #[error("metric key is longer than {MAX_METRIC_KEY_CHARS} characters")]
    TooLong,
    #[error("metric key contains a control character")]
    ControlChar,
    #[error("metric key starts with `/`")]
    LeadingSlash,
    #[error("metric key has a `..` component")]
    DotDot,
}

/// Something in a run's files that could not be indexed, e.g. a malformed
/// CSV line (which is skipped; the rest of the file is indexed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunProblem {
    /// The file (relative to the run dir) or `output.log`.
    pub source: String,
    /// 1-based line number, when the problem is one line.
    #[serde(default)]
    pub line: Option<u64>,
    pub message: String,
    pub created_ms: i64,
}

/// Checks a metric key: 1–200 characters, no control characters, no leading
/// `/`, no `..` component. `/` inside (`train/loss`) is fine; keys never
/// become file names, but they do end up in URLs and paths people read.
pub fn validate_metric_key(key: &str) -> Result<(), MetricKeyError> {
    if key.is_empty() {
        return Err(MetricKeyError::Empty);
    }
    if key.chars().count() > MAX_METRIC_KEY_CHARS {
        return Err(MetricKeyError::TooLong);
    }
    if key.chars().any(char::is_control) {
        return Err(MetricKeyError::ControlChar);
    }
    if key.starts_with('/') {
        return Err(MetricKeyError::LeadingSlash);
    }
    if key.split('/').any(|part| part == "..") {
        return Err(MetricKeyError::DotDot);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ml_style_keys_pass() {
        for key in ["loss", "train/loss", "val/acc@1", "lr (x1e-3)", "a..b", "ü"] {
            assert_eq!(validate_metric_key(key), Ok(()), "{key}");
        }
    }

    #[test]
    fn path_tricks_and_junk_are_refused() {
        assert_eq!(validate_metric_key(""), Err(MetricKeyError::Empty));
        assert_eq!(
            validate_metric_key(&"x".repeat(201)),
            Err(MetricKeyError::TooLong)
        );
        assert_eq!(validate_metric_key(&"é".repeat(200)), Ok(()));
        assert_eq!(
            validate_metric_key("a\nb"),
            Err(MetricKeyError::ControlChar)
        );
        assert_eq!(
            validate_metric_key("/etc"),
            Err(MetricKeyError::LeadingSlash)
        );
        assert_eq!(validate_metric_key("a/../b"), Err(MetricKeyError::DotDot));
        assert_eq!(validate_metric_key(".."), Err(MetricKeyError::DotDot));
    }

    #[test]
    fn series_round_trips_through_json() {
        let series = MetricSeries {
            key: "train/loss".into(),
            from: Some(0.0),
            to: Some(9.0),
            total_points: 1,
            buckets: vec![SeriesBucket {
                step_start: 3.0,
                step_end: 3.0,
                min: 0.5,
                max: 0.5,
                last: 0.5,
                last_step: 3.0,
                count: 1,
            }],
        };
        let json = serde_json::to_string(&series).expect("it serializes");
        let back: MetricSeries = serde_json::from_str(&json).expect("it parses");
        assert_eq!(back, series);
    }
}
