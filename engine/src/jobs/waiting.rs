//! Why a queued job has not started: `JobView::waiting`, the Queue page's
//! "reason" column for queued jobs.
//!
//! Reasons depend only on the job and the fleet (not on the queue position,
//! which changes with every dispatch), so they are recomputed once a second
//! and published only when they change.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use trainyard_core::{HostHealth, HostView, JobStatus, JobView};

use super::job::JobSpec;
use super::Scheduler;
use crate::events::BusEvent;
use crate::hosts::Hosts;

/// What the reasons need to know about the fleet, computed once per pass.
pub(crate) struct FleetShape<'a> {
    by_id: HashMap<&'a str, &'a HostView>,
    healthy: Vec<&'a HostView>,
}

impl<'a> FleetShape<'a> {
    pub fn of(hosts: &'a [Arc<HostView>]) -> FleetShape<'a> {
        FleetShape {
            by_id: hosts.iter().map(|h| (h.host_id.as_str(), &**h)).collect(),
            healthy: hosts
                .iter()
                .map(|h| &**h)
                .filter(|h| h.health == HostHealth::Healthy)
                .collect(),
        }
    }
}

/// What a job needs of a host, whichever form the job comes in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Demand<'a> {
    pub gpus: u32,
    pub host_pin: Option<&'a str>,
    pub min_gpu_memory_mb: Option<u64>,
    /// Exactly these GPU indices; empty means any.
    pub gpu_ids: &'a [u32],
}

impl<'a> Demand<'a> {
    pub fn of_view(job: &'a JobView) -> Demand<'a> {
        Demand {
            gpus: job.gpus,
            host_pin: job.host_pin.as_deref(),
            min_gpu_memory_mb: job.min_gpu_memory_mb,
            gpu_ids: &job.gpu_ids,
        }
    }

    pub fn of_spec(job: &'a JobSpec) -> Demand<'a> {
        Demand {
            gpus: job.gpus,
            host_pin: job.host_pin.as_deref(),
            min_gpu_memory_mb: job.min_gpu_memory_mb,
            gpu_ids: &job.gpu_ids,
        }
    }
}

/// Fills in why each queued job of `jobs` waits.
pub(crate) fn explain_queued(jobs: &mut [JobView], hosts: &Hosts) {
    if !jobs.iter().any(|v| v.status == JobStatus::Queued) {
        return;
    }
    let listed = hosts.snapshot();
    let fleet = FleetShape::of(&listed);
    for view in jobs.iter_mut().filter(|v| v.status == JobStatus::Queued) {
        view.waiting = Some(explain(Demand::of_view(view), &fleet));
    }
}

/// Whether `host` could ever run `job` (enough GPUs, enough memory, the
/// indices it names).
fn fits(job: Demand<'_>, host: &HostView) -> bool {
    let big_enough = host
        .gpus
        .iter()
        .filter(|g| {
            job.min_gpu_memory_mb
                .is_none_or(|min| (g.memory_total_bytes >> 20) >= min)
                && (job.gpu_ids.is_empty() || job.gpu_ids.contains(&g.index))
        })
        .count();
    job.gpus as usize <= big_enough
}

/// Why a job that needs `job` waits, as a sentence for a person, e.g.
/// "waiting for host gpu-9: no agent with that id has connected".
pub(crate) fn explain(job: Demand<'_>, fleet: &FleetShape<'_>) -> String {
    let slot = match job.gpus {
        0 => "a free CPU slot".to_string(),
        1 => "a free GPU".to_string(),
        _ if !job.gpu_ids.is_empty() => format!("GPUs {} to be free", index_list(job.gpu_ids)),
        n => format!("{n} free GPUs on one host"),
    };
    if let Some(pin) = job.host_pin {
        return match fleet.by_id.get(pin) {
            None => format!("waiting for host {pin}: no agent with that id has connected"),
            Some(h) if h.health != HostHealth::Healthy => {
                format!("waiting for host {pin}: it is {}", h.health.label())
            }
            Some(h) if !fits(job, h) && !job.gpu_ids.is_empty() => format!(
                "host {pin} cannot run it: it has {} GPU(s){}; this job needs GPUs {} (its `device:` list)",
                h.gpus.len(),
                memory_note(job),
                index_list(job.gpu_ids)
            ),
            Some(h) if !fits(job, h) => format!(
                "host {pin} cannot run it: it has {} GPU(s){}; this job needs {}",
                h.gpus.len(),
                memory_note(job),
                job.gpus
            ),
            Some(_) => format!("waiting for {slot} on {pin}"),
        };
    }
    if fleet.healthy.is_empty() {
        return "waiting: no healthy host is connected (start trainyard-agent on a GPU host)"
            .into();
    }
    if job.gpus > 0 && !fleet.healthy.iter().any(|h| fits(job, h)) {
        let most = fleet
            .healthy
            .iter()
            .map(|h| h.gpus.len())
            .max()
            .unwrap_or(0);
        let biggest_mb = fleet
            .healthy
            .iter()
            .flat_map(|h| h.gpus.iter())
            .map(|g| g.memory_total_bytes >> 20)
            .max()
            .unwrap_or(0);
        return match job.min_gpu_memory_mb {
            Some(min) if job.gpus as usize <= most => format!(
                "no healthy host can run it: it needs {} GPU(s) with {min} MiB; the largest GPU has {biggest_mb} MiB",
                job.gpus
            ),
            _ => format!(
                "no healthy host can run it: it needs {} GPU(s) on one host; the most any healthy host has is {most}",
                job.gpus
            ),
        };
    }
    format!("waiting for {slot}")
}

fn index_list(ids: &[u32]) -> String {
    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn memory_note(job: Demand<'_>) -> String {
    job.min_gpu_memory_mb
        .map(|m| format!(" with {m} MiB"))
        .unwrap_or_default()
}

impl Scheduler {
    /// Publishes a `job` event for each queued job whose reason for waiting
    /// changed since it was last published (a host came or went). Called
    /// about once a second.
    pub async fn refresh_waiting_reasons(&self, hosts: &Hosts) {
        let queue = self.queue.lock().await;
        if queue.queued().next().is_none() {
            // Nothing waits: no reason to look at the fleet.
            self.shown_reasons().clear();
            return;
        }
        let listed = hosts.snapshot();
        let fleet = FleetShape::of(&listed);
        let mut shown = self.shown_reasons();
        let mut changed = Vec::new();
        let mut still_queued = HashSet::new();
        for job in queue.queued() {
            still_queued.insert(job.id());
            let waiting = explain(Demand::of_spec(&job.spec), &fleet);
            if shown.get(&job.id()) != Some(&waiting) {
                shown.insert(job.id(), waiting.clone());
                let mut published = job.view();
                published.waiting = Some(waiting);
                changed.push(published);
            }
        }
        shown.retain(|id, _| still_queued.contains(id));
        drop(shown);
        drop(queue);
        for view in changed {
            self.bus.publish(BusEvent::Job(Arc::new(view)));
        }
    }
}
