//! A series point by point, with each point's time: what MLflow's
//! `get_metric_history` returns. Points come in the order they arrived.

use trainyard_core::validate_metric_key;

use super::points::{self, Point, Reader};
use super::Metrics;
use crate::error::EngineError;

/// A page of a series' points.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    /// `(step, value, time_ms)` in arrival order; values may be NaN.
    pub points: Vec<(f64, f64, i64)>,
    /// Points in the whole series.
    pub total: u64,
}

impl Metrics {
    /// Points `[offset, offset + limit)` of series `key` of job `job_id`; an
    /// unknown key is an empty page.
    pub async fn history(
        &self,
        job_id: i64,
        key: &str,
        offset: u64,
        limit: u64,
    ) -> Result<HistoryPage, EngineError> {
        validate_metric_key(key).map_err(|e| EngineError::BadMetricQuery {
            field: "metric_key",
            message: e.to_string(),
        })?;
        let (path, committed) = {
            let mut catalog = self.catalog.lock().await;
            let job = self.job_series(&mut catalog, job_id).await?;
            match job.by_key.get(key) {
                Some(row) => (points::series_path(&self.root, job_id, row.id), row.count),
                None => {
                    return Ok(HistoryPage {
                        points: Vec::new(),
                        total: 0,
                    })
                }
            }
        };
        tokio::task::spawn_blocking(move || {
            let Some(reader) = Reader::open(&path, committed)? else {
                return Ok(HistoryPage {
                    points: Vec::new(),
                    total: 0,
                });
            };
            let mut out = Vec::new();
            let end = offset.saturating_add(limit);
            reader.scan(offset, end, |p: Point| {
                out.push((p.step, p.value, p.time_ms))
            })?;
            Ok(HistoryPage {
                points: out,
                total: reader.len,
            })
        })
        .await
        .map_err(|e| EngineError::Io {
            path: self.root.clone(),
            source: std::io::Error::other(e.to_string()),
        })?
    }
}
