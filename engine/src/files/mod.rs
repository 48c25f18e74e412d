//! Run files: everything a job writes into its run dir, copied from the
//! agent by the sync protocol (docs/agent-protocol.md, "Run files") and
//! kept at `<data dir>/runs/<job>/<attempt>/<path>`.
//!
//! Append files grow only at their current end (offset- and hash-checked),
//! whole files arrive as resumable uploads staged under
//! `<data dir>/uploads/<job>/<attempt>/` and renamed into place once their
//! hash checks, so readers always see a complete previous or new version.
//!
//! Every agent request renews the attempt's lease through the scheduler,
//! and CSV files that change are handed to the metric store; both are
//! passed in (`agent_sync.rs`). How a run's files are listed and read for
//! users is the results domain's (`runs/files.rs`).

mod agent_sync;
mod artifacts;
mod disk;
mod hashing;
mod resume;
mod uploads;

pub use artifacts::DirEntry;
pub(crate) use disk::{checked, RunFileStore};

/// Limits of the run-file store.
#[derive(Debug, Clone)]
pub struct FileSettings {
    /// Largest run file accepted (appends and uploads); larger → 413.
    pub max_file_bytes: u64,
}

impl Default for FileSettings {
    fn default() -> Self {
        FileSettings {
            max_file_bytes: 20 << 30,
        }
    }
}

/// Largest chunk (uncompressed) in one append or upload request.
pub const MAX_CHUNK_BYTES: usize = 8 << 20;
