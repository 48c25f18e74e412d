//! The attempts alive on this host, shared by the poll loop (which
//! advertises capacity and forwards stop orders) and the attempt tasks.
//!
//! Every change that alters what a poll would say bumps a counter the poll
//! loop watches, so it can re-send its long-poll at once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use trainyard_core::work::AttemptRef;

use super::slots::{Free, Limits};
use super::stop::StopCause;

/// One attempt the agent knows about.
pub(crate) struct Entry {
    /// The GPUs its process was given.
    pub gpus: Vec<u32>,
    /// True while its process may still run (and holds its GPUs/slots);
    /// false for one recovered from the spool, whose process is gone.
    pub holds_slots: bool,
    /// How long the server keeps its lease without hearing from the agent.
    pub lease: Duration,
    /// Whether the process must be killed once the lease may have run out.
    pub fence: bool,
    /// Where stop orders for it go.
    pub stop: mpsc::UnboundedSender<StopCause>,
}

/// What a poll says about this host right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub free: Free,
    pub running: Vec<AttemptRef>,
    /// Shortest lease among fenced attempts still running.
    pub shortest_lease: Option<Duration>,
}

/// One attempt as `trainyard-agent --status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    pub attempt: AttemptRef,
    pub gpus: Vec<u32>,
    /// False once its process ended and only its report is outstanding.
    pub process_running: bool,
}

/// Live attempts plus the change counter. (Not the engine's host registry:
/// this one lists the attempts on one host.)
pub(crate) struct AttemptRegistry {
    attempts: Mutex<BTreeMap<AttemptRef, Entry>>,
    changes: watch::Sender<u64>,
    limits: Limits,
    /// Set once the agent drains: it offers no capacity any more.
    draining: AtomicBool,
}

impl AttemptRegistry {
    pub fn new(limits: Limits) -> Self {
        Self {
            attempts: Mutex::new(BTreeMap::new()),
            changes: watch::Sender::new(0),
            limits,
            draining: AtomicBool::new(false),
        }
    }

