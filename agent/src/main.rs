//! `trainyard-agent`: reports this host's hardware to a Trainyard server and runs its jobs.

mod cli;

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use cli::args::Args;

fn main() -> ExitCode {
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

fn run_until_signalled(config: trainyard_agent::AgentSettings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(trainyard_agent::run(config, cli::signals::terminated()))?;
    Ok(())
}
