//! The agent's long-poll: it renews the host's leases, carries stop orders
//! and hands out work that fits, answering at once when there is something
//! to say and otherwise holding the request until there is.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use trainyard_core::work::{
    AttemptRef, PollRequest, PollResponse, StopOrder, StopReason, MAX_POLL_WAIT_MS,
};
use trainyard_core::{validate_host_id, HostHealth, JobStatus};

use super::dispatch::{pick, Capacity, FreeGpu};
use super::queue::JobQueue;
use super::Scheduler;
use crate::error::EngineError;
use crate::hosts::Hosts;

/// How often a poll from a host that is not (yet) healthy looks again.
const UNREADY_HOST_RECHECK: Duration = Duration::from_millis(200);

impl Scheduler {
    /// Answers a poll at once when there is work or a stop order for the
    /// host, else waits (up to `wait_ms`, capped) until there is. The wait
    /// is real time: it bounds an HTTP request, not a lease.
    pub async fn poll(&self, req: PollRequest, hosts: &Hosts) -> Result<PollResponse, EngineError> {
        EngineError::check_protocol(req.protocol_version)?;
        validate_host_id(&req.host_id)
            .map_err(|e| EngineError::BadOption(format!("host_id: {e}")))?;
        // A held poll renews nothing, so it must end well inside a lease.
        let lease_ms = u64::try_from(self.settings.lease.as_millis()).unwrap_or(u64::MAX);
        let wait = req.wait_ms.min(MAX_POLL_WAIT_MS).min(lease_ms / 3);
        let deadline = Instant::now() + Duration::from_millis(wait);
        let generation = self.begin_poll(&req.host_id);
        let _held = HeldPoll::enter(&self.held_polls);
        loop {
            if self.poll_is_stale(&req.host_id, generation) {
                return Ok(PollResponse::default());
            }
            let woken = self.work.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let response = self.dispatch_once(&req, generation, hosts).await?;
            if !response.assign.is_empty()
                || !response.stop.is_empty()
                || Instant::now() >= deadline
                || self.is_closing()
            {
                return Ok(response);
            }
            // A host whose first heartbeat has not arrived yet (or that is
            // stale) gets no work; nothing would wake this poll when it
            // becomes healthy, so look again shortly instead.
            let host_ready = hosts
                .view(&req.host_id)
                .is_some_and(|(_, health)| health == HostHealth::Healthy);
            let until = if host_ready {
                deadline
            } else {
                deadline.min(Instant::now() + UNREADY_HOST_RECHECK)
            };
            tokio::select! {
                () = &mut woken => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// One pass for one host: renew its attempts, find stop orders, hand
    /// out work that fits.
    async fn dispatch_once(
        &self,
        req: &PollRequest,
        generation: u64,
        hosts: &Hosts,
    ) -> Result<PollResponse, EngineError> {
        let host = req.host_id.as_str();
        let now_ms = self.clock.now_ms();
        let lease_until = self.clock.now() + self.settings.lease;
        let listed: HashSet<AttemptRef> = req.running.iter().copied().collect();
        let mut response = PollResponse::default();
        let mut changes = Vec::new();
        let mut queue = self.queue.lock().await;
        // Checked under the lock: once a newer poll exists, this one hands
        // out nothing (its agent is no longer listening).
        if self.poll_is_stale(host, generation) {
            return Ok(response);
        }

        // The host's own jobs, as the server sees them.
        let mut server_used: HashSet<u32> = HashSet::new();
        let mut renewed = Vec::new();
        for job in queue.active_on(host) {
            let at = job.attempt_ref();
            if listed.contains(&at) {
                server_used.extend(job.state.gpu_indices.iter().copied());
                if job.state.cancel_requested {
                    response.stop.push(StopOrder {
                        attempt: at,
                        reason: StopReason::Cancelled,
                    });
                } else if job.state.preempted_for.is_some() {
                    response.stop.push(StopOrder {
                        attempt: at,
                        reason: StopReason::Preempted,
                    });
                }
                // Renewal lives in memory only: after a restart every lease
                // starts afresh anyway.
                renewed.push(job.id());
            } else if job.status() == JobStatus::Assigned {
                // An agent lists every attempt it received; one missing here
                // never arrived (its answer was lost).
                changes.push(job.requeue_unreceived(now_ms));
            } else {
                // Running here, but the agent no longer knows it (it restarted
                // and lost its spool): the process is gone.
                changes.push(job.lose("the agent on this host no longer runs it", now_ms));
            }
        }
        // Attempts the agent runs that are no longer current: stop them. A
        // lost one (no retries left) whose agent is back runs again.
        for at in &req.running {
            let current = queue
                .get(at.job_id)
                .filter(|job| job.is_current(*at) && job.state.host_id.as_deref() == Some(host));
            match current {
                None => response.stop.push(StopOrder {
                    attempt: *at,
                    reason: StopReason::Superseded,
                }),
                Some(job) if job.status() == JobStatus::Lost => {
                    changes.push(job.revive(lease_until, now_ms));
                }
                Some(_) => {}
            }
        }
        for id in renewed {
            queue.renew(id, lease_until);
        }
        self.commit(&mut queue, changes).await?;

        if let Some(mut capacity) = capacity_of(req, &server_used, hosts) {
            // GPUs a preemption frees are for the job it makes room for
            // (and jobs ahead of it), not for smaller jobs behind it.
            let reserved = reserved_for(&queue, host);
            let in_order = queue
                .queued()
                .filter(|job| reserved.is_none_or(|r| (job.priority.rank(), job.id()) <= r))
                .map(|job| &*job.spec);
            let picked = pick(in_order, host, &mut capacity);
            let assigned: Vec<_> = picked
                .into_iter()
                .filter_map(|(job_id, gpus)| queue.get(job_id).map(|job| (job, gpus)))
                .map(|(job, gpus)| job.assign(host, gpus, lease_until, now_ms))
                .collect();
            response.assign = assigned
                .iter()
                .map(|change| change.job.assignment(self.settings.lease))
                .collect();
            if !assigned.is_empty() {
                tracing::debug!(host, jobs = assigned.len(), "assigned");
                self.commit(&mut queue, assigned).await?;
            }
            if self.settings.preempt {
                let stops = self
                    .preempt_for_waiting(&mut queue, host, &capacity, hosts)
                    .await?;
                response.stop.extend(stops);
            }
        }
        Ok(response)
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
}

/// The queue position (priority rank, id) of the job a preemption on
/// `host` is making room for, if one is in flight and that job still waits.
fn reserved_for(queue: &JobQueue, host: &str) -> Option<(u8, i64)> {
    queue
        .active_on(host)
        .iter()
        .filter_map(|job| job.state.preempted_for)
        .filter_map(|id| queue.get(id))
        .filter(|job| job.status() == JobStatus::Queued)
        .map(|job| (job.priority.rank(), job.id()))
        .min()
}

/// Counts a poll as held for as long as it lives.
struct HeldPoll<'a>(&'a AtomicUsize);

impl<'a> HeldPoll<'a> {
    fn enter(count: &'a AtomicUsize) -> HeldPoll<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        HeldPoll(count)
    }
}

impl Drop for HeldPoll<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Free slots of a healthy host: what the agent offers, less GPUs the
/// server knows are taken. `None` if the host may not get work.
fn capacity_of(req: &PollRequest, server_used: &HashSet<u32>, hosts: &Hosts) -> Option<Capacity> {
    let (view, health) = hosts.view(&req.host_id)?;
    if health != HostHealth::Healthy {
        return None;
    }
    let gpus = view
        .gpus
        .iter()
        .filter(|g| req.free_gpus.contains(&g.index) && !server_used.contains(&g.index))
        .map(|g| FreeGpu {
            index: g.index,
            free_memory_mb: g.memory_total_bytes.saturating_sub(g.memory_used_bytes) >> 20,
        })
        .collect();
    Some(Capacity {
        gpus,
        cpu_slots: req.free_cpu_slots,
        job_slots: req.free_job_slots,
    })
}
