//! Why a queued job has not started: the Queue page's "reason" column.

use trainyard_core::{HostHealth, HostView, JobView};

use super::table::JobTable;

/// Why `job` waits, after what happened to it before (a lost attempt).
pub(crate) fn explain(job: &JobView, hosts: &[HostView], table: &JobTable) -> String {
    let now = reason(job, hosts, table);
    match &job.reason {
        Some(before) if !before.is_empty() => format!("{before}; {now}"),
        _ => now,
    }
}

/// A sentence for a person, e.g. "waiting for host gpu-9: no agent with
/// that id has connected".
pub(crate) fn reason(job: &JobView, hosts: &[HostView], table: &JobTable) -> String {
    let slot = if job.gpus == 0 {
        "a free CPU slot".to_string()
    } else if job.gpus == 1 {
        "a free GPU".to_string()
    } else {
        format!("{} free GPUs on one host", job.gpus)
    };
    let fits = |h: &HostView| {
        job.gpus as usize <= h.gpus.len()
            && job.min_gpu_memory_mb.is_none_or(|min| {
                h.gpus
                    .iter()
                    .filter(|g| (g.memory_total_bytes >> 20) >= min)
                    .count()
                    >= job.gpus as usize
            })
    };
    if let Some(pin) = &job.host_pin {
        return match hosts.iter().find(|h| &h.host_id == pin) {
            None => format!("waiting for host {pin}: no agent with that id has connected"),
            Some(h) if h.health != HostHealth::Healthy => {
                format!("waiting for host {pin}: it is {}", h.health.label())
            }
            Some(h) if !fits(h) => format!(
                "host {pin} cannot run it: it has {} GPU(s){}; this job needs {}",
                h.gpus.len(),
                memory_note(job),
                job.gpus
            ),
            Some(_) => format!("waiting for {slot} on {pin}{}", ahead(job, table)),
        };
    }
    let healthy: Vec<&HostView> = hosts
        .iter()
        .filter(|h| h.health == HostHealth::Healthy)
        .collect();
    if healthy.is_empty() {
        return "waiting: no healthy host is connected (start trainyard-agent on a GPU host)"
            .into();
    }
    if job.gpus > 0 && !healthy.iter().any(|h| fits(h)) {
        let most = healthy.iter().map(|h| h.gpus.len()).max().unwrap_or(0);
        let biggest_mb = healthy
            .iter()
            .flat_map(|h| h.gpus.iter())
            .map(|g| g.memory_total_bytes >> 20)
            .max()
            .unwrap_or(0);
        return match job.min_gpu_memory_mb {
            Some(min) if job.gpus as usize <= most => format!(
                "no healthy host can run it: it needs {} GPU(s) with {min} MiB free; the largest GPU has {biggest_mb} MiB",
                job.gpus
            ),
            _ => format!(
                "no healthy host can run it: it needs {} GPU(s) on one host; the most any healthy host has is {most}",
                job.gpus
            ),
        };
    }
    format!("waiting for {slot}{}", ahead(job, table))
}

fn memory_note(job: &JobView) -> String {
    job.min_gpu_memory_mb
        .map(|m| format!(" with {m} MiB free"))
        .unwrap_or_default()
}

fn ahead(job: &JobView, table: &JobTable) -> String {
    let position = table
        .queued()
        .take_while(|l| l.row.view.id != job.id)
        .count();
    match position {
        0 => String::new(),
        1 => " (1 job ahead)".into(),
        n => format!(" ({n} jobs ahead)"),
    }
}
