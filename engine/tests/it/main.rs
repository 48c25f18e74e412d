//! Engine behaviour against real (in-memory or on-disk) SQLite.

// Helpers outside #[test] functions expect too; clippy.toml only covers
// the test functions themselves.
#![allow(clippy::expect_used)]

mod components;
mod files;
mod fixtures;
mod hosts;
mod imports;
mod jobs;
mod launcher;
mod metrics;
mod mlflow_registry;
mod models;
mod notify;
mod preemption;
mod run_archive;
mod runs;
mod telemetry;
mod tensorboard;
