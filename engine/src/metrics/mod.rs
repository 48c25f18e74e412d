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

//!
//! Besides the series, this domain keeps how far running jobs are
//! (`progress.rs`), read from the same metric lines. It needs nothing from
//! other domains: job output and run files are handed to it.

mod buckets;
mod csv_index;
mod csv_rows;
mod history;
mod ingest;
mod parse;
mod points;
mod progress;
mod query;
mod tap;
pub(crate) mod tfevents;
mod tfevents_index;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use trainyard_core::runs::RunProgress;
use trainyard_core::work::AttemptRef;

pub(crate) use csv_index::CsvSource;
pub use ingest::MetricPoint;
pub(crate) use parse::MetricLine;
pub(crate) use tap::MAX_LINE_BYTES;
pub(crate) use tfevents_index::TfSource;

use crate::clock::Clock;
use crate::events::{BusEvent, EventBus};
use crate::exposition::Counter;
use crate::store::{SeriesRow, Store};
use progress::ProgressTracker;
use tap::Taps;

/// The series of one job, as cached from the catalog.
struct JobSeries {
    by_key: HashMap<String, SeriesRow>,
    /// Step given to the next metric line that names none.
    next_auto_step: f64,
    /// Set while a later attempt runs (a retry, a preempted job's return,
    /// a *Resume*): per key, the last step recorded before it started.
    /// Points at or below it are dropped, so a resumed run that repeats
    /// steps (its checkpoint is older than its last metric) adds none twice.
    floors: HashMap<String, f64>,
}

impl JobSeries {
    /// Each key's largest recorded step, as the floor of a later attempt.
    fn floors_now(&self) -> HashMap<String, f64> {
        self.by_key
            .values()
            .filter(|r| r.count > 0)
            .map(|r| (r.key.clone(), r.max_step))
            .collect()
    }
}

/// The metrics domain.
pub(crate) struct Metrics {
    /// `<data dir>/metrics`: points files live in `<job>/<series id>.bin`.
    root: PathBuf,
    /// Catalog rows of jobs touched since start; its lock orders writers.
    catalog: tokio::sync::Mutex<HashMap<i64, JobSeries>>,
    taps: Mutex<Taps>,
    /// Orders CSV and event-file indexing (cursor reads and commits).
    csv_lock: tokio::sync::Mutex<()>,
    progress: ProgressTracker,
    /// Points recorded since start, from every source (`/metrics`).
    points_recorded: Counter,
    store: Store,
    bus: Arc<EventBus>,
    clock: Clock,
}

impl Metrics {
    pub fn new(root: PathBuf, store: Store, bus: Arc<EventBus>, clock: Clock) -> Metrics {
        Metrics {
            root,
            catalog: tokio::sync::Mutex::new(HashMap::new()),
            taps: Mutex::new(Taps::default()),
            csv_lock: tokio::sync::Mutex::new(()),
            progress: ProgressTracker::default(),
            points_recorded: Counter::default(),
            store,
            bus,
            clock,
        }
    }

    fn taps(&self) -> MutexGuard<'_, Taps> {
        // Taps are only line buffers; a panic mid-update loses at most a line.
        self.taps.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Points recorded since start, from every source.
    pub fn points_recorded(&self) -> u64 {
        self.points_recorded.get()
    }

    /// Whether the output tap already follows attempt `at`.
    pub fn tap_knows(&self, at: AttemptRef) -> bool {
        self.taps().knows(at)
    }

    /// Starts following an attempt whose log already ends with `tail` (the
    /// bytes after its last newline; `None` when that line is too long).
    pub fn seed_tap(&self, at: AttemptRef, tail: Option<Vec<u8>>) {
        self.taps().seed(at, tail);
    }

    /// `data` was written to the attempt's log at `offset`; the metric
    /// lines it completed.
    pub fn tap(&self, at: AttemptRef, offset: u64, data: &[u8]) -> Vec<MetricLine> {
        self.taps().feed(at, offset, data)
    }

    /// Job `job_id` was handed to a later attempt, which continues its
    /// series: from now on, points at steps it already has are dropped.
    pub async fn attempt_resumes(&self, job_id: i64) {
        let mut catalog = self.catalog.lock().await;
        match self.job_series(&mut catalog, job_id).await {
            Ok(job) => job.floors = job.floors_now(),
            Err(e) => tracing::warn!(job = job_id, "cannot read the job's series: {e}"),
        }
    }

    /// Records lines from output and the progress they tell. The output
    /// itself is already safe in the log, so a failure here is logged, not
    /// returned to the agent.
    pub async fn record_lines(&self, job_id: i64, lines: Vec<MetricLine>) {
        if let Some(progress) = self.progress.observe(job_id, &lines, self.clock.now()) {
            self.bus.publish(BusEvent::Progress(progress));
        }
        let links: Vec<(String, String)> = lines
            .iter()
            .flat_map(|l| l.links.iter().map(|(k, v)| (format!("vtm.{k}"), v.clone())))
            .collect();
        if !links.is_empty() {
            if let Err(e) = self
                .store
                .save_tracked_fields(job_id, None, &links, None)
                .await
            {
                tracing::error!(job = job_id, "recording VTM_RUN_META links failed: {e}");
            }
        }
        if let Err(e) = self.ingest_lines(job_id, lines).await {
            tracing::error!(job = job_id, "recording metrics from output failed: {e}");
        }
    }

    /// The attempt ended: its last line counts even without a newline.
    pub async fn end_tap(&self, at: AttemptRef) {
        let lines = self.taps().end(at);
        self.record_lines(at.job_id, lines).await;
    }

    /// Forgets a purged job: its cached catalog and its points files (its
    /// catalog rows are already deleted). Held under the catalog lock, so no
    /// write of the job's is in between.
    pub async fn forget_job(&self, job_id: i64) {
        let mut catalog = self.catalog.lock().await;
        catalog.remove(&job_id);
        crate::runs::remove_dir(&self.root.join(job_id.to_string())).await;
    }

    /// The latest progress of every job that reported some since the server started.
    pub fn progress(&self) -> Vec<RunProgress> {
        self.progress.snapshot()
    }
}
