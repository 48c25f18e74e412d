//! Applying preemption to one polling host (`--preempt`): gather what the
//! decision needs (`preempt.rs`), mark the victims and hand their agent the
//! stop orders. A victim is requeued when its attempt ends (`lifecycle.rs`,
//! [`super::job::Job::finish`]).

use std::collections::{HashMap, HashSet};

use trainyard_core::work::{StopOrder, StopReason};
use trainyard_core::{HostHealth, HostView};

use super::dispatch::{Capacity, FreeGpu};
use super::job::JobSpec;
use super::preempt::{choose, Running, Waiting};
use super::queue::JobQueue;
use super::Scheduler;
use crate::error::EngineError;
use crate::hosts::Hosts;

impl Scheduler {
    /// After dispatch on `host` left `free`: if a higher-priority queued
    /// job could be placed by stopping lower-priority ones here, ask for
    /// that; returns the stop orders for the host's agent.
    pub(super) async fn preempt_for_waiting(
        &self,
        queue: &mut JobQueue,
        host: &str,
        free: &Capacity,
        hosts: &Hosts,
    ) -> Result<Vec<StopOrder>, EngineError> {
        let Some((view, _)) = hosts.view(host) else {
            return Ok(Vec::new());
        };
        let total_mb: HashMap<u32, u64> = view
            .gpus
            .iter()
            .map(|g| (g.index, g.memory_total_bytes >> 20))
            .collect();
        let running: Vec<Running> = queue
            .active_on(host)
            .into_iter()
            .map(|job| Running {
                id: job.id(),
                priority: job.priority,
                gpus: job
                    .state
                    .gpu_indices
                    .iter()
                    .map(|index| FreeGpu {
                        index: *index,
                        free_memory_mb: total_mb.get(index).copied().unwrap_or(0),
                    })
                    .collect(),
                started_ms: job.state.started_ms,
                stopping: job.state.cancel_requested || job.state.preempted_for.is_some(),
            })
            .collect();
        if running.is_empty() {
            return Ok(Vec::new());
        }
        let in_flight: HashSet<i64> = queue
            .active()
            .filter_map(|job| job.state.preempted_for)
            .collect();
        let fleet = hosts.snapshot();
        let decision = choose(
            queue.queued().map(|job| Waiting {
                spec: &job.spec,
                priority: job.priority,
            }),
            host,
            &free.gpus,
            &running,
            &in_flight,
            |spec| fits_elsewhere(spec, host, &fleet, queue),
        );
        let Some(decision) = decision else {
            return Ok(Vec::new());
        };
        let changes: Vec<_> = decision
            .victims
            .iter()
            .filter_map(|id| queue.get(*id))
            .filter_map(|job| job.preempt(decision.for_job))
            .collect();
        let stops = changes
            .iter()
            .map(|change| StopOrder {
                attempt: change.job.attempt_ref(),
                reason: StopReason::Preempted,
            })
            .collect();
        tracing::info!(
            host,
            for_job = decision.for_job,
            victims = ?decision.victims,
            "preempting lower-priority jobs"
        );
        self.commit(queue, changes).await?;
        Ok(stops)
    }
}

/// Whether a healthy host other than `host` has enough GPUs that no job of
/// the server's holds for `spec` now (it will take it at its next poll).
fn fits_elsewhere(
    spec: &JobSpec,
    host: &str,
    fleet: &[std::sync::Arc<HostView>],
    queue: &JobQueue,
) -> bool {
    if spec.host_pin.is_some() {
        return false;
    }
    let min_memory = spec.min_gpu_memory_mb.unwrap_or(0);
    fleet
        .iter()
        .filter(|h| h.host_id != host && h.health == HostHealth::Healthy)
        .any(|h| {
            let used: HashSet<u32> = queue
                .active_on(&h.host_id)
                .iter()
                .flat_map(|job| job.state.gpu_indices.iter().copied())
                .collect();
            let free = h
                .gpus
                .iter()
                .filter(|g| !used.contains(&g.index))
                .filter(|g| {
                    (g.memory_total_bytes.saturating_sub(g.memory_used_bytes) >> 20) >= min_memory
                })
                .filter(|g| spec.gpu_ids.is_empty() || spec.gpu_ids.contains(&g.index))
                .count();
            free >= spec.gpus as usize
        })
}
