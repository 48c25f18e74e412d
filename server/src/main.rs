//! `trainyard`: parse the command line, then hand over to the library.

use std::process::ExitCode;

use clap::Parser;
use trainyard_server::cli::{Cli, Command};

fn main() -> ExitCode {
    // The local agent's jobs run under supervisors started from this binary:
    // such a process runs its job and exits here, before any runtime starts.
    trainyard_agent::supervisor::run_if_requested();
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let command = Cli::parse().command_or_serve().unwrap_or_else(|e| e.exit());
    trainyard_server::init_logging();
    let result: anyhow::Result<()> = match command {
        Command::Serve(args) => {
            async {
                let config = args.into_settings()?;
                trainyard_server::run(config, trainyard_server::shutdown_signal()).await?;
                Ok(())
            }
            .await
        }
        Command::Components(args) => trainyard_server::components_cli::run(args).await,
        Command::Runs(args) => trainyard_server::runs_cli::run(args).await,
        Command::Model(args) => trainyard_server::models_cli::run(args).await,
        Command::Import(args) => trainyard_server::import_cli::run(args).await,
        Command::Resume(args) => trainyard_server::resume_cli::run(args).await,
        Command::Launch(args) => trainyard_server::launch_cli::run(args).await,
        Command::Catalog(args) => trainyard_server::launch_cli::run_catalog(args).await,
        Command::Submit(args) => match trainyard_server::submit::run(args).await {
            Ok(true) => return ExitCode::SUCCESS,
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A plain message: a backtrace (RUST_BACKTRACE is often set) would
            // bury what the operator has to fix.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
