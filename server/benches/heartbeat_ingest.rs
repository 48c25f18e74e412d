//! Heartbeat ingest benchmark: `cargo bench -p trainyard-server --bench heartbeat_ingest`.
//!
//! One process, one run, everything on 127.0.0.1:
//!
//! 1. the real server (`trainyard_server::serve`, API key on, so the bearer
//!    check is part of the cost) on a temporary data dir;
//! 2. a *ceiling* server: a trivial axum handler that reads the same body and
//!    answers a small JSON. It runs on the same runtime and is loaded by the
//!    same client, so `trainyard / ceiling` says how much of what this
//!    machine + HTTP stack can do the server keeps for itself;
//! 3. a saturation test (closed loop, N connections) against each;
//! 4. a fleet test: N hosts each posting on its own paced schedule, then a
//!    `GET /api/v1/hosts` to check that every one of them is still healthy.
//!
//! The load generator shares the CPU with both servers, so absolute numbers
//! understate what a dedicated server would do; the ratio is what to track.
//! Results go to stdout and to `target/bench/heartbeat_ingest.json`.
//! See docs/benchmarks.md for how to read them.

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::routing::post;
use axum::Router;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use trainyard_core::{
    GpuProcess, GpuStats, HealthThresholds, Heartbeat, HostHealth, HostView, SystemStats,
    PROTOCOL_VERSION,
};
use trainyard_server::{ApiKey, ServeConfig};

const HEARTBEAT_PATH: &str = "/api/v1/agents/heartbeat";
/// A fixed key: the bench only ever listens on 127.0.0.1 and the server dies with it.
const API_KEY: &str = "bench-0123456789abcdef0123456789abcdef";
/// One request taking longer than this is counted as an error, not waited for,
/// so a wedged server cannot hang the bench.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// After the fleet test's measured window, how long late sends may still go
/// out; anything due in the window and not sent by then counts as missed.
const FLEET_GRACE: Duration = Duration::from_secs(5);

/// Knobs, from `BENCH_*` environment variables.
#[derive(Debug, Clone)]
struct Settings {
    /// Simulated hosts in the fleet test (also the pool of host ids the
    /// saturation test cycles through).
    hosts: usize,
    /// Each host's heartbeat interval in the fleet test.
    interval: Duration,
    /// Measured duration of the fleet test, after one interval of warm-up.
    fleet_seconds: f64,
    /// Tasks (and so connections) driving the fleet.
    fleet_workers: usize,
    /// Connections in the saturation test.
    concurrency: usize,
    /// Saturation warm-up and measured durations, per server.
    sat_warmup_seconds: f64,
    sat_seconds: f64,
    gpus_per_host: u32,
    /// Safety net: no test sends more than this many requests.
    max_requests: u64,
    seed: u64,
    /// Run without `--bench` (e.g. `cargo test --benches`): a seconds-long
    /// check that the bench still works, not a measurement; writes no JSON.
    smoke: bool,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}")),
        Err(_) => Ok(default),
    }
}

