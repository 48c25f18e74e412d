//! The scheduler's memory: every unfinished job (queued, assigned, running,
//! lost), the queue order, and which jobs hold slots on which host. The
//! database is the record; this is rebuilt from it at start.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

use trainyard_core::JobStatus;

use crate::store::JobRow;

/// An unfinished job and its lease.
#[derive(Debug, Clone)]
pub(crate) struct Live {
    pub row: JobRow,
    /// When the current attempt's lease runs out (assigned/running only).
    pub lease_deadline: Option<Instant>,
}

#[derive(Debug, Default)]
pub(crate) struct JobTable {
    jobs: HashMap<i64, Live>,
    /// Queued jobs in dispatch order: priority rank, then id (FIFO).
    queue: BTreeSet<(u8, i64)>,
    /// Jobs holding a slot (assigned or running) per host.
    active: HashMap<String, HashSet<i64>>,
}

impl JobTable {
    pub fn get(&self, id: i64) -> Option<&Live> {
        self.jobs.get(&id)
    }

    /// Inserts or replaces a job, keeping the indexes right; a finished job
    /// leaves the table.
    pub fn put(&mut self, live: Live) {
        let id = live.row.view.id;
        self.unindex(id);
        if live.row.view.status.is_final() {
            self.jobs.remove(&id);
            return;
        }
        let view = &live.row.view;
        if view.status == JobStatus::Queued {
            self.queue.insert((view.priority.rank(), id));
        }
        if view.status.is_active() {
            if let Some(host) = &view.host_id {
                self.active.entry(host.clone()).or_default().insert(id);
            }
        }
        self.jobs.insert(id, live);
    }

    fn unindex(&mut self, id: i64) {
        if let Some(old) = self.jobs.get(&id) {
            let view = &old.row.view;
            self.queue.remove(&(view.priority.rank(), id));
            if let Some(host) = &view.host_id {
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
        if let Some(lease) = self
            .jobs
            .get_mut(&id)
            .and_then(|live| live.lease_deadline.as_mut())
        {
            *lease = deadline;
        }
    }

    /// Queued jobs in dispatch order.
    pub fn queued(&self) -> impl Iterator<Item = &Live> + '_ {
        self.queue.iter().filter_map(|(_, id)| self.jobs.get(id))
    }

    #[cfg(test)]
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// Jobs holding slots on `host`.
    pub fn active_on(&self, host: &str) -> Vec<&Live> {
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
                    .and_then(|l| l.lease_deadline)
                    .is_some_and(|deadline| deadline <= now)
            })
            .copied()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::Priority;

    fn live(id: i64, priority: Priority, status: JobStatus, host: Option<&str>) -> Live {
        Live {
            row: JobRow {
                view: crate::jobs::testing::job(id, priority, status, host),
                config_yaml: String::new(),
            },
            lease_deadline: None,
        }
    }

    #[test]
    fn queue_orders_by_priority_then_age() {
        let mut t = JobTable::default();
        t.put(live(1, Priority::Low, JobStatus::Queued, None));
        t.put(live(2, Priority::Normal, JobStatus::Queued, None));
        t.put(live(3, Priority::High, JobStatus::Queued, None));
        t.put(live(4, Priority::Normal, JobStatus::Queued, None));
        let order: Vec<i64> = t.queued().map(|l| l.row.view.id).collect();
        assert_eq!(order, [3, 2, 4, 1]);
    }

    #[test]
    fn status_changes_move_jobs_between_indexes() {
        let mut t = JobTable::default();
        t.put(live(1, Priority::Normal, JobStatus::Queued, None));
        t.put(live(1, Priority::Normal, JobStatus::Running, Some("a")));
        assert_eq!(t.queued_len(), 0);
        assert_eq!(t.active_on("a").len(), 1);
        t.put(live(1, Priority::Normal, JobStatus::Succeeded, Some("a")));
        assert!(t.get(1).is_none());
        assert!(t.active_on("a").is_empty());
    }
}
