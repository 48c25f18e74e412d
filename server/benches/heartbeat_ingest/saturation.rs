//! The saturation test: how many heartbeats a second one server takes when
//! a fixed number of connections post back to back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderValue;
use tokio::time::Instant;

use crate::client::post_heartbeat;
use crate::servers::HEARTBEAT_PATH;
use crate::settings::Settings;
use crate::stats::{cpu_between, micros, percentiles, Percentiles};

#[derive(Debug, Clone)]
pub(crate) struct SaturationResult {
    pub(crate) server: &'static str,
    pub(crate) requests: usize,
    pub(crate) rate: f64,
    pub(crate) latency: Percentiles,
    /// CPU time of this whole process (server + generator) per request in
    /// the measured window. Unlike the rate, it barely moves when something
    /// else on the machine steals cores, so it is the steadier comparison.
    pub(crate) cpu_us_per_request: Option<f64>,
    pub(crate) errors: usize,
    pub(crate) first_error: Option<String>,
}

/// Closed loop: `concurrency` tasks each post back to back. Only requests that
/// start after the warm-up and finish before the end are counted.
pub(crate) async fn saturate(
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
