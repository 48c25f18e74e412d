//! The host's GPUs and slots, shared by every server this agent works for
//! (one agent, several servers): which attempt of which server holds what,
//! what each server's poll may offer, and the claim that keeps two servers
//! from being given the same GPU.
//!
//! Every server's poll offers what no job holds, so a job queued on any
//! server starts within a poll's round trip. Two servers answering at the
//! same moment could both place a job on the same GPU; the claim, taken
//! under one lock, lets only the first one in and the other assignment is
//! declined (its server requeues it, see `JobRunner::start`). To make that
//! rare, a GPU that just became free is offered first to one server, in
//! turn, and to the others only [`HANDOFF`] later, which is time enough for
//! that server to answer a poll with work. With one server nothing is held
//! back and nothing is declined: it behaves as before.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use trainyard_core::work::AttemptRef;

use super::slots::{Free, Limits};

/// How long a freed GPU is offered to one server alone before the others
/// may have it too.
/// Long enough for a server on the same network to answer a poll with
/// work (a few ms); short, because a GPU the first server has no work for
/// waits this long for the others (docs/benchmarks.md, "One agent, several
/// servers").
pub(crate) const HANDOFF: Duration = Duration::from_millis(250);

/// An attempt as the host counts it: which server's, which attempt.
type Holder = (usize, AttemptRef);

/// When a GPU became free and which server was offered it first.
#[derive(Debug, Clone, Copy)]
struct Freed {
    at: Instant,
    first_to: usize,
}

struct State {
    /// GPUs (empty for a CPU job) of every attempt whose process may run.
    holding: BTreeMap<Holder, Vec<u32>>,
    freed: BTreeMap<u32, Freed>,
    /// Release events so far: whose turn the next freed GPU is.
    turns: usize,
    /// GPUs never seen freed count as freed now, in turn by index.
    opened: Instant,
}

/// What one server's poll may offer, and when to look again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Offer {
    pub free: Free,
    /// When a GPU held back for another server's turn may be offered here too.
    pub recheck_at: Option<Instant>,
}

/// The capacity every server link shares, with one change counter that
/// re-sends every link's poll when anything about it changes.
pub(crate) struct HostSlots {
    state: Mutex<State>,
    changes: watch::Sender<u64>,
    limits: Limits,
    links: usize,
    /// Set once the agent drains: no server is offered anything any more.
    draining: AtomicBool,
}

impl HostSlots {
    /// Capacity under `limits` shared by `links` servers (at least one).
    pub fn new(limits: Limits, links: usize) -> Self {
        Self {
            state: Mutex::new(State {
                holding: BTreeMap::new(),
                freed: BTreeMap::new(),
                turns: 0,
                opened: Instant::now(),
            }),
            changes: watch::Sender::new(0),
            limits,
            links: links.max(1),
            draining: AtomicBool::new(false),
        }
    }

    /// What server `link` may be offered now, given the host's GPUs.
    pub fn offer(&self, link: usize, inventory: &[u32]) -> Offer {
        if self.is_draining() {
            return Offer {
                free: Free {
                    gpus: Vec::new(),
                    cpu_slots: 0,
                    job_slots: 0,
                },
                recheck_at: None,
            };
        }
        let state = self.lock();
        let mut free = self
            .limits
            .free(inventory, state.holding.values().map(Vec::as_slice));
        let mut recheck_at: Option<Instant> = None;
        if self.links > 1 {
            let now = Instant::now();
            free.gpus.retain(|&gpu| {
                let freed = state.freed.get(&gpu).copied().unwrap_or(Freed {
                    at: state.opened,
                    first_to: usize::try_from(gpu).unwrap_or(0) % self.links,
                });
                let open_to_all = freed.at + HANDOFF;
                if freed.first_to == link || now >= open_to_all {
                    return true;
                }
                recheck_at = Some(recheck_at.map_or(open_to_all, |at| at.min(open_to_all)));
                false
            });
        }
        Offer { free, recheck_at }
    }

    /// What no job of any server holds, whoever's turn it is.
    pub fn free_now(&self, inventory: &[u32]) -> Free {
        let state = self.lock();
        self.limits
            .free(inventory, state.holding.values().map(Vec::as_slice))
    }

