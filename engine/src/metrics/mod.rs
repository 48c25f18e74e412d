//! Metrics: series of (step, value, time) per job and key, read from job
//! output and answered to charts in bounded buckets. See docs/metrics.md.
//!
//! SQLite holds the catalog: one row per series with its running summary
//! (what the key list shows, without touching points). The points go to an
//! append-only file per series, named by the series' numeric id. Points are
//! written far more often than anything else and read in long runs, which a
//! flat file of fixed records does at disk speed; a row per point would cost
//! an index entry and a B-tree insert each, and a chart over a million of
//! them would be a million-row query.

mod buckets;
mod csv_index;
mod csv_rows;
mod from_log;
mod ingest;
mod parse;
mod points;
mod query;
mod tap;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};

pub(crate) use csv_index::CsvSource;
pub use ingest::MetricPoint;
pub use parse::{parse_metric_line, MetricLine, MetricLineError};

use crate::store::SeriesRow;
use tap::Taps;

/// The series of one job, as cached from the catalog.
struct JobSeries {
    by_key: HashMap<String, SeriesRow>,
    /// Step given to the next metric line that names none.
    next_auto_step: f64,
}

/// The engine's metric state.
pub(crate) struct MetricsState {
    /// `<data dir>/metrics`: points files live in `<job>/<series id>.bin`.
    root: PathBuf,
    /// Catalog rows of jobs touched since start; its lock orders writers.
    catalog: tokio::sync::Mutex<HashMap<i64, JobSeries>>,
    taps: Mutex<Taps>,
    /// Orders CSV indexing (cursor reads and commits).
    csv_lock: tokio::sync::Mutex<()>,
}

impl MetricsState {
    pub fn new(root: PathBuf) -> MetricsState {
        MetricsState {
            root,
            catalog: tokio::sync::Mutex::new(HashMap::new()),
            taps: Mutex::new(Taps::default()),
            csv_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn taps(&self) -> MutexGuard<'_, Taps> {
        // Taps are only line buffers; a panic mid-update loses at most a line.
        self.taps.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
