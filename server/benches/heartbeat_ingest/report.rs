//! What a run leaves behind: verdicts, and the JSON written to
//! `target/bench/heartbeat_ingest.json` with the machine it ran on.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use crate::fleet::FleetResult;
use crate::saturation::SaturationResult;
use crate::settings::Settings;

pub(crate) fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "NOT MET"
    }
}

/// What the results are from: the load generator runs on these same cores.
pub(crate) fn machine() -> serde_json::Value {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let meminfo = read("/proc/meminfo");
    let memory_gib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kib| (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0);
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": cpu_model,
        "memory_gib": memory_gib,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

/// The knobs a run used, with the average heartbeat size they gave.
pub(crate) fn settings_json(s: &Settings, body_bytes: usize) -> serde_json::Value {
    json!({
        "hosts": s.hosts,
        "interval_seconds": s.interval.as_secs_f64(),
        "fleet_seconds": s.fleet_seconds,
        "fleet_workers": s.fleet_workers.min(s.hosts),
        "concurrency": s.concurrency,
        "sat_warmup_seconds": s.sat_warmup_seconds,
        "sat_seconds": s.sat_seconds,
        "gpus_per_host": s.gpus_per_host,
        "body_bytes": body_bytes,
        "seed": s.seed,
    })
}

/// Both saturation runs, their rate ratio and whether it met the target.
pub(crate) fn saturation_section_json(
    ceiling: &SaturationResult,
    trainyard: &SaturationResult,
    ratio: f64,
    met: bool,
) -> serde_json::Value {
    json!({
        "ceiling": saturation_json(ceiling),
        "trainyard": saturation_json(trainyard),
        "ratio": (ratio * 1000.0).round() / 1000.0,
        "cpu_cost_ratio": ceiling.cpu_us_per_request.zip(trainyard.cpu_us_per_request).map(|(c, t)| (c / t * 1000.0).round() / 1000.0),
        "target_ratio": 0.5,
        "met": met,
    })
}

fn saturation_json(r: &SaturationResult) -> serde_json::Value {
    json!({
        "requests": r.requests,
        "heartbeats_per_sec": r.rate.round(),
        "p50_ms": r.latency.p50_ms,
        "p99_ms": r.latency.p99_ms,
        "max_ms": r.latency.max_ms,
        "cpu_us_per_request": r.cpu_us_per_request,
        "errors": r.errors,
        "first_error": r.first_error,
    })
}

/// The fleet run and whether it met the target.
pub(crate) fn fleet_json(f: &FleetResult, met: bool) -> serde_json::Value {
    json!({
        "offered_per_sec": f.offered_rate.round(),
        "achieved_per_sec": f.achieved_rate.round(),
        "requests": f.requests,
        "errors": f.errors,
        "first_error": f.first_error,
        "missed": f.missed,
        "p50_ms": f.latency.p50_ms,
        "p99_ms": f.latency.p99_ms,
        "max_ms": f.latency.max_ms,
        "from_schedule_p50_ms": f.from_schedule.p50_ms,
        "from_schedule_p99_ms": f.from_schedule.p99_ms,
        "from_schedule_max_ms": f.from_schedule.max_ms,
        "hosts_healthy": f.hosts_healthy,
        "hosts_stale": f.hosts_stale,
        "hosts_disconnected": f.hosts_disconnected,
        "hosts_absent": f.hosts_absent,
        "cpu_percent_of_machine": f.cpu_percent_of_machine,
        "list_hosts_ms": f.list_hosts_ms,
        "list_hosts_bytes": f.list_hosts_bytes,
        "target_p99_ms": crate::FLEET_P99_LIMIT_MS,
        "met": met,
    })
}

/// Writes `report` to `target/bench/heartbeat_ingest.json`; returns where.
pub(crate) fn write_json(report: &serde_json::Value) -> anyhow::Result<PathBuf> {
    let path = output_path();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// `target/bench/heartbeat_ingest.json`, honouring CARGO_TARGET_DIR.
fn output_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            // The bench binary lives in <target>/release/deps/.
            let exe = std::env::current_exe().ok()?;
            let deps = exe.parent()?;
            (deps.file_name()? == "deps")
                .then(|| deps.parent()?.parent().map(PathBuf::from))
                .flatten()
        })
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("bench").join("heartbeat_ingest.json")
}
