//! Jobs: submission, the queue, dispatch to agents, leases and output.
//!
//! One async lock (the [`JobQueue`] behind `Scheduler::queue`) orders every
//! job transition: a claim, a cancel, a report and a lease expiry each take
//! it, write the database, then update memory and publish. That is what
//! makes a claim atomic (no job is ever handed to two agents) while keeping
//! SQLite the record. The transitions themselves are `lifecycle.rs`.
//!
//! What the scheduler needs from other domains it is handed per call: the
//! fleet (`&Hosts`) to place work and explain waits, the metric store
//! (`&Metrics`) to feed metric lines found in job output.

mod dispatch;
mod job;
mod leases;
mod lifecycle;
mod logs;
mod poll;
mod preempt;
mod preemption;
mod queue;
mod reports;
#[cfg(test)]
mod testing;
mod user_actions;
mod waiting;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as SyncMutex, MutexGuard as SyncGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Mutex, Notify};
use trainyard_core::{AttemptView, JobStatus, JobView};

use crate::clock::Clock;
use crate::error::EngineError;
use crate::events::{BusEvent, EventBus};
use crate::exposition::{Histogram, HistogramSnapshot};
use crate::notify::{Outbox, Transition};
use crate::store::Store;
use job::Job;
use lifecycle::Change;
use queue::JobQueue;

pub use crate::store::JobFilter;
pub(crate) use logs::LogStore;
pub use logs::{LogAppended, LogSlice, MAX_LOG_BYTES};
pub use user_actions::{LogRead, PreparedSweep, DEFAULT_PROJECT, MAX_GPUS_PER_JOB};

/// Scheduling settings.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// An attempt not renewed for this long is lost.
    pub lease: Duration,
    /// Largest sweep accepted.
    pub max_sweep_size: u64,
    /// Command for configs without `command` (argv, placeholders allowed).
    pub default_command: Option<Vec<String>>,
    /// A high-priority job that cannot be placed may stop lower-priority
    /// running jobs (`--preempt`; docs/operations.md, "Preemption").
    pub preempt: bool,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            lease: Duration::from_secs(60),
            max_sweep_size: 1_000,
            default_command: None,
            preempt: false,
        }
    }
}

/// The jobs domain.
pub(crate) struct Scheduler {
    queue: Mutex<JobQueue>,
    logs: LogStore,
    /// Woken when waiting polls may find new work or stop orders.
    work: Notify,
    closing: AtomicBool,
    /// Polls being answered or held open right now.
    held_polls: AtomicUsize,
    /// Per host, the number of the newest poll: an older poll still held
    /// open (its agent gave up on it) ends instead of handing out work
    /// nobody will receive.
    poll_generation: SyncMutex<HashMap<String, u64>>,
    /// The waiting reason last published for each queued job.
    shown_reasons: SyncMutex<HashMap<i64, String>>,
    settings: JobSettings,
    store: Store,
    bus: Arc<EventBus>,
    clock: Clock,
    /// Where terminal transitions go to become notifications.
    outbox: Outbox,
    /// Submission to assignment, observed as jobs leave the queue.
    queue_wait: Histogram,
    /// Start to end of attempts that ended, per final status (`ENDINGS`).
    run_duration: [Histogram; 4],
}

/// Upper bounds (seconds) of the queue-wait histogram's buckets.
const QUEUE_WAIT_BUCKETS: [f64; 12] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0,
];
/// Upper bounds (seconds) of the run-duration histogram's buckets.
const RUN_DURATION_BUCKETS: [f64; 12] = [
    10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 259200.0, 604800.0,
];
/// The statuses a run ends in, in the order of `Scheduler::run_duration`.
pub(crate) const ENDINGS: [JobStatus; 4] = [
    JobStatus::Succeeded,
    JobStatus::Failed,
    JobStatus::Cancelled,
    JobStatus::Lost,
];