    /// From now on every poll offers nothing, so the server assigns no
    /// more work; the attempts already here run (and report) on.
    pub fn start_draining(&self) {
        if !self.draining.swap(true, Ordering::SeqCst) {
            self.changed();
        }
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Resolves once no attempt is known here (every one ended and was
    /// reported, or given up).
    pub async fn until_empty(&self) {
        let mut changes = self.subscribe();
        loop {
            changes.borrow_and_update();
            if self.lock().is_empty() {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Every attempt known here, for the status file.
    pub fn list(&self) -> Vec<Listed> {
        self.lock()
            .iter()
            .map(|(attempt, entry)| Listed {
                attempt: *attempt,
                gpus: entry.gpus.clone(),
                process_running: entry.holds_slots,
            })
            .collect()
    }

    /// Adds an attempt. `false` if it is already known: a repeated
    /// assignment is ignored.
    pub fn insert(&self, attempt: AttemptRef, entry: Entry) -> bool {
        let mut attempts = self.lock();
        if attempts.contains_key(&attempt) {
            return false;
        }
        attempts.insert(attempt, entry);
        drop(attempts);
        self.changed();
        true
    }

    /// Whether adding `gpus` now would exceed what this host has free.
    pub fn would_overcommit(&self, inventory: &[u32], gpus: &[u32]) -> bool {
        let free = self.snapshot(inventory).free;
        let gpus_busy = gpus.iter().any(|gpu| !free.gpus.contains(gpu));
        gpus_busy || free.job_slots == 0 || (gpus.is_empty() && free.cpu_slots == 0)
    }

    /// The attempt's process ended: its GPUs and slots are free again,
    /// though it stays listed until its report is delivered.
    pub fn release(&self, attempt: AttemptRef) {
        if let Some(entry) = self.lock().get_mut(&attempt) {
            entry.holds_slots = false;
        }
        self.changed();
    }

    /// The attempt is fully reported (or abandoned): forget it.
    pub fn remove(&self, attempt: AttemptRef) {
        self.lock().remove(&attempt);
        self.changed();
    }

    /// Asks the attempt to stop; `false` if it is unknown here.
    pub fn stop(&self, attempt: AttemptRef, cause: StopCause) -> bool {
        match self.lock().get(&attempt) {
            Some(entry) => {
                // The attempt task may have ended already; nothing to stop then.
                let _ = entry.stop.send(cause);
                true
            }
            None => false,
        }
    }

    /// Asks every attempt to stop.
    pub fn stop_all(&self, cause: StopCause) {
        for entry in self.lock().values() {
            let _ = entry.stop.send(cause);
        }
    }

    /// Free capacity given the host's GPUs, and the attempts to list.
    pub fn snapshot(&self, inventory: &[u32]) -> Snapshot {
        let attempts = self.lock();
        let holding = attempts.values().filter(|e| e.holds_slots);
        let mut free = self
            .limits
            .free(inventory, holding.map(|e| e.gpus.as_slice()));
        if self.is_draining() {
            free = Free {
                gpus: Vec::new(),
                cpu_slots: 0,
                job_slots: 0,
            };
        }
        let shortest_lease = attempts
            .values()
            .filter(|e| e.holds_slots && e.fence)
            .map(|e| e.lease)
            .min();
        Snapshot {
            free,
            running: attempts.keys().copied().collect(),
            shortest_lease,
        }
    }

    /// A receiver that sees every later change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<AttemptRef, Entry>> {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_secs(60);

    fn attempt(job_id: i64) -> AttemptRef {
        AttemptRef { job_id, attempt: 1 }
    }

    #[test]
    fn released_attempts_free_their_gpus_but_stay_listed_until_removed() {
        let registry = AttemptRegistry::new(Limits {
            cpu_slots: 1,
            max_jobs: Some(2),
        });
        let (stop, _stops) = mpsc::unbounded_channel();
        let fenced_on_gpu_0 = || Entry {
            gpus: vec![0],
            holds_slots: true,
            lease: LEASE,
            fence: true,
            stop: stop.clone(),
        };
        let mut changes = registry.subscribe();
        changes.borrow_and_update();
        assert!(registry.insert(attempt(1), fenced_on_gpu_0()));
        assert!(!registry.insert(attempt(1), fenced_on_gpu_0()));
        assert!(changes.has_changed().unwrap_or(false));

        let busy = registry.snapshot(&[0, 1]);
        assert_eq!(busy.free.gpus, [1]);
        assert_eq!(busy.free.job_slots, 1);
        assert_eq!(busy.shortest_lease, Some(LEASE));
        assert!(registry.would_overcommit(&[0, 1], &[0]));
        assert!(!registry.would_overcommit(&[0, 1], &[1]));

        registry.release(attempt(1));
        let released = registry.snapshot(&[0, 1]);
        assert_eq!(released.free.gpus, [0, 1]);
        assert_eq!(released.running, [attempt(1)]);
        assert_eq!(released.shortest_lease, None);

        registry.remove(attempt(1));
        assert!(registry.snapshot(&[0, 1]).running.is_empty());
    }

    #[test]
    fn a_draining_registry_offers_nothing_but_lists_its_attempts() {
        let registry = AttemptRegistry::new(Limits {
            cpu_slots: 2,
            max_jobs: None,
        });
        let (stop, _stops) = mpsc::unbounded_channel();
        registry.insert(
            attempt(3),
            Entry {
                gpus: vec![1],
                holds_slots: true,
                lease: LEASE,
                fence: false,
                stop,
            },
        );
        let mut changes = registry.subscribe();
        changes.borrow_and_update();
        registry.start_draining();
        assert!(changes.has_changed().unwrap_or(false), "a poll is re-sent");
        let snapshot = registry.snapshot(&[0, 1]);
        assert!(snapshot.free.gpus.is_empty());
        assert_eq!((snapshot.free.cpu_slots, snapshot.free.job_slots), (0, 0));
        assert_eq!(snapshot.running, [attempt(3)]);
        let listed = registry.list();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].gpus, [1]);
        assert!(listed[0].process_running);
    }

    #[test]
    fn stop_orders_reach_the_attempt_once_known() {
        let registry = AttemptRegistry::new(Limits {
            cpu_slots: 1,
            max_jobs: None,
        });
        let (stop, mut stops) = mpsc::unbounded_channel();
        assert!(!registry.stop(attempt(7), StopCause::Cancel));
        let cpu_job = Entry {
            gpus: Vec::new(),
            holds_slots: true,
            lease: LEASE,
            fence: false,
            stop,
        };
        registry.insert(attempt(7), cpu_job);
        assert!(registry.stop(attempt(7), StopCause::Cancel));
        assert_eq!(stops.try_recv().ok(), Some(StopCause::Cancel));
    }
}
