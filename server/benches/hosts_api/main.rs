//! `GET /api/v1/hosts` with a large fleet: what a page, a filter and a count
//! cost against handing over every host at once, in the same run.
//!
//! `cargo bench -p trainyard-server --bench hosts_api`
//!
//! 1. The real server (API key on, on-disk SQLite) on 127.0.0.1:0.
//! 2. `BENCH_HOSTS` [10000] simulated 8×H100 hosts post one heartbeat each
//!    (the heartbeat bench's fleet: about 2.8 KB of JSON per host).
//! 3. Each request below `BENCH_ROUNDS` [30] times, interleaved round by
//!    round, timing send → last byte (walking all pages: also reading each
//!    page's cursor) and counting the body's bytes; answers are checked.
//!    **Baseline:** `GET /api/devices` (CVLab-Kit's route), which still does
//!    what `GET /api/v1/hosts` did before it paged: every host, copied and
//!    serialized into one answer.
//!
//! Without `--bench` (`cargo test --benches`) a seconds-long smoke run with
//! 300 hosts checks the answers, not the speed.

#[path = "../support/env.rs"]
mod env;
#[path = "../support/percentiles.rs"]
mod percentiles;
#[path = "../support/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../heartbeat_ingest/workload.rs"]
mod workload;

use std::time::Instant;

use env::env_or;

use anyhow::{bail, ensure, Context};
use futures::stream::{self, StreamExt, TryStreamExt};
use percentiles::{percentiles, Percentiles};
use trainyard_core::HostsPage;

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let hosts = env_or("BENCH_HOSTS", if smoke { 300 } else { 10_000 })?;
    let rounds = env_or("BENCH_ROUNDS", if smoke { 2 } else { 30 })?;
    if !(200..=99_999).contains(&hosts) || rounds == 0 {
        bail!("BENCH_HOSTS must be 200..=99999 and BENCH_ROUNDS at least 1");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(hosts, rounds, smoke))
}

/// One kind of request and what it measured.
struct Probe {
    label: &'static str,
    /// Path and query; `None`: walk every page of 1,000 with `after`.
    path: Option<String>,
    samples_us: Vec<u32>,
    bytes: usize,
    requests: usize,
    hosts: usize,
}

