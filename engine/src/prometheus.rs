//! The `/metrics` page: what the engine knows, as Prometheus metrics. The
//! door gathers the numbers ([`Inputs`]); this writes them, one family at
//! a time. docs/operations.md ("Prometheus and Grafana") lists them.

use std::sync::Arc;

use trainyard_core::{HostHealth, HostView, JobStatus, Priority};

use crate::exposition::{Exposition, HistogramSnapshot};

/// Everything the page shows, read at scrape time.
pub(crate) struct Inputs {
    pub version: &'static str,
    pub uptime_secs: f64,
    pub hosts: Vec<Arc<HostView>>,
    pub job_counts: Vec<(JobStatus, Priority, u64)>,
    pub queue_wait: HistogramSnapshot,
    pub run_durations: Vec<(JobStatus, HistogramSnapshot)>,
    pub heartbeats: u64,
    pub heartbeats_refused: u64,
    pub metric_points: u64,
    pub deliveries_delivered: u64,
    pub deliveries_failed: u64,
    pub attempts_ok: u64,
    pub attempts_failed: u64,
    pub notifications_dropped: u64,
    pub deliveries_in_flight: u64,
}

const HEALTHS: [HostHealth; 3] = [
    HostHealth::Healthy,
    HostHealth::Stale,
    HostHealth::Disconnected,
];

pub(crate) fn render(i: &Inputs) -> String {
    let mut p = Exposition::default();
    p.family(
        "trainyard_build_info",
        "gauge",
        "The server's version; always 1.",
    );
    p.sample("trainyard_build_info", &[("version", i.version)], 1.0);
    p.family(
        "trainyard_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
    );
    p.sample("trainyard_uptime_seconds", &[], i.uptime_secs);
    hosts(&mut p, &i.hosts);
    gpus(&mut p, &i.hosts);
    jobs(&mut p, i);
    counters(&mut p, i);
    p.finish()
}

fn hosts(p: &mut Exposition, hosts: &[Arc<HostView>]) {
    p.family(
        "trainyard_hosts",
        "gauge",
        "Known hosts per health (healthy, stale, disconnected).",
    );
    for health in HEALTHS {
        let n = hosts.iter().filter(|h| h.health == health).count();
        p.sample("trainyard_hosts", &[("health", health.label())], n as f64);
    }
    p.family(
        "trainyard_host_up",
        "gauge",
        "1 while the host's heartbeats arrive (healthy), 0 when stale or disconnected.",
    );
    for h in hosts {
        let up = f64::from(u8::from(h.health == HostHealth::Healthy));
        p.sample("trainyard_host_up", &[("host", &h.host_id)], up);
    }
    p.family(
        "trainyard_host_health",
        "gauge",
        "The host's health as a state set: 1 for its current health, 0 for the others.",
    );
    for h in hosts {
        for health in HEALTHS {
            let on = f64::from(u8::from(h.health == health));
            p.sample(
                "trainyard_host_health",
                &[("host", &h.host_id), ("health", health.label())],
                on,
            );
        }
    }
    p.family(
        "trainyard_host_last_seen_timestamp_seconds",
        "gauge",
        "When the host's last heartbeat arrived (Unix time).",
    );
    for h in hosts {
        p.sample(
            "trainyard_host_last_seen_timestamp_seconds",
            &[("host", &h.host_id)],
            h.last_seen_ms as f64 / 1000.0,
        );
    }
}

