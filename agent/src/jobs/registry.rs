//! The attempts alive on this host, shared by the poll loop (which
//! advertises capacity and forwards stop orders) and the attempt tasks.
//!
//! Every change that alters what a poll would say bumps a counter the poll
//! loop watches, so it can re-send its long-poll at once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use trainyard_core::work::AttemptRef;

use super::host_slots::HostSlots;
use super::slots::Free;
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
    /// When GPUs held back for another server may be offered (see
    /// `host_slots`): the poll is re-sent then.
    pub recheck_at: Option<Instant>,
}

/// What became of an assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Claim {
    /// It is this registry's now.
    Inserted,
    /// It was already known: a repeated assignment.
    Known,
    /// Another server's jobs hold what it needs; the text says what.
    TakenElsewhere(String),
}

/// One attempt as `trainyard-agent --status` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listed {
    pub attempt: AttemptRef,
    pub gpus: Vec<u32>,
    /// False once its process ended and only its report is outstanding.
    pub process_running: bool,
}

/// One server's live attempts; the capacity they hold and the change
/// counter are the host's, shared with the other servers' registries.
/// (Not the engine's host registry: this one lists the attempts on one host.)
pub(crate) struct AttemptRegistry {
    attempts: Mutex<BTreeMap<AttemptRef, Entry>>,
    host: Arc<HostSlots>,
    /// Which server's attempts these are (its place in the host's count).
    link: usize,
}

impl AttemptRegistry {
    /// The registry of an agent with one server.
    #[cfg(test)]
    pub fn new(limits: super::slots::Limits) -> Self {
        Self::for_link(Arc::new(HostSlots::new(limits, 1)), 0)
    }

    /// The registry of server `link`, sharing `host`'s capacity.
    pub fn for_link(host: Arc<HostSlots>, link: usize) -> Self {
        Self {
            attempts: Mutex::new(BTreeMap::new()),
            host,
            link,
        }
    }

    /// From now on every poll (to every server) offers nothing, so no
    /// server assigns more work; the attempts already here run (and
    /// report) on.
    pub fn start_draining(&self) {
        self.host.start_draining();
    }

    pub fn is_draining(&self) -> bool {
        self.host.is_draining()
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
        if entry.holds_slots {
            self.host.hold(self.link, attempt, &entry.gpus);
        }
        attempts.insert(attempt, entry);
        drop(attempts);
        self.changed();
        true
    }

    /// Adds a new assignment unless it is known already or another
    /// server's jobs hold its GPUs or slots: checked and held in one step,
    /// so two servers' assignments cannot both take the same GPU.
    pub fn claim(&self, attempt: AttemptRef, entry: Entry, inventory: &[u32]) -> Claim {
        let mut attempts = self.lock();
        if attempts.contains_key(&attempt) {
            return Claim::Known;
        }
        if let Err(why) = self.host.claim(self.link, attempt, &entry.gpus, inventory) {
            return Claim::TakenElsewhere(why);
        }
        attempts.insert(attempt, entry);
        drop(attempts);
        self.changed();
        Claim::Inserted
    }

    /// Whether adding `gpus` now would exceed what this host has free.
    pub fn would_overcommit(&self, inventory: &[u32], gpus: &[u32]) -> bool {
        let free = self.host.free_now(inventory);
        let gpus_busy = gpus.iter().any(|gpu| !free.gpus.contains(gpu));
        gpus_busy || free.job_slots == 0 || (gpus.is_empty() && free.cpu_slots == 0)
    }

    /// The attempt's process ended: its GPUs and slots are free again,
    /// though it stays listed until its report is delivered.
    pub fn release(&self, attempt: AttemptRef) {
        if let Some(entry) = self.lock().get_mut(&attempt) {
            entry.holds_slots = false;
        }
        self.host.release(self.link, attempt);
    }

    /// The attempt is fully reported (or abandoned): forget it.
    pub fn remove(&self, attempt: AttemptRef) {
        self.lock().remove(&attempt);
        self.host.release(self.link, attempt);
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

    /// Free capacity given the host's GPUs (less what every server's jobs
    /// hold), and this server's attempts to list.
    pub fn snapshot(&self, inventory: &[u32]) -> Snapshot {
        let attempts = self.lock();
        let offer = self.host.offer(self.link, inventory);
        let shortest_lease = attempts
            .values()
            .filter(|e| e.holds_slots && e.fence)
            .map(|e| e.lease)
            .min();
        Snapshot {
            free: offer.free,
            running: attempts.keys().copied().collect(),
            shortest_lease,
            recheck_at: offer.recheck_at,
        }
    }

    /// A receiver that sees every later change (of any server's attempts:
    /// they share the host's capacity).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.host.subscribe()
    }

    fn changed(&self) {
        self.host.changed();
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<AttemptRef, Entry>> {
        self.attempts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::super::slots::Limits;
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

    #[test]
    fn two_servers_registries_cannot_claim_the_same_gpu() {
        let host = Arc::new(HostSlots::new(
            Limits {
                cpu_slots: 1,
                max_jobs: None,
            },
            2,
        ));
        let first = AttemptRegistry::for_link(Arc::clone(&host), 0);
        let second = AttemptRegistry::for_link(host, 1);
        let (stop, _stops) = mpsc::unbounded_channel();
        let on_gpu = |gpu: u32| Entry {
            gpus: vec![gpu],
            holds_slots: true,
            lease: LEASE,
            fence: false,
            stop: stop.clone(),
        };
        assert_eq!(first.claim(attempt(1), on_gpu(0), &[0, 1]), Claim::Inserted);
        assert_eq!(first.claim(attempt(1), on_gpu(0), &[0, 1]), Claim::Known);
        // The other server's job 1 is another attempt, refused on GPU 0 only.
        assert!(matches!(
            second.claim(attempt(1), on_gpu(0), &[0, 1]),
            Claim::TakenElsewhere(_)
        ));
        assert!(second.snapshot(&[0, 1]).running.is_empty());
        assert_eq!(
            second.claim(attempt(1), on_gpu(1), &[0, 1]),
            Claim::Inserted
        );
        assert_eq!(first.snapshot(&[0, 1]).running, [attempt(1)]);
        assert!(first.snapshot(&[0, 1]).free.gpus.is_empty());
        // Released, the GPU can be claimed by the other server.
        first.remove(attempt(1));
        second.remove(attempt(1));
        assert_eq!(
            second.claim(attempt(2), on_gpu(0), &[0, 1]),
            Claim::Inserted
        );
    }
}