async fn run(hosts: usize, rounds: usize, smoke: bool) -> anyhow::Result<()> {
    let srv = server::start(1000).await?;
    let bodies = workload::heartbeat_bodies(hosts, 8, 1)?;
    let registering = Instant::now();
    let url = srv.url("/api/v1/agents/heartbeat");
    stream::iter(bodies)
        .map(|body| {
            let (client, url) = (srv.client.clone(), url.clone());
            async move {
                client
                    .post(url)
                    .bearer_auth(server::KEY)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?
                    .error_for_status()
                    .map(drop)
            }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await
        .context("registering the fleet")?;
    println!(
        "{hosts} hosts registered in {:.1} s; {rounds} rounds",
        registering.elapsed().as_secs_f64()
    );

    let deep = hosts.saturating_sub(100);
    let deep_id = workload::host_id(deep.saturating_sub(1));
    let mut probes: Vec<Probe> = [
        (
            "baseline: every host in one answer (GET /api/devices)",
            Some("/api/devices".to_string()),
        ),
        (
            "first page, default 100 (GET /api/v1/hosts)",
            Some("/api/v1/hosts".into()),
        ),
        (
            "a page deep in the fleet, offset",
            Some(format!("/api/v1/hosts?offset={deep}")),
        ),
        (
            "a page deep in the fleet, after (keyset)",
            Some(format!("/api/v1/hosts?after={deep_id}")),
        ),
        (
            "count only, healthy (limit=0)",
            Some("/api/v1/hosts?health=healthy&limit=0".into()),
        ),
        (
            "filter: search q=bench-042",
            Some("/api/v1/hosts?q=bench-042".into()),
        ),
        (
            "filter: min_free_gpus=4, first 100",
            Some("/api/v1/hosts?min_free_gpus=4".into()),
        ),
        ("every host, pages of 1,000 (after)", None),
    ]
    .into_iter()
    .map(|(label, path)| Probe {
        label,
        path,
        samples_us: Vec::with_capacity(rounds),
        bytes: 0,
        requests: 0,
        hosts: 0,
    })
    .collect();

    for _ in 0..rounds {
        for probe in &mut probes {
            // Timed from sending to the body's last byte; checking the
            // answer comes after (walking pages must read each cursor).
            let started = Instant::now();
            let (bytes, requests, got) = match &probe.path {
                Some(path) => {
                    let body = get(&srv, path).await?;
                    probe.samples_us.push(micros(started));
                    let got = if path.starts_with("/api/v1/") {
                        let page: HostsPage = serde_json::from_slice(&body)?;
                        page.hosts.len()
                    } else {
                        let all: serde_json::Value = serde_json::from_slice(&body)?;
                        all["data"].as_array().map_or(0, Vec::len)
                    };
                    (body.len(), 1, got)
                }
                None => {
                    let walked = walk(&srv).await?;
                    probe.samples_us.push(micros(started));
                    walked
                }
            };
            probe.bytes = bytes;
            probe.requests = requests;
            probe.hosts = got;
        }
    }
    srv.stop().await;

    // The answers must be right before their speed means anything.
    let by = |label: &str| probes.iter().find(|p| p.label.starts_with(label));
    let expect = |label: &str, hosts_expected: usize| -> anyhow::Result<()> {
        let probe = by(label).context("probe")?;
        ensure!(
            probe.hosts == hosts_expected,
            "{label}: {} hosts, expected {hosts_expected}",
            probe.hosts
        );
        Ok(())
    };
    expect("baseline", hosts)?;
    expect("first page", hosts.min(100))?;
    expect("a page deep in the fleet, offset", hosts - deep)?;
    expect("a page deep in the fleet, after", hosts - deep)?;
    expect("every host", hosts)?;

    let base = by("baseline").context("baseline")?;
    let base_p = percentiles(&mut base.samples_us.clone());
    println!(
        "\n{:<56} {:>6} {:>5} {:>12} {:>9} {:>9} {:>9} {:>10}",
        "request", "hosts", "reqs", "bytes", "p50 ms", "p99 ms", "max ms", "p50 vs base"
    );
    for probe in &mut probes {
        let p: Percentiles = percentiles(&mut probe.samples_us);
        println!(
            "{:<56} {:>6} {:>5} {:>12} {:>9.2} {:>9.2} {:>9.2} {:>10}",
            probe.label,
            probe.hosts,
            probe.requests,
            probe.bytes,
            p.p50_ms,
            p.p99_ms,
            p.max_ms,
            format!("{:.1}%", p.p50_ms / base_p.p50_ms * 100.0)
        );
    }
    if smoke {
        println!("(smoke run: answers checked, timings not meaningful)");
    }
    Ok(())
}

fn micros(since: Instant) -> u32 {
    u32::try_from(since.elapsed().as_micros()).unwrap_or(u32::MAX)
}

async fn get(srv: &server::Running, path: &str) -> anyhow::Result<bytes::Bytes> {
    let answer = srv
        .client
        .get(srv.url(path))
        .bearer_auth(server::KEY)
        .send()
        .await?;
    let status = answer.status();
    let body = answer.bytes().await?;
    ensure!(status.is_success(), "GET {path}: {status}");
    Ok(body)
}

/// Just what walking needs from a page: its cursor and how many hosts
/// (the hosts themselves are skipped, not built).
#[derive(serde::Deserialize)]
struct Cursor {
    next_after: Option<String>,
    hosts: Vec<serde::de::IgnoredAny>,
}

/// Every host, 1,000 at a time: (bytes, requests, hosts).
async fn walk(srv: &server::Running) -> anyhow::Result<(usize, usize, usize)> {
    let (mut bytes, mut requests, mut hosts) = (0, 0, 0);
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(id) => format!("/api/v1/hosts?limit=1000&after={id}"),
            None => "/api/v1/hosts?limit=1000".into(),
        };
        let body = get(srv, &path).await?;
        bytes += body.len();
        requests += 1;
        let page: Cursor = serde_json::from_slice(&body)?;
        hosts += page.hosts.len();
        match page.next_after {
            Some(next) => after = Some(next),
            None => return Ok((bytes, requests, hosts)),
        }
    }
}
