//! The fleet test: every simulated host posts on its own paced schedule, as
//! real agents would, then the server is asked whether all of them are healthy.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::body::Bytes;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderValue;
use tokio::time::Instant;
use trainyard_core::{HostHealth, HostView, HostsPage};

use crate::client::post_heartbeat;
use crate::servers::HEARTBEAT_PATH;
use crate::settings::Settings;
use crate::stats::{cpu_between, micros, percentiles, Percentiles};
use crate::workload::{host_id, Rng};

/// After the fleet test's measured window, how long late sends may still go
/// out; anything due in the window and not sent by then counts as missed.
const FLEET_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default)]
pub(crate) struct FleetResult {
    pub(crate) offered_rate: f64,
    /// Successful requests completed inside the measured window, per second.
    pub(crate) achieved_rate: f64,
    /// Successful requests that were due in the measured window.
    pub(crate) requests: usize,
    /// Send → response.
    pub(crate) latency: Percentiles,
    /// Due → response. The generator shares the runtime with the server, so
    /// when the server stalls the runtime's threads the generator's sends are
    /// held back too and send → response never sees the stall (coordinated
    /// omission). A real agent, on its own machine, would wait through it;
    /// this figure includes that wait, plus up to ~1 ms of timer rounding.
    pub(crate) from_schedule: Percentiles,
    /// Due in the window but never sent before the hard stop.
    pub(crate) missed: usize,
    pub(crate) errors: usize,
    pub(crate) first_error: Option<String>,
    pub(crate) hosts_healthy: usize,
    pub(crate) hosts_stale: usize,
    pub(crate) hosts_disconnected: usize,
    pub(crate) hosts_absent: usize,
    /// Share of all cores this process used during the measured window.
    pub(crate) cpu_percent_of_machine: Option<f64>,
    /// How long reading every page of `GET /api/v1/hosts` (1,000 hosts
    /// each) took with the whole fleet registered, and how many bytes.
    pub(crate) list_hosts_ms: f64,
    pub(crate) list_hosts_bytes: usize,
}

/// Open loop: every host posts at `phase + k × interval`, phases uniform over
/// one interval. Hosts are spread over a bounded number of worker tasks (one
/// connection each); each worker sends its hosts' heartbeats in due order.
pub(crate) async fn fleet(
    client: &reqwest::Client,
    addr: SocketAddr,
    auth: &HeaderValue,
    bodies: &Arc<Vec<Bytes>>,
    s: &Settings,
) -> anyhow::Result<FleetResult> {
    let url: Arc<str> = format!("http://{addr}{HEARTBEAT_PATH}").into();
    let interval = s.interval;
    let mut rng = Rng::new(s.seed ^ 0xF1EE_7000);
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

/// Asks the server for every host, page by page, and counts the fleet's by health.
async fn count_health(
    client: &reqwest::Client,
    addr: SocketAddr,
    auth: &HeaderValue,
    hosts: usize,
    r: &mut FleetResult,
) -> anyhow::Result<()> {
    let asked = Instant::now();
    let mut views: Vec<HostView> = Vec::with_capacity(hosts);
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("http://{addr}/api/v1/hosts?limit=1000");
        if let Some(id) = &after {
            url.push_str(&format!("&after={id}"));
        }
        let response = client
            .get(url)
            .header(AUTHORIZATION, auth.clone())
            .send()
            .await?
            .error_for_status()?;
        let body = response.bytes().await?;
        r.list_hosts_bytes += body.len();
        let page: HostsPage =
            serde_json::from_slice(&body).context("GET /api/v1/hosts: not a page of hosts")?;
        views.extend(page.hosts);
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    r.list_hosts_ms = asked.elapsed().as_secs_f64() * 1000.0;
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
