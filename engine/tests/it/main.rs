//! Engine behaviour against real (in-memory or on-disk) SQLite.

mod files;
mod fixtures;
mod hosts;
mod imports;
mod jobs;
mod metrics;
mod runs;
