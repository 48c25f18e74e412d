//! Results: projects and their runs table, notes and tags, comparisons of
//! runs' metrics, CSV export, and a run's files as users read them. The SQL
//! lives in `store/runs.rs`; metric values come from the metrics domain and
//! files from the file store, the job log store or an import, all passed in.

mod archive;
mod best;
mod best_run;
mod compare;
mod csv;
mod files;
mod page;
mod state;

pub(crate) use archive::remove_dir;
pub(crate) use files::RunFileSources;
pub use files::{RunFileSlice, OUTPUT_LOG};

use crate::clock::Clock;
use crate::error::EngineError;
use crate::store::{JobRow, Store};

/// The results domain.
pub(crate) struct Results {
    store: Store,
    clock: Clock,
    /// The in-process agent's host id: its runs show as `local`.
    local_host_id: Option<String>,
}

impl Results {
    pub fn new(store: Store, clock: Clock, local_host_id: Option<String>) -> Results {
        Results {
            store,
            clock,
            local_host_id,
        }
    }

    /// The stored job behind run `job_id`, or `JobNotFound`.
    async fn require_job(&self, job_id: i64) -> Result<JobRow, EngineError> {
        self.store
            .job(job_id)
            .await?
            .ok_or(EngineError::JobNotFound(job_id))
    }
}