impl Scheduler {
    /// Loads unfinished jobs. Leases restart from now: agents get a full
    /// lease to reconnect after a server restart.
    pub async fn load(
        settings: JobSettings,
        logs_dir: PathBuf,
        store: Store,
        bus: Arc<EventBus>,
        clock: Clock,
        outbox: Outbox,
    ) -> Result<Scheduler, EngineError> {
        let deadline = clock.now() + settings.lease;
        let mut queue = JobQueue::default();
        for row in store.unfinished_jobs().await? {
            let lease = row.view.status.is_active().then_some(deadline);
            queue.put(Job::from_row(row, lease));
        }
        Ok(Scheduler {
            queue: Mutex::new(queue),
            logs: LogStore::new(logs_dir),
            work: Notify::new(),
            closing: AtomicBool::new(false),
            held_polls: AtomicUsize::new(0),
            poll_generation: SyncMutex::new(HashMap::new()),
            shown_reasons: SyncMutex::new(HashMap::new()),
            settings,
            store,
            bus,
            clock,
            outbox,
            queue_wait: Histogram::new(&QUEUE_WAIT_BUCKETS),
            run_duration: ENDINGS.map(|_| Histogram::new(&RUN_DURATION_BUCKETS)),
        })
    }

    /// How long jobs waited in the queue (`/metrics`).
    pub fn queue_wait(&self) -> HistogramSnapshot {
        self.queue_wait.snapshot()
    }

    /// How long attempts ran, per final status (`/metrics`).
    pub fn run_durations(&self) -> Vec<(JobStatus, HistogramSnapshot)> {
        ENDINGS
            .iter()
            .zip(&self.run_duration)
            .map(|(status, h)| (*status, h.snapshot()))
            .collect()
    }

    /// Feeds the histograms and the notifications with one committed
    /// change: `before` is the job's status before it.
    fn observe(&self, before: Option<JobStatus>, view: &Arc<JobView>, queue: &JobQueue) {
        let now_ms = self.clock.now_ms();
        if before == Some(JobStatus::Queued) && view.status == JobStatus::Assigned {
            self.queue_wait
                .observe((now_ms - view.created_ms).max(0) as f64 / 1000.0);
        }
        let Some(ending) = ENDINGS.iter().position(|s| *s == view.status) else {
            return;
        };
        if before == Some(view.status) {
            return;
        }
        if let Some(start) = view.started_ms {
            let ms = view
                .duration_ms
                .unwrap_or_else(|| view.finished_ms.unwrap_or(now_ms) - start);
            self.run_duration[ending].observe(ms.max(0) as f64 / 1000.0);
        }
        self.outbox.send(Transition {
            job: view.clone(),
            sweep_finished: !queue.sweep_has_active(view.sweep_id),
        });
    }

    /// Job output, kept per attempt.
    pub fn logs(&self) -> &LogStore {
        &self.logs
    }

    /// Ends waiting polls at shutdown.
    pub fn close(&self) {
        self.closing.store(true, Ordering::SeqCst);
        self.work.notify_waiters();
    }

    /// Agent polls being answered or held open right now (one per
    /// connected agent, normally).
    pub fn held_polls(&self) -> usize {
        self.held_polls.load(Ordering::SeqCst)
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    fn shown_reasons(&self) -> SyncGuard<'_, HashMap<i64, String>> {
        self.shown_reasons
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `changes` in one transaction, then applies them to memory and
    /// tells subscribers. On a database error nothing changes.
    async fn commit(&self, queue: &mut JobQueue, changes: Vec<Change>) -> Result<(), EngineError> {
        if changes.is_empty() {
            return Ok(());
        }
        let views: Vec<JobView> = changes.iter().map(|c| c.job.view()).collect();
        let attempts: Vec<(i64, AttemptView)> = changes
            .iter()
            .filter_map(|c| c.attempt.clone().map(|a| (c.job.id(), a)))
            .collect();
        self.store
            .save_job_changes(&views.iter().collect::<Vec<_>>(), &attempts)
            .await?;
        {
            // The views just published carry no waiting reason: let the next
            // refresh publish it again for jobs that are (still) queued.
            let mut shown = self.shown_reasons();
            for view in &views {
                shown.remove(&view.id);
            }
        }
        for (change, view) in changes.into_iter().zip(views) {
            let before = queue.get(change.job.id()).map(Job::status);
            queue.put(change.job);
            let view = Arc::new(view);
            self.observe(before, &view, queue);
            self.bus.publish(BusEvent::Job(view));
        }
        Ok(())
    }
}
