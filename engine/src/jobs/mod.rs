//! Jobs: submission, the queue, dispatch to agents, leases and output.
//!
//! One async lock (`JobState::table`) orders every job transition: a claim,
//! a cancel, a report and a lease expiry each take it, write the database,
//! then update memory and publish. That is what makes a claim atomic (no job
//! is ever handed to two agents) while keeping SQLite the record.

mod agent_api;
mod dispatch;
mod leases;
pub mod logs;
mod table;
#[cfg(test)]
pub(crate) mod testing;
mod user_api;
mod waiting;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard, Notify};
use trainyard_core::{AttemptView, JobView};

use crate::engine::Engine;
use crate::error::EngineError;
use crate::events::BusEvent;
use logs::LogStore;
use table::{JobTable, Live};

pub use crate::store::JobFilter;
pub use logs::{LogAppended, LogSlice, MAX_LOG_BYTES};

/// Scheduling settings.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// An attempt not renewed for this long is lost.
    pub lease: Duration,
    /// Largest sweep accepted.
    pub max_sweep_size: u64,
    /// Command for configs without `command` (argv, placeholders allowed).
    pub default_command: Option<Vec<String>>,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            lease: Duration::from_secs(60),
            max_sweep_size: 1_000,
            default_command: None,
        }
    }
}

pub(crate) struct JobState {
    table: Mutex<JobTable>,
    pub(crate) logs: LogStore,
    /// Woken when waiting polls may find new work or stop orders.
    work: Notify,
    closing: AtomicBool,
    /// Per host, the number of the newest poll: an older poll still held
    /// open (its agent gave up on it) ends instead of handing out work
    /// nobody will receive.
    poll_generation: std::sync::Mutex<std::collections::HashMap<String, u64>>,
    /// The reason last published for each queued job.
    shown_reasons: std::sync::Mutex<std::collections::HashMap<i64, String>>,
}

impl JobState {
    pub fn new(logs_dir: PathBuf) -> JobState {
        JobState {
            table: Mutex::new(JobTable::default()),
            logs: LogStore::new(logs_dir),
            work: Notify::new(),
            closing: AtomicBool::new(false),
            poll_generation: std::sync::Mutex::new(std::collections::HashMap::new()),
            shown_reasons: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Ends waiting polls at shutdown.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.work.notify_waiters();
    }

    fn shown_reasons(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<i64, String>> {
        self.shown_reasons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new poll from `host`; returns its number.
    fn begin_poll(&self, host: &str) -> u64 {
        let mut generations = self
            .poll_generation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let generation = generations.entry(host.to_string()).or_insert(0);
        *generation += 1;
        *generation
    }

    /// Whether a newer poll from `host` arrived after poll `generation`.
    fn poll_is_stale(&self, host: &str, generation: u64) -> bool {
        self.poll_generation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(host)
            .is_some_and(|newest| *newest != generation)
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }
}

/// One job's new state, with the attempt row to write alongside.
pub(crate) struct Change {
    pub live: Live,
    pub attempt: Option<AttemptView>,
}

impl Change {
    /// A change that also writes the job's current attempt as it now is.
    pub fn with_attempt(live: Live, now_ms: i64) -> Change {
        let attempt = Some(attempt_row(&live.row.view, now_ms));
        Change { live, attempt }
    }
}

/// The attempt row matching a job's current attempt.
pub(crate) fn attempt_row(view: &JobView, assigned_ms: i64) -> AttemptView {
    AttemptView {
        attempt: view.attempt,
        host_id: view.host_id.clone().unwrap_or_default(),
        gpu_indices: view.gpu_indices.clone(),
        status: view.status,
        assigned_ms,
        started_ms: view.started_ms,
        finished_ms: view.finished_ms,
        exit_code: view.exit_code,
        reason: view.reason.clone(),
    }
}

impl Engine {
    pub(crate) async fn job_table(&self) -> MutexGuard<'_, JobTable> {
        self.jobs_state().table.lock().await
    }

    /// Writes `changes` in one transaction, then applies them to memory and
    /// tells subscribers. On a database error nothing changes.
    pub(crate) async fn commit(
        &self,
        table: &mut JobTable,
        changes: Vec<Change>,
    ) -> Result<(), EngineError> {
        if changes.is_empty() {
            return Ok(());
        }
        let views: Vec<&JobView> = changes.iter().map(|c| &c.live.row.view).collect();
        let attempts: Vec<(i64, AttemptView)> = changes
            .iter()
            .filter_map(|c| c.attempt.clone().map(|a| (c.live.row.view.id, a)))
            .collect();
        self.store().save_job_changes(&views, &attempts).await?;
        for change in changes {
            let view = Arc::new(change.live.row.view.clone());
            table.put(change.live);
            self.events().publish(BusEvent::Job(view));
        }
        Ok(())
    }

    /// Loads unfinished jobs at start. Leases restart from now: agents get a
    /// full lease to reconnect after a server restart.
    pub(crate) async fn load_jobs(&self) -> Result<(), EngineError> {
        let rows = self.store().unfinished_jobs().await?;
        let deadline = std::time::Instant::now() + self.config().jobs.lease;
        let mut table = self.job_table().await;
        for row in rows {
            let lease_deadline = row.view.status.is_active().then_some(deadline);
            table.put(Live {
                row,
                lease_deadline,
            });
        }
        Ok(())
    }
}
