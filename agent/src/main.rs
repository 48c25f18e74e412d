//! `trainyard-agent`: reports this host's hardware to a Trainyard server and runs its jobs.

mod cli;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::args::Args;

fn main() -> ExitCode {
    // A job's supervisor runs the job and exits here (no logging, no runtime).
    trainyard_agent::supervisor::run_if_requested();
    cli::logging::init();
    let config = Args::parse().into_config();
    match run_until_signalled(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the cause chain on one line; anyhow's default
            // `Debug` output would add a backtrace an operator cannot use.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Async worker threads. The agent's async work is two loops, a few
/// requests and each job's output: two threads keep up with 1 MB/s of log
/// (docs/benchmarks.md, "Agent footprint"), where tokio's default (one per
/// core) would start 128 on a 128-core GPU host. Blocking work (sampling,
/// hashing, file IO) runs on tokio's separate blocking pool.
/// `TOKIO_WORKER_THREADS` still overrides it.
const WORKER_THREADS: usize = 2;

fn run_until_signalled(config: trainyard_agent::AgentSettings) -> anyhow::Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(WORKER_THREADS);
    }
    let runtime = builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(trainyard_agent::run(config, cli::signals::terminated()))?;
    Ok(())
}
