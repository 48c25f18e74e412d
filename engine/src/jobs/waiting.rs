//! Why a queued job has not started: the Queue page's "reason" column.
//!
//! Reasons depend only on the job and the fleet (not on the queue position,
//! which changes with every dispatch), so they are recomputed once a second
//! and published only when they change.

use std::collections::HashMap;

use trainyard_core::{HostHealth, HostView, JobView};

use crate::engine::Engine;

/// What the reasons need to know about the fleet, computed once per pass.
pub(crate) struct FleetShape<'a> {
    by_id: HashMap<&'a str, &'a HostView>,
    healthy: Vec<&'a HostView>,
}

impl<'a> FleetShape<'a> {
    pub fn of(hosts: &'a [HostView]) -> FleetShape<'a> {
        FleetShape {
            by_id: hosts.iter().map(|h| (h.host_id.as_str(), h)).collect(),
            healthy: hosts
                .iter()
                .filter(|h| h.health == HostHealth::Healthy)
                .collect(),
        }
    }
}

/// Why `job` waits, after what happened to it before (a lost attempt).
pub(crate) fn explain(job: &JobView, fleet: &FleetShape<'_>) -> String {
    let now = reason(job, fleet);
    match &job.reason {
        Some(before) if !before.is_empty() => format!("{before}; {now}"),
        _ => now,
    }
}

/// Whether `host` could ever run `job` (enough GPUs, enough memory).
fn fits(job: &JobView, host: &HostView) -> bool {
    let big_enough = host
        .gpus
        .iter()
        .filter(|g| {
            job.min_gpu_memory_mb
                .is_none_or(|min| (g.memory_total_bytes >> 20) >= min)
        })
        .count();
    job.gpus as usize <= big_enough
}

/// A sentence for a person, e.g. "waiting for host gpu-9: no agent with
/// that id has connected".
fn reason(job: &JobView, fleet: &FleetShape<'_>) -> String {
    let slot = match job.gpus {
        0 => "a free CPU slot".to_string(),
        1 => "a free GPU".to_string(),
        n => format!("{n} free GPUs on one host"),
    };
    if let Some(pin) = &job.host_pin {
        return match fleet.by_id.get(pin.as_str()) {
            None => format!("waiting for host {pin}: no agent with that id has connected"),
            Some(h) if h.health != HostHealth::Healthy => {
                format!("waiting for host {pin}: it is {}", h.health.label())
            }
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

fn memory_note(job: &JobView) -> String {
    job.min_gpu_memory_mb
        .map(|m| format!(" with {m} MiB"))
        .unwrap_or_default()
}

impl Engine {
    /// Publishes a `job` event for each queued job whose reason for waiting
    /// changed since it was last published (a host came or went). Called by
    /// the monitor about once a second.
    pub async fn refresh_waiting_reasons(&self) {
        let hosts = self.hosts();
        let fleet = FleetShape::of(&hosts);
        let table = self.job_table().await;
        let mut shown = self.jobs_state().shown_reasons();
        let mut changed = Vec::new();
        let mut still_queued = std::collections::HashSet::new();
        for live in table.queued() {
            let view = &live.row.view;
            still_queued.insert(view.id);
            let reason = explain(view, &fleet);
            if shown.get(&view.id) != Some(&reason) {
                shown.insert(view.id, reason.clone());
                let mut published = view.clone();
                published.reason = Some(reason);
                changed.push(published);
            }
        }
        shown.retain(|id, _| still_queued.contains(id));
        drop(shown);
        drop(table);
        for view in changed {
            self.events()
                .publish(crate::events::BusEvent::Job(std::sync::Arc::new(view)));
        }
    }
}