/// One gauge family per GPU reading, labelled host, gpu (index) and name.
fn gpus(p: &mut Exposition, hosts: &[Arc<HostView>]) {
    type Reading = fn(&trainyard_core::GpuStats) -> Option<f64>;
    let families: [(&str, &str, Reading); 5] = [
        (
            "trainyard_gpu_utilization_ratio",
            "GPU compute utilization, 0 to 1.",
            |g| Some(f64::from(g.utilization_percent) / 100.0),
        ),
        (
            "trainyard_gpu_memory_used_bytes",
            "GPU memory in use.",
            |g| Some(g.memory_used_bytes as f64),
        ),
        (
            "trainyard_gpu_memory_total_bytes",
            "GPU memory in all.",
            |g| Some(g.memory_total_bytes as f64),
        ),
        (
            "trainyard_gpu_temperature_celsius",
            "GPU temperature (only GPUs that report one).",
            |g| g.temperature_c.map(f64::from),
        ),
        (
            "trainyard_gpu_power_watts",
            "GPU power draw (only GPUs that report one).",
            |g| g.power_watts.map(f64::from),
        ),
    ];
    for (name, help, read) in families {
        p.family(name, "gauge", help);
        for h in hosts {
            for g in &h.gpus {
                if let Some(value) = read(g) {
                    let index = g.index.to_string();
                    p.sample(
                        name,
                        &[("host", &h.host_id), ("gpu", &index), ("name", &g.name)],
                        value,
                    );
                }
            }
        }
    }
}

fn jobs(p: &mut Exposition, i: &Inputs) {
    p.family(
        "trainyard_jobs",
        "gauge",
        "Jobs per status and priority (every status and priority is listed, zeros included).",
    );
    for status in JobStatus::ALL {
        for priority in Priority::ALL {
            let n: u64 = i
                .job_counts
                .iter()
                .filter(|(s, pr, _)| *s == status && *pr == priority)
                .map(|(_, _, n)| n)
                .sum();
            p.sample(
                "trainyard_jobs",
                &[("status", status.label()), ("priority", priority.label())],
                n as f64,
            );
        }
    }
    p.family(
        "trainyard_job_queue_wait_seconds",
        "histogram",
        "From submission to assignment to a host, observed as jobs leave the queue.",
    );
    p.histogram("trainyard_job_queue_wait_seconds", &[], &i.queue_wait);
    p.family(
        "trainyard_job_run_duration_seconds",
        "histogram",
        "How long attempts ran, observed when a job ends, by the status it ended in.",
    );
    for (status, h) in &i.run_durations {
        p.histogram(
            "trainyard_job_run_duration_seconds",
            &[("status", status.label())],
            h,
        );
    }
}

fn counters(p: &mut Exposition, i: &Inputs) {
    p.family(
        "trainyard_heartbeats_total",
        "counter",
        "Agent heartbeats received since start, by result (accepted or refused).",
    );
    p.sample(
        "trainyard_heartbeats_total",
        &[("result", "accepted")],
        i.heartbeats as f64,
    );
    p.sample(
        "trainyard_heartbeats_total",
        &[("result", "refused")],
        i.heartbeats_refused as f64,
    );
    p.family(
        "trainyard_metric_points_total",
        "counter",
        "Metric points recorded since start (job output, CSV, TensorBoard, MLflow).",
    );
    p.sample("trainyard_metric_points_total", &[], i.metric_points as f64);
    p.family(
        "trainyard_webhook_deliveries_total",
        "counter",
        "Webhook deliveries that ended, by result (delivered, or failed after every attempt).",
    );
    p.sample(
        "trainyard_webhook_deliveries_total",
        &[("result", "delivered")],
        i.deliveries_delivered as f64,
    );
    p.sample(
        "trainyard_webhook_deliveries_total",
        &[("result", "failed")],
        i.deliveries_failed as f64,
    );
    p.family(
        "trainyard_webhook_attempts_total",
        "counter",
        "Webhook HTTP attempts, by result (ok, or error: a timeout, refused connection or non-2xx answer).",
    );
    p.sample(
        "trainyard_webhook_attempts_total",
        &[("result", "ok")],
        i.attempts_ok as f64,
    );
    p.sample(
        "trainyard_webhook_attempts_total",
        &[("result", "error")],
        i.attempts_failed as f64,
    );
    p.family(
        "trainyard_notifications_dropped_total",
        "counter",
        "Job events not notified because the delivery queue was full.",
    );
    p.sample(
        "trainyard_notifications_dropped_total",
        &[],
        i.notifications_dropped as f64,
    );
    p.family(
        "trainyard_webhook_deliveries_in_flight",
        "gauge",
        "Webhook deliveries being attempted or waiting for a retry.",
    );
    p.sample(
        "trainyard_webhook_deliveries_in_flight",
        &[],
        i.deliveries_in_flight as f64,
    );
}
