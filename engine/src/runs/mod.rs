//! Results: projects and their runs table, notes and tags, comparisons of
//! runs' metrics, CSV export, and live progress of running jobs. The SQL
//! lives in `store/runs.rs`; metric values come from `metrics/`.

mod best;
mod compare;
mod csv;
mod page;
mod progress;

pub(crate) use progress::ProgressTracker;