impl Settings {
    fn from_env(smoke: bool) -> anyhow::Result<Settings> {
        // (full run, smoke run) defaults.
        let pick = |full: f64, quick: f64| if smoke { quick } else { full };
        let s = Settings {
            hosts: env_or("BENCH_HOSTS", if smoke { 200 } else { 10_000 })?,
            interval: Duration::from_secs_f64(env_or("BENCH_INTERVAL_SECONDS", pick(3.0, 1.0))?),
            fleet_seconds: env_or("BENCH_SECONDS", pick(15.0, 1.0))?,
            // Enough workers that each sends only a few heartbeats a second, so
            // the generator's own queueing stays out of the latencies.
            fleet_workers: env_or("BENCH_FLEET_WORKERS", if smoke { 50 } else { 1000 })?,
            concurrency: env_or("BENCH_CONCURRENCY", if smoke { 8 } else { 64 })?,
            sat_warmup_seconds: env_or("BENCH_SAT_WARMUP_SECONDS", pick(1.0, 0.2))?,
            sat_seconds: env_or("BENCH_SAT_SECONDS", pick(5.0, 0.5))?,
            gpus_per_host: env_or("BENCH_GPUS", 8)?,
            max_requests: env_or("BENCH_MAX_REQUESTS", 5_000_000)?,
            seed: env_or("BENCH_SEED", 1)?,
            smoke,
        };
        if s.hosts == 0 || s.hosts > 99_999 {
            bail!("BENCH_HOSTS must be 1..=99999 (host ids are bench-NNNNN)");
        }
        if s.concurrency == 0 || s.fleet_workers == 0 {
            bail!("BENCH_CONCURRENCY and BENCH_FLEET_WORKERS must be at least 1");
        }
        if s.interval.is_zero()
            || s.fleet_seconds <= 0.0
            || s.sat_seconds <= 0.0
            || s.sat_warmup_seconds < 0.0
        {
            bail!("durations must be positive");
        }
        if s.gpus_per_host > trainyard_core::heartbeat::MAX_GPUS_PER_HOST as u32 {
            bail!(
                "BENCH_GPUS is above the server's limit of {}",
                trainyard_core::heartbeat::MAX_GPUS_PER_HOST
            );
        }
        Ok(s)
    }
}

/// splitmix64: a few lines instead of a dependency, and the same seed gives the
/// same fleet (values and phases) on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

fn host_id(i: usize) -> String {
    format!("bench-{:05}", i + 1)
}

/// A heartbeat like an 8×H100 training node sends: roughly three in four GPUs
/// busy with one process each, the rest idle.
fn heartbeat(i: usize, gpus: u32, rng: &mut Rng) -> Heartbeat {
    const GIB: u64 = 1 << 30;
    const H100_MEMORY: u64 = 81_559 * 1024 * 1024;
    let id = host_id(i);
    let memory_total = 2048 * GIB;
    let disk_total = 7_680_000_000_000;
    Heartbeat {
        protocol_version: PROTOCOL_VERSION,
        hostname: format!("{id}.cluster.internal"),
        host_id: id,
        agent_version: "0.1.0".into(),
        system: SystemStats {
            cpu_percent: rng.range(50, 950) as f32 / 10.0,
            cpu_count: 224,
            memory_used_bytes: rng.range(64 * GIB, memory_total),
            memory_total_bytes: memory_total,
            disk_used_bytes: rng.range(100 * GIB, disk_total),
            disk_total_bytes: disk_total,
        },
        gpus: (0..gpus)
            .map(|index| {
                let busy = (rng.next() & 3) != 0;
                let used = if busy {
                    rng.range(20 * GIB, H100_MEMORY)
                } else {
                    0
                };
                GpuStats {
                    index,
                    uuid: format!(
                        "GPU-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                        rng.next() as u32,
                        rng.next() as u16,
                        rng.next() as u16,
                        rng.next() as u16,
                        rng.next() & 0xffff_ffff_ffff
                    ),
                    name: "NVIDIA H100 80GB HBM3".into(),
                    utilization_percent: if busy { rng.range(60, 101) as f32 } else { 0.0 },
                    memory_used_bytes: used,
                    memory_total_bytes: H100_MEMORY,
                    temperature_c: Some(rng.range(30, 80) as f32),
                    power_watts: Some(if busy {
                        rng.range(3000, 6900) as f32 / 10.0
                    } else {
                        71.5
                    }),
                    power_limit_watts: Some(700.0),
                    processes: if busy {
                        vec![GpuProcess {
                            pid: rng.range(10_000, 4_000_000) as u32,
                            name: "python".into(),
                            memory_bytes: used,
                        }]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect(),
        gpu_error: None,
    }
}

/// The ceiling: reads the whole body, answers 200 with a small JSON. Nothing
/// a heartbeat endpoint could do with less work.
async fn ceiling_handler(body: Bytes) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(CONTENT_TYPE, "application/json")],
        format!("{{\"ok\":true,\"bytes\":{}}}", body.len()),
    )
}

/// A server running on the shared runtime, stopped by dropping/sending `stop`.
struct Running {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        // Bounded: the real server flushes to SQLite on the way out.
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .context("server did not stop within 30 s")?
            .context("server task panicked")?
    }
}

