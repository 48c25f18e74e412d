//! The browser's live copy of the jobs it has seen, fed by a snapshot and
//! then by `job` events. Each job has its own signal, so an event redraws one
//! row in place, not the table.

use std::collections::BTreeMap;

use leptos::prelude::*;
use trainyard_core::{JobStatus, JobView};

/// Live job state shared by the Queue and Job pages.
#[derive(Clone, Copy)]
pub struct Jobs {
    jobs: RwSignal<BTreeMap<i64, ArcRwSignal<JobView>>>,
}

impl Jobs {
    pub fn new() -> Jobs {
        Jobs {
            jobs: RwSignal::new(BTreeMap::new()),
        }
    }

    /// Replaces the store with a server snapshot.
    pub fn seed(&self, jobs: &[JobView]) {
        self.jobs
            .update(|map| map.retain(|id, _| jobs.iter().any(|j| j.id == *id)));
        for job in jobs {
            self.upsert(job.clone());
        }
    }

    /// Adds a job or updates it in place (no-op when nothing changed).
    pub fn upsert(&self, job: JobView) {
        let existing = self.jobs.with_untracked(|map| map.get(&job.id).cloned());
        match existing {
            Some(signal) => {
                if signal.with_untracked(|old| *old != job) {
                    signal.set(job);
                }
            }
            None => self.jobs.update(|map| {
                map.insert(job.id, ArcRwSignal::new(job));
            }),
        }
    }

    /// One job's signal, if known (tracked).
    pub fn job(&self, id: i64) -> Option<ArcRwSignal<JobView>> {
        self.jobs.with(|map| map.get(&id).cloned())
    }

    /// Every job's current view (tracked: re-runs on any job change).
    pub fn views(&self) -> Vec<JobView> {
        self.jobs
            .with(|map| map.values().map(|s| s.get()).collect())
    }
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs::new()
    }
}

/// Queue order: what runs, then what waits (in the order it will start),
/// then what ended, newest first.
pub fn queue_order(a: &JobView, b: &JobView) -> std::cmp::Ordering {
    fn group(status: JobStatus) -> u8 {
        match status {
            JobStatus::Running | JobStatus::Assigned => 0,
            JobStatus::Queued => 1,
            JobStatus::Lost => 2,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled => 3,
        }
    }
    group(a.status)
        .cmp(&group(b.status))
        .then_with(|| match a.status {
            JobStatus::Queued => a
                .priority
                .rank()
                .cmp(&b.priority.rank())
                .then(a.id.cmp(&b.id)),
            _ => b.id.cmp(&a.id),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::Priority;

    fn job(id: i64, status: JobStatus, priority: Priority) -> JobView {
        JobView {
            id,
            sweep_id: 1,
            project: "demo".into(),
            name: format!("job{id}"),
            status,
            priority,
            command: vec![],
            workdir: None,
            gpus: 0,
            host_pin: None,
            min_gpu_memory_mb: None,
            retries: 0,
            timeout_secs: None,
            params: vec![],
            attempt: 0,
            host_id: None,
            gpu_indices: vec![],
            created_ms: 0,
            started_ms: None,
            finished_ms: None,
            duration_ms: None,
            exit_code: None,
            reason: None,
            cancel_requested: false,
            rerun_of: None,
        }
    }

    #[test]
    fn running_jobs_come_first_then_the_queue_in_start_order_then_history() {
        let mut jobs = [
            job(1, JobStatus::Succeeded, Priority::Normal),
            job(2, JobStatus::Queued, Priority::Low),
            job(3, JobStatus::Queued, Priority::High),
            job(4, JobStatus::Running, Priority::Normal),
            job(5, JobStatus::Failed, Priority::Normal),
            job(6, JobStatus::Queued, Priority::High),
        ];
        jobs.sort_by(queue_order);
        let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
        assert_eq!(ids, vec![4, 3, 6, 2, 5, 1]);
    }
}
