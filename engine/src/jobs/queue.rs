//! The scheduler's memory: every unfinished job (queued, assigned, running,
//! lost), the queue order, and which jobs hold slots on which host. The
//! database is the record; this is rebuilt from it at start.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

use trainyard_core::JobStatus;

use super::job::Job;

#[derive(Debug, Default)]
pub(crate) struct JobQueue {
    jobs: HashMap<i64, Job>,
    /// Queued jobs in dispatch order: priority rank, then id (FIFO).
    queue: BTreeSet<(u8, i64)>,
    /// Jobs holding a slot (assigned or running) per host.
    active: HashMap<String, HashSet<i64>>,
}

impl JobQueue {
    pub fn get(&self, id: i64) -> Option<&Job> {
        self.jobs.get(&id)
    }

    /// Inserts or replaces a job, keeping the indexes right; a finished job
    /// leaves the table.
    pub fn put(&mut self, job: Job) {
        let id = job.id();
        self.unindex(id);
        if job.status().is_final() {
            self.jobs.remove(&id);
            return;
        }
        if job.status() == JobStatus::Queued {
            self.queue.insert((job.priority.rank(), id));
        }
        if job.status().is_active() {
            if let Some(host) = &job.state.host_id {
                self.active.entry(host.clone()).or_default().insert(id);
            }
        }
        self.jobs.insert(id, job);
    }

    fn unindex(&mut self, id: i64) {
        if let Some(old) = self.jobs.get(&id) {
            self.queue.remove(&(old.priority.rank(), id));
            if let Some(host) = &old.state.host_id {
                if let Some(set) = self.active.get_mut(host) {
                    set.remove(&id);
                    if set.is_empty() {
                        self.active.remove(host);
                    }
                }
            }
        }
    }

    /// Moves an active job's lease deadline, in place: nothing an index
    /// depends on changes, so nothing is cloned or re-indexed (this runs on
    /// every poll and every log chunk). Jobs without a lease keep none.
    pub fn renew(&mut self, id: i64, deadline: Instant) {
        if let Some(lease) = self.jobs.get_mut(&id).and_then(|job| job.lease.as_mut()) {
            *lease = deadline;
        }
    }

    /// Whether a job of sweep `sweep_id` is still queued, assigned or
    /// running (a lost one may never come back, so it does not count).
    pub fn sweep_has_active(&self, sweep_id: i64) -> bool {
        self.jobs.values().any(|job| {
            job.spec.sweep_id == sweep_id
                && matches!(
                    job.status(),
                    JobStatus::Queued | JobStatus::Assigned | JobStatus::Running
                )
        })
    }

    /// Queued jobs in dispatch order.
    pub fn queued(&self) -> impl Iterator<Item = &Job> + '_ {
        self.queue.iter().filter_map(|(_, id)| self.jobs.get(id))
    }

    #[cfg(test)]
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// Jobs holding slots (assigned or running) on any host.
    pub fn active(&self) -> impl Iterator<Item = &Job> + '_ {
        self.active
            .values()
            .flatten()
            .filter_map(|id| self.jobs.get(id))
    }

    /// Jobs holding slots on `host`.
    pub fn active_on(&self, host: &str) -> Vec<&Job> {
        self.active
            .get(host)
            .map(|ids| ids.iter().filter_map(|id| self.jobs.get(id)).collect())
            .unwrap_or_default()
    }

    /// Active jobs whose lease ran out before `now`.
    pub fn expired(&self, now: Instant) -> Vec<i64> {
        self.active
            .values()
            .flatten()
            .filter(|id| {
                self.jobs
                    .get(id)
                    .and_then(|job| job.lease)
                    .is_some_and(|deadline| deadline <= now)
            })
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::testing::job;
    use trainyard_core::Priority;

    #[test]
    fn queue_orders_by_priority_then_age() {
        let mut q = JobQueue::default();
        q.put(job(1, Priority::Low, JobStatus::Queued, None));
        q.put(job(2, Priority::Normal, JobStatus::Queued, None));
        q.put(job(3, Priority::High, JobStatus::Queued, None));
        q.put(job(4, Priority::Normal, JobStatus::Queued, None));
        let order: Vec<i64> = q.queued().map(Job::id).collect();
        assert_eq!(order, [3, 2, 4, 1]);
    }

    #[test]
    fn status_changes_move_jobs_between_indexes() {
        let mut q = JobQueue::default();
        q.put(job(1, Priority::Normal, JobStatus::Queued, None));
        q.put(job(1, Priority::Normal, JobStatus::Running, Some("a")));
        assert_eq!(q.queued_len(), 0);
        assert_eq!(q.active_on("a").len(), 1);
        q.put(job(1, Priority::Normal, JobStatus::Succeeded, Some("a")));
        assert!(q.get(1).is_none());
        assert!(q.active_on("a").is_empty());
    }
}