fn stop_signal() -> (
    oneshot::Sender<()>,
    impl Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = oneshot::channel::<()>();
    (tx, async move {
        let _ = rx.await;
    })
}

async fn start_trainyard(data_dir: PathBuf, site_root: PathBuf) -> anyhow::Result<Running> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = ServeConfig {
        addr,
        data_dir,
        api_key: Some(ApiKey::new(API_KEY.into())?),
        thresholds: HealthThresholds::default(),
        site_root,
        local_agent: None,
    };
    let (stop, signal) = stop_signal();
    let task =
        tokio::spawn(async move { Ok(trainyard_server::serve(listener, config, signal).await?) });
    Ok(Running { addr, stop, task })
}

async fn start_ceiling() -> anyhow::Result<Running> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().route(HEARTBEAT_PATH, post(ceiling_handler));
    let (stop, signal) = stop_signal();
    // Plain `axum::serve`, as trainyard uses, so both get the same HTTP stack.
    let task = tokio::spawn(async move {
        Ok(axum::serve(listener, app)
            .with_graceful_shutdown(signal)
            .await?)
    });
    Ok(Running { addr, stop, task })
}

/// Waits until the server answers (the engine opens its database first).
async fn wait_ready(
    client: &reqwest::Client,
    addr: SocketAddr,
    auth: &HeaderValue,
) -> anyhow::Result<()> {
    let url = format!("http://{addr}/api/v1/health");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client
            .get(&url)
            .header(AUTHORIZATION, auth.clone())
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if Instant::now() > deadline => bail!("{url} answered {}", r.status()),
            Err(e) if Instant::now() > deadline => bail!("{url}: {e}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// One heartbeat POST, body read to the end so the connection goes back to the pool.
async fn post_heartbeat(
    client: &reqwest::Client,
    url: &str,
    auth: &HeaderValue,
    body: Bytes,
) -> Result<(), String> {
    let response = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(AUTHORIZATION, auth.clone())
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let answer = response.bytes().await.map_err(|e| e.to_string())?;
    if status != reqwest::StatusCode::OK {
        let text = String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned();
        return Err(format!("{status}: {text}"));
    }
    Ok(())
}

/// Latency percentiles from raw samples in microseconds (sorted in place).
#[derive(Debug, Clone, Copy, Default)]
struct Percentiles {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn percentiles(samples: &mut [u32]) -> Percentiles {
    if samples.is_empty() {
        return Percentiles::default();
    }
    samples.sort_unstable();
    // Nearest-rank: the smallest sample with at least p of all samples at or below it.
    let at = |p: f64| {
        let rank = (p * samples.len() as f64).ceil() as usize;
        f64::from(samples[rank.clamp(1, samples.len()) - 1]) / 1000.0
    };
    Percentiles {
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[derive(Debug, Clone)]
struct SaturationResult {
    server: &'static str,
    requests: usize,
    rate: f64,
    latency: Percentiles,
    /// CPU time of this whole process (server + generator) per request in
    /// the measured window. Unlike the rate, it barely moves when something
    /// else on the machine steals cores, so it is the steadier comparison.
    cpu_us_per_request: Option<f64>,
    errors: usize,
    first_error: Option<String>,
}

/// CPU time (user + system) this process has used so far, from
/// `/proc/self/stat`; `None` off Linux.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name, which may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of proc(5), i.e. 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux ABI Rust targets; asking sysconf would need libc.
    Some(Duration::from_millis(ticks * 10))
}

/// Process CPU time spent between two instants, sampled by a helper task.
fn cpu_between(from: Instant, to: Instant) -> JoinHandle<Option<Duration>> {
    tokio::spawn(async move {
        tokio::time::sleep_until(from).await;
        let before = process_cpu()?;
        tokio::time::sleep_until(to).await;
        Some(process_cpu()?.saturating_sub(before))
    })
}

/// Closed loop: `concurrency` tasks each post back to back. Only requests that
/// start after the warm-up and finish before the end are counted.
async fn saturate(
    server: &'static str,
    client: &reqwest::Client,
    addr: SocketAddr,
    auth: &HeaderValue,
    bodies: &Arc<Vec<Bytes>>,
    s: &Settings,
) -> anyhow::Result<SaturationResult> {
    let url: Arc<str> = format!("http://{addr}{HEARTBEAT_PATH}").into();
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(s.sat_warmup_seconds);
    let end = measure_from + Duration::from_secs_f64(s.sat_seconds);
    let per_task_cap = s.max_requests / s.concurrency as u64 + 1;
    let cpu = cpu_between(measure_from, end);
    let step = s.concurrency;
    let mut tasks = Vec::with_capacity(s.concurrency);
    for t in 0..s.concurrency {
        let (client, url, auth, bodies) =
            (client.clone(), url.clone(), auth.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(64 * 1024);
            let (mut errors, mut first_error) = (0usize, None);
            // Each connection walks its own slice of the host ids, like many agents would.
            let mut host = t;
            for _ in 0..per_task_cap {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                let result =
                    post_heartbeat(&client, &url, &auth, bodies[host % bodies.len()].clone()).await;
                host += step;
                let done = Instant::now();
                if sent < measure_from || done > end {
                    continue;
                }
                match result {
                    Ok(()) => latencies.push(micros(done - sent)),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut all = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for task in tasks {
        let (lat, err, first) = task.await?;
        all.extend(lat);
        errors += err;
        if first_error.is_none() {
            first_error = first;
        }
    }
    let requests = all.len();
    let cpu = cpu.await?;
    Ok(SaturationResult {
        server,
        requests,
        rate: requests as f64 / s.sat_seconds,
        latency: percentiles(&mut all),
        cpu_us_per_request: cpu
            .filter(|_| requests > 0)
            .map(|c| c.as_secs_f64() * 1e6 / requests as f64),
        errors,
        first_error,
    })
}

#[derive(Debug, Clone, Default)]
struct FleetResult {
    offered_rate: f64,
    /// Successful requests completed inside the measured window, per second.
    achieved_rate: f64,
    /// Successful requests that were due in the measured window.
    requests: usize,
    /// Send → response.
    latency: Percentiles,
    /// Due → response. The generator shares the runtime with the server, so
    /// when the server stalls the runtime's threads the generator's sends are
    /// held back too and send → response never sees the stall (coordinated
    /// omission). A real agent, on its own machine, would wait through it;
    /// this figure includes that wait, plus up to ~1 ms of timer rounding.
    from_schedule: Percentiles,
    /// Due in the window but never sent before the hard stop.
    missed: usize,
    errors: usize,
    first_error: Option<String>,
    hosts_healthy: usize,
    hosts_stale: usize,
    hosts_disconnected: usize,
    hosts_absent: usize,
    /// Share of all cores this process used during the measured window.
    cpu_percent_of_machine: Option<f64>,
    /// How long `GET /api/v1/hosts` took with the whole fleet registered.
    list_hosts_ms: f64,
    list_hosts_bytes: usize,
}

/// Open loop: every host posts at `phase + k × interval`, phases uniform over
/// one interval. Hosts are spread over a bounded number of worker tasks (one
/// connection each); each worker sends its hosts' heartbeats in due order.
async fn fleet(
    client: &reqwest::Client,
    addr: SocketAddr,
    auth: &HeaderValue,
    bodies: &Arc<Vec<Bytes>>,
    s: &Settings,
) -> anyhow::Result<FleetResult> {
    let url: Arc<str> = format!("http://{addr}{HEARTBEAT_PATH}").into();
    let interval = s.interval;
    let mut rng = Rng(s.seed ^ 0xF1EE_7000);
    let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    let phases: Vec<Duration> = (0..s.hosts)
        .map(|_| Duration::from_nanos(rng.range(0, interval_ns)))
        .collect();
    let workers = s.fleet_workers.min(s.hosts);
    // A little slack so every worker is spawned before the first heartbeat is due.
    let start = Instant::now() + Duration::from_millis(100);
    // One whole interval of warm-up: by its end every host has registered once.
    let measure_from = start + interval;
    let end = measure_from + Duration::from_secs_f64(s.fleet_seconds);
    let hard_stop = end + FLEET_GRACE;
    let per_worker_cap = s.max_requests / workers as u64 + 1;
    let cpu = cpu_between(measure_from, end);

    let mut tasks = Vec::with_capacity(workers);
    for w in 0..workers {
        let mut mine: Vec<(usize, Duration)> = (w..s.hosts)
            .step_by(workers)
            .map(|h| (h, phases[h]))
            .collect();
        mine.sort_by_key(|&(_, phase)| phase);
        let (client, url, auth, bodies) =
            (client.clone(), url.clone(), auth.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut r = FleetResult::default();
            let (mut latencies, mut from_schedule) = (Vec::new(), Vec::new());
            let mut in_window = 0usize;
            let mut sent_total = 0u64;
            let mut round = 0u32;
            'rounds: loop {
                for &(host, phase) in &mine {
                    let due = start + interval * round + phase;
                    if due >= end {
                        // `mine` is in phase order, so every later slot is past the end too.
                        break 'rounds;
                    }
                    if Instant::now() >= hard_stop || sent_total >= per_worker_cap {
                        if due >= measure_from {
                            r.missed += 1;
                        }
                        continue;
                    }
                    tokio::time::sleep_until(due).await;
                    let sent = Instant::now();
                    let result = post_heartbeat(&client, &url, &auth, bodies[host].clone()).await;
                    sent_total += 1;
                    let done = Instant::now();
                    if due < measure_from {
                        continue;
                    }
                    match result {
                        Ok(()) => {
                            r.requests += 1;
                            latencies.push(micros(done - sent));
                            from_schedule.push(micros(done - due));
                            if done <= end {
                                in_window += 1;
                            }
                        }
                        Err(e) => {
                            r.errors += 1;
                            r.first_error.get_or_insert(e);
                        }
                    }
                }
                round += 1;
            }
            (r, latencies, from_schedule, in_window)
        }));
    }

    let mut total = FleetResult {
        offered_rate: s.hosts as f64 / interval.as_secs_f64(),
        ..Default::default()
    };
    let (mut latencies, mut from_schedule, mut in_window) = (Vec::new(), Vec::new(), 0);
    for task in tasks {
        let (r, lat, sched, win) = task.await?;
        total.requests += r.requests;
        total.missed += r.missed;
        total.errors += r.errors;
        if total.first_error.is_none() {
            total.first_error = r.first_error;
        }
        latencies.extend(lat);
        from_schedule.extend(sched);
        in_window += win;
    }
    total.achieved_rate = in_window as f64 / s.fleet_seconds;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    total.cpu_percent_of_machine = cpu
        .await?
        .map(|c| c.as_secs_f64() / s.fleet_seconds / cores * 100.0);
    total.latency = percentiles(&mut latencies);
    total.from_schedule = percentiles(&mut from_schedule);
    count_health(client, addr, auth, s.hosts, &mut total).await?;
    Ok(total)
}

/// Asks the server for every host and counts the fleet's by health.
async fn count_health(
    client: &reqwest::Client,
    addr: SocketAddr,
    auth: &HeaderValue,
    hosts: usize,
    r: &mut FleetResult,
) -> anyhow::Result<()> {
    let asked = Instant::now();
    let response = client
        .get(format!("http://{addr}/api/v1/hosts"))
        .header(AUTHORIZATION, auth.clone())
        .send()
        .await?
        .error_for_status()?;
    let body = response.bytes().await?;
    r.list_hosts_ms = asked.elapsed().as_secs_f64() * 1000.0;
    r.list_hosts_bytes = body.len();
    let views: Vec<HostView> =
        serde_json::from_slice(&body).context("GET /api/v1/hosts: not a host list")?;
    let mut fleet: HashSet<String> = (0..hosts).map(host_id).collect();
    for view in views {
        if !fleet.remove(&view.host_id) {
            continue;
        }
        match view.health {
            HostHealth::Healthy => r.hosts_healthy += 1,
            HostHealth::Stale => r.hosts_stale += 1,
            HostHealth::Disconnected => r.hosts_disconnected += 1,
        }
    }
    r.hosts_absent = fleet.len();
    Ok(())
}

/// What the results are from: the load generator runs on these same cores.
fn machine() -> serde_json::Value {
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

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "NOT MET"
    }
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

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let settings = Settings::from_env(smoke)?;
    // Default worker count (one per core): servers and load generator share it,
    // which is what makes the ceiling a fair yardstick.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(settings))
}

async fn run(s: Settings) -> anyhow::Result<()> {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("Heartbeat ingest benchmark");
    println!(
        "NOTE: the load generator runs in this process on the same {cpus} CPU core(s) as the servers. Absolute rates\n\
         understate a dedicated server; the trainyard/ceiling ratio, both measured by the same generator, is the number to track.\n"
    );

    let mut rng = Rng(s.seed);
    let bodies: Vec<Bytes> = (0..s.hosts)
        .map(|i| serde_json::to_vec(&heartbeat(i, s.gpus_per_host, &mut rng)).map(Bytes::from))
        .collect::<Result<_, _>>()?;
    let body_bytes = bodies.iter().map(Bytes::len).sum::<usize>() / bodies.len();
    let bodies = Arc::new(bodies);

    let dir = tempfile::tempdir()?;
    let trainyard = start_trainyard(dir.path().join("data"), dir.path().join("no-site")).await?;
    let ceiling = start_ceiling().await?;
    let auth = HeaderValue::from_str(&format!("Bearer {API_KEY}"))?;
    let client = reqwest::Client::builder()
        // Only ever 127.0.0.1: never route through a proxy from the environment.
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(usize::MAX)
        .build()?;
    wait_ready(&client, trainyard.addr, &auth).await?;
    println!(
        "heartbeat body: {body_bytes} bytes on average ({} GPUs), {} distinct hosts; API key on",
        s.gpus_per_host, s.hosts
    );
    println!(
        "trainyard on http://{}, ceiling on http://{}\n",
        trainyard.addr, ceiling.addr
    );

    println!(
        "Saturation: {} connections posting back to back, {} s warm-up + {} s measured per server",
        s.concurrency, s.sat_warmup_seconds, s.sat_seconds
    );
    let ceiling_sat = saturate("ceiling", &client, ceiling.addr, &auth, &bodies, &s).await?;
    let trainyard_sat = saturate("trainyard", &client, trainyard.addr, &auth, &bodies, &s).await?;
    println!(
        "{:<10} {:>13} {:>9} {:>9} {:>9} {:>16} {:>7}",
        "server", "heartbeats/s", "p50 ms", "p99 ms", "max ms", "CPU us/request", "errors"
    );
    for r in [&ceiling_sat, &trainyard_sat] {
        let cpu = r
            .cpu_us_per_request
            .map_or_else(|| "n/a".into(), |c| format!("{c:.1}"));
        println!(
            "{:<10} {:>13.0} {:>9.2} {:>9.2} {:>9.2} {:>16} {:>7}",
            r.server, r.rate, r.latency.p50_ms, r.latency.p99_ms, r.latency.max_ms, cpu, r.errors
        );
        if let Some(e) = &r.first_error {
            println!("           first error: {e}");
        }
    }
    let ratio = if ceiling_sat.rate > 0.0 {
        trainyard_sat.rate / ceiling_sat.rate
    } else {
        0.0
    };
    let ratio_met = ratio >= 0.5 && trainyard_sat.errors == 0;
    println!(
        "trainyard / ceiling: {:.1}%   target >= 50%: {}",
        ratio * 100.0,
        verdict(ratio_met)
    );
    if let (Some(c), Some(t)) = (
        ceiling_sat.cpu_us_per_request,
        trainyard_sat.cpu_us_per_request,
    ) {
        // Same figure from CPU cost instead of wall-clock rate (steadier on a busy machine).
        println!(
            "CPU-cost ratio (ceiling us / trainyard us per request): {:.1}%",
            c / t * 100.0
        );
    }
    println!();

    println!(
        "Fleet: {} hosts, each every {} s on its own random phase (offered {:.0}/s), {} worker connections,\n       {} s warm-up + {} s measured",
        s.hosts,
        s.interval.as_secs_f64(),
        s.hosts as f64 / s.interval.as_secs_f64(),
        s.fleet_workers.min(s.hosts),
        s.interval.as_secs_f64(),
        s.fleet_seconds
    );
    let f = fleet(&client, trainyard.addr, &auth, &bodies, &s).await?;
    println!("{:<28} {:>9} {:>9} {:>9}", "", "p50 ms", "p99 ms", "max ms");
    for (name, p) in [
        ("latency (send -> response)", f.latency),
        ("from schedule (due -> resp)", f.from_schedule),
    ] {
        println!(
            "{:<28} {:>9.2} {:>9.2} {:>9.2}",
            name, p.p50_ms, p.p99_ms, p.max_ms
        );
    }
    println!(
        "achieved {:.0}/s of {:.0}/s offered; {} requests, {} errors, {} missed",
        f.achieved_rate, f.offered_rate, f.requests, f.errors, f.missed
    );
    if let Some(e) = &f.first_error {
        println!("first error: {e}");
    }
    if let Some(p) = f.cpu_percent_of_machine {
        println!("this process (server + generator) used {p:.0}% of the machine's {cpus} core(s) meanwhile");
    }
    println!(
        "hosts at the end: {} healthy, {} stale, {} disconnected, {} absent (of {}); GET /api/v1/hosts took {:.1} ms for {} KiB",
        f.hosts_healthy,
        f.hosts_stale,
        f.hosts_disconnected,
        f.hosts_absent,
        s.hosts,
        f.list_hosts_ms,
        f.list_hosts_bytes / 1024
    );
    // Due → response decides: it is the stricter figure and the one an agent
    // on its own machine would see (see `FleetResult::from_schedule`).
    let fleet_met = f.from_schedule.p99_ms < 50.0
        && f.hosts_healthy == s.hosts
        && f.errors == 0
        && f.missed == 0
        && f.achieved_rate >= 0.98 * f.offered_rate;
    println!(
        "target: {} hosts every {} s held, p99 < 50 ms, all healthy: {}\n",
        s.hosts,
        s.interval.as_secs_f64(),
        verdict(fleet_met)
    );

    // Stopping the real server runs its final flush to SQLite.
    trainyard.stop().await?;
    ceiling.stop().await?;

    let report = json!({
        "bench": "heartbeat_ingest",
        "note": "load generator shares the CPU cores with both servers; compare trainyard with the ceiling",
        "machine": machine(),
        "settings": {
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
        },
        "saturation": {
            "ceiling": saturation_json(&ceiling_sat),
            "trainyard": saturation_json(&trainyard_sat),
            "ratio": (ratio * 1000.0).round() / 1000.0,
            "cpu_cost_ratio": ceiling_sat.cpu_us_per_request.zip(trainyard_sat.cpu_us_per_request).map(|(c, t)| (c / t * 1000.0).round() / 1000.0),
            "target_ratio": 0.5,
            "met": ratio_met,
        },
        "fleet": {
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
            "target_p99_ms": 50.0,
            "met": fleet_met,
        },
    });
    // Failed requests mean the numbers describe something other than ingest.
    let errors = ceiling_sat.errors + trainyard_sat.errors + f.errors;
    if s.smoke {
        println!(
            "smoke run (no --bench): the numbers above are not a measurement; no JSON written"
        );
        if errors > 0 || f.hosts_healthy != s.hosts {
            bail!(
                "smoke run: {errors} failed requests, {} of {} hosts healthy",
                f.hosts_healthy,
                s.hosts
            );
        }
        return Ok(());
    }
    let path = output_path();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("results written to {}", path.display());
    if errors > 0 {
        bail!("{errors} requests failed; see the first error printed above");
    }
    Ok(())
}
