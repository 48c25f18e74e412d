//! Dispatch benchmark: `cargo bench -p trainyard-server --bench dispatch`.
//!
//! 1. **Enqueue → process start**: the real server and one real agent (the
//!    library, one fake GPU, idle and long-polling). Each round submits a
//!    one-job config whose command is `date +%s%N`; the process prints the
//!    wall clock at its start, which is compared with the time just before
//!    the submit request. Baseline in the same run: the bench spawning the
//!    same `date` itself (the floor any launcher pays).
//! 2. **Claims/s**: 1,000 simulated agents (HTTP clients speaking the agent
//!    protocol) long-poll, take a job, report it finished at once, poll
//!    again, until a queue of jobs is drained. Baseline in the same run: the
//!    same clients posting heartbeats back to back (the cheapest
//!    authenticated write the server has).
//!
//! Everything shares this machine's cores with the load generator; compare
//! ratios, not absolute rates. `cargo test --benches` runs a small smoke
//! version. Results: stdout and `target/bench/dispatch.json`.

mod claims;
mod latency;
#[path = "../support/percentiles.rs"]
mod percentiles;
#[path = "../support/server.rs"]
mod server;

use serde_json::json;

pub struct Settings {
    pub rounds: usize,
    pub agents: usize,
    pub jobs: usize,
    pub baseline_seconds: u64,
}

fn main() -> anyhow::Result<()> {
    // The agent's jobs run under supervisors started from this binary.
    trainyard_agent::supervisor::run_if_requested();
    let smoke = !std::env::args().any(|a| a == "--bench");
    let settings = if smoke {
        Settings {
            rounds: 5,
            agents: 20,
            jobs: 200,
            baseline_seconds: 1,
        }
    } else {
        Settings {
            rounds: env("TRAINYARD_BENCH_ROUNDS", 200),
            agents: env("TRAINYARD_BENCH_AGENTS", 1_000),
            jobs: env("TRAINYARD_BENCH_JOBS", 20_000),
            baseline_seconds: 5,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(settings))
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run(s: Settings) -> anyhow::Result<()> {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    println!("Dispatch benchmark ({cpus} CPU cores shared by server, agents and load generator)\n");

    let latency = latency::measure(s.rounds).await?;
    latency.print();
    let claims = claims::measure(s.agents, s.jobs, s.baseline_seconds).await?;
    claims.print();

    let report = json!({
        "cpus": cpus,
        "enqueue_to_start": latency.to_json(),
        "claims": claims.to_json(),
    });
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let path = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| std::path::PathBuf::from(t).join("bench"))
        .unwrap_or(dir);
    std::fs::create_dir_all(&path)?;
    let file = path.join("dispatch.json");
    std::fs::write(&file, serde_json::to_string_pretty(&report)?)?;
    println!("\nwritten to {}", file.display());
    Ok(())
}