    /// Counts `attempt` of server `link` as holding `gpus` (a CPU slot if
    /// none) unless another server's jobs already hold what it needs:
    /// then `Err` says what, and nothing is held.
    pub fn claim(
        &self,
        link: usize,
        attempt: AttemptRef,
        gpus: &[u32],
        inventory: &[u32],
    ) -> Result<(), String> {
        let mut state = self.lock();
        let others = || {
            state
                .holding
                .iter()
                .filter(move |((l, _), _)| *l != link)
                .map(|(_, g)| g.as_slice())
        };
        if let Some(gpu) = gpus
            .iter()
            .find(|gpu| others().any(|held| held.contains(gpu)))
        {
            return Err(format!("GPU {gpu} runs another server's job"));
        }
        let all = self
            .limits
            .free(inventory, state.holding.values().map(Vec::as_slice));
        let own = self.limits.free(
            inventory,
            state
                .holding
                .iter()
                .filter(|((l, _), _)| *l == link)
                .map(|(_, g)| g.as_slice()),
        );
        if gpus.is_empty() && all.cpu_slots == 0 && own.cpu_slots > 0 {
            return Err("other servers' jobs hold every CPU slot".into());
        }
        if all.job_slots == 0 && own.job_slots > 0 {
            return Err("other servers' jobs fill --max-jobs".into());
        }
        state.holding.insert((link, attempt), gpus.to_vec());
        drop(state);
        self.changed();
        Ok(())
    }

    /// `attempt` of server `link` holds `gpus`, whatever else runs (an
    /// adopted job, which already runs on them).
    pub fn hold(&self, link: usize, attempt: AttemptRef, gpus: &[u32]) {
        self.lock().holding.insert((link, attempt), gpus.to_vec());
        self.changed();
    }

    /// `attempt`'s process ended: its GPUs are free, offered first to the
    /// server whose turn it is.
    pub fn release(&self, link: usize, attempt: AttemptRef) {
        let mut state = self.lock();
        if let Some(gpus) = state.holding.remove(&(link, attempt)) {
            if !gpus.is_empty() {
                let freed = Freed {
                    at: Instant::now(),
                    first_to: state.turns % self.links,
                };
                state.turns = state.turns.wrapping_add(1);
                for gpu in gpus {
                    state.freed.insert(gpu, freed);
                }
            }
        }
        drop(state);
        self.changed();
    }

    /// From now on no server is offered anything.
    pub fn start_draining(&self) {
        if !self.draining.swap(true, Ordering::SeqCst) {
            self.changed();
        }
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// A receiver that sees every later change, of any server's attempts.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Something that alters a poll changed.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        cpu_slots: 1,
        max_jobs: None,
    };

    fn attempt(job_id: i64) -> AttemptRef {
        AttemptRef { job_id, attempt: 1 }
    }

    #[test]
    fn one_server_is_offered_everything_free_at_once() {
        let host = HostSlots::new(LIMITS, 1);
        assert_eq!(host.offer(0, &[0, 1]).free.gpus, [0, 1]);
        assert_eq!(host.claim(0, attempt(1), &[0], &[0, 1]), Ok(()));
        host.release(0, attempt(1));
        let offer = host.offer(0, &[0, 1]);
        assert_eq!((offer.free.gpus, offer.recheck_at), (vec![0, 1], None));
    }

    #[test]
    fn a_gpu_held_for_one_server_is_not_offered_to_or_claimed_by_another() {
        let host = HostSlots::new(LIMITS, 2);
        assert_eq!(host.claim(0, attempt(1), &[1], &[0, 1]), Ok(()));
        // Server 1 has the same job id 1 on its own: a different attempt.
        let taken = host.claim(1, attempt(1), &[1], &[0, 1]);
        assert!(taken.is_err_and(|why| why.contains("GPU 1")));
        assert!(!host.offer(1, &[0, 1]).free.gpus.contains(&1));
        assert!(!host.offer(0, &[0, 1]).free.gpus.contains(&1));
        // The CPU slot and the job limit are shared too.
        assert_eq!(host.claim(0, attempt(2), &[], &[0, 1]), Ok(()));
        assert!(host.claim(1, attempt(3), &[], &[0, 1]).is_err());
    }

    #[test]
    fn a_freed_gpu_goes_to_one_server_first_then_to_all() {
        let host = HostSlots::new(LIMITS, 2);
        // At start GPU 0 is server 0's first, GPU 1 server 1's.
        let start = host.offer(0, &[0, 1]);
        assert_eq!(start.free.gpus, [0]);
        assert!(start.recheck_at.is_some());
        assert_eq!(host.offer(1, &[0, 1]).free.gpus, [1]);

        assert_eq!(host.claim(1, attempt(1), &[0, 1], &[0, 1]), Ok(()));
        host.release(1, attempt(1));
        // The first release's turn is server 0's: both GPUs, together.
        assert_eq!(host.offer(0, &[0, 1]).free.gpus, [0, 1]);
        let other = host.offer(1, &[0, 1]);
        assert!(other.free.gpus.is_empty());
        let recheck = other.recheck_at.unwrap_or_else(Instant::now);
        assert!(recheck > Instant::now() && recheck <= Instant::now() + HANDOFF);
    }

    #[test]
    fn a_draining_host_offers_nothing_to_anyone() {
        let host = HostSlots::new(LIMITS, 2);
        host.start_draining();
        assert!(host.offer(0, &[0]).free.gpus.is_empty());
        assert_eq!(host.offer(1, &[0]).free.job_slots, 0);
    }
}
