//! What the components sync adds between a job's claim and its process
//! start: submit → process start for a job referencing 50 components the
//! worker already has, for the same with 5 of them changed on the server
//! each round, and for the same job with no components (the baseline),
//! interleaved round by round against one real server and one real agent.
//!
//! `cargo bench -p trainyard-server --bench components_sync`; without
//! `--bench` (as `cargo test --benches` runs it) a short smoke version.
//! Results: stdout and `target/bench/components_sync.json`.

#[path = "../support/percentiles.rs"]
mod percentiles;
#[path = "../support/server.rs"]
mod server;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::json;
use trainyard_core::{JobDetail, SubmitResult};

use percentiles::{percentiles, Percentiles};
use server::{start, Running, KEY};

const COMPONENTS: usize = 50;
const CHANGED: usize = 5;

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn config(workdir: &std::path::Path, with_components: bool) -> String {
    let mut yaml = format!(
        "project: bench\ngpus: 0\nworkdir: {}\ncommand: [\"date\", \"+%s%N\"]\n",
        workdir.display()
    );
    if with_components {
        let names: Vec<String> = (0..COMPONENTS).map(|i| format!("c{i:02}")).collect();
        yaml.push_str(&format!("model: \"{}\"\n", names.join(" | ")));
    }
    yaml
}

async fn upload(server: &Running, name: &str, content: &str) -> anyhow::Result<()> {
    server
        .client
        .post(server.url("/api/v1/components/versions/upload"))
        .bearer_auth(KEY)
        .json(&json!({"path": format!("model/{name}.py"), "content": content}))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

/// Submits `yaml` and returns µs from submission to the process's start.
async fn submit_to_start(server: &Running, yaml: &str) -> anyhow::Result<u32> {
    let start_ns = now_ns();
    let created: SubmitResult = server
        .client
        .post(server.url("/api/v1/experiments"))
        .bearer_auth(KEY)
        .body(yaml.to_string())
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = created.jobs[0].id;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let detail: JobDetail = server
            .client
            .get(server.url(&format!("/api/v1/jobs/{id}")))
            .bearer_auth(KEY)
            .send()
            .await?
            .json()
            .await?;
        if detail.job.status.is_final() {
            break;
        }
        if std::time::Instant::now() > deadline {
            bail!("job {id} did not finish");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let log = server
        .client
        .get(server.url(&format!("/api/v1/jobs/{id}/log")))
        .bearer_auth(KEY)
        .send()
        .await?
        .text()
        .await?;
    // The agent's sync lines come first; the process prints the last line.
    let printed = log.lines().last().unwrap_or_default();
    let started: u128 = printed
        .trim()
        .parse()
        .with_context(|| format!("job {id} printed {log:?}"))?;
    Ok(u32::try_from(started.saturating_sub(start_ns) / 1_000).unwrap_or(u32::MAX))
}

fn main() -> anyhow::Result<()> {
    // The agent's jobs run under supervisors started from this binary.
    trainyard_agent::supervisor::run_if_requested();
    let smoke = !std::env::args().any(|a| a == "--bench");
    let rounds = if smoke { 5 } else { 200 };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(rounds))
}

async fn run(rounds: usize) -> anyhow::Result<()> {
    let server = start(1_000).await?;
    let work = tempfile::tempdir()?;
    let worker = work.path().join("worker");
    std::fs::create_dir_all(&worker)?;
    let mut agent = trainyard_agent::AgentSettings::new(server.url(""), "bench-host");
    agent.gpus = trainyard_agent::GpuSource::None;
    agent.token = Some(KEY.into());
    agent.work_dir = work.path().join("agent");
    agent.sync_strategy = trainyard_core::components::SyncStrategy::ServerAuthoritative;
    let (stop_agent, agent_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(trainyard_agent::run(agent, async move {
        let _ = agent_stopped.await;
    }));
    for i in 0..COMPONENTS {
        upload(
            &server,
            &format!("c{i:02}"),
            &format!("# component {i}\nVALUE = {i}\n"),
        )
        .await?;
    }
    let plain = config(&worker, false);
    let with = config(&worker, true);
    // Warm-up: the agent's first GPU-less poll, and the worker's first copies.
    submit_to_start(&server, &plain).await?;
    submit_to_start(&server, &with).await?;

    let (mut baseline, mut unchanged, mut changed) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        baseline.push(submit_to_start(&server, &plain).await?);
        unchanged.push(submit_to_start(&server, &with).await?);
        for i in 0..CHANGED {
            upload(
                &server,
                &format!("c{i:02}"),
                &format!("# component {i}, round {round}\nVALUE = {i}\n"),
            )
            .await?;
        }
        changed.push(submit_to_start(&server, &with).await?);
    }
    let _ = stop_agent.send(());
    server.stop().await;

    let (b, u, c) = (
        percentiles(&mut baseline),
        percentiles(&mut unchanged),
        percentiles(&mut changed),
    );
    println!("Components sync: submit → process start, {rounds} rounds each, one agent, loopback");
    println!("{:<44} {:>8} {:>8} {:>8}", "", "p50 ms", "p99 ms", "max ms");
    let row = |name: &str, p: &Percentiles| {
        println!(
            "{name:<44} {:>8.2} {:>8.2} {:>8.2}",
            p.p50_ms, p.p99_ms, p.max_ms
        );
    };
    row("no components (baseline)", &b);
    row(&format!("{COMPONENTS} components, all unchanged"), &u);
    row(
        &format!("{COMPONENTS} components, {CHANGED} changed on the server"),
        &c,
    );
    println!(
        "the sync adds (p50): {:.2} ms unchanged, {:.2} ms with {CHANGED} downloads (target < 20 ms)",
        u.p50_ms - b.p50_ms,
        c.p50_ms - b.p50_ms
    );
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out)?;
    let json = json!({
        "rounds": rounds,
        "components": COMPONENTS,
        "changed": CHANGED,
        "baseline": {"p50_ms": b.p50_ms, "p99_ms": b.p99_ms, "max_ms": b.max_ms},
        "unchanged": {"p50_ms": u.p50_ms, "p99_ms": u.p99_ms, "max_ms": u.max_ms},
        "changed_5": {"p50_ms": c.p50_ms, "p99_ms": c.p99_ms, "max_ms": c.max_ms},
        "added_p50_ms": {"unchanged": u.p50_ms - b.p50_ms, "changed_5": c.p50_ms - b.p50_ms},
    });
    std::fs::write(
        out.join("components_sync.json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    Ok(())
}
