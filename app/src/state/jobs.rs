//! The browser's live copy of the jobs it has seen, fed by a snapshot and
//! then by `job` events. Each job has its own signal, so an event redraws one
//! row in place, not the table.

use leptos::prelude::*;
use trainyard_core::runs::RunProgress;
use trainyard_core::JobView;

use crate::state::live_map::LiveMap;

/// Live job state shared by the Queue and Job pages.
#[derive(Clone, Copy, Default)]
pub struct JobStore {
    jobs: LiveMap<i64, JobView>,
    /// How far running jobs are (from `progress` events).
    progress: LiveMap<i64, RunProgress>,
}

impl JobStore {
    pub fn new() -> JobStore {
        JobStore::default()
    }

    /// Replaces the store with a server snapshot.
    pub fn seed(&self, jobs: &[JobView]) {
        self.jobs.seed(jobs.iter().map(|j| (j.id, j.clone())));
    }

    /// Adds a job or updates it in place (no-op when nothing changed).
    pub fn upsert(&self, job: JobView) {
        self.jobs.upsert(job.id, job);
    }

    /// One job's signal, if known (tracked).
    pub fn job(&self, id: i64) -> Option<ArcRwSignal<JobView>> {
        self.jobs.get(&id)
    }

    /// Records a job's progress (from an event or a snapshot).
    pub fn set_progress(&self, progress: RunProgress) {
        self.progress.upsert(progress.job_id, progress);
    }

    /// One job's progress, if it reported any (tracked).
    pub fn progress(&self, id: i64) -> Option<ArcRwSignal<RunProgress>> {
        self.progress.get(&id)
    }

    /// A number that changes whenever a job comes or changes status
    /// (tracked), without copying any job.
    pub fn status_version(&self) -> u64 {
        self.jobs.fold(0u64, |sum, id, job| {
            sum.wrapping_mul(31)
                .wrapping_add((*id as u64).wrapping_mul(8) + job.status as u64)
        })
    }

    /// Every job's current view (tracked: re-runs on any job change).
    pub fn views(&self) -> Vec<JobView> {
        self.jobs.values()
    }
}

/// Fetches running jobs' progress once, after hydration; `progress`
/// events keep it current from then on.
pub fn load_progress(jobs: JobStore) {
    // Effects run only in the browser, so the server renders no fetch.
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(list) = crate::server_fns::list_progress().await {
                for p in list {
                    jobs.set_progress(p);
                }
            }
        });
    });
}
