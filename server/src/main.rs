//! `trainyard`: parse the command line, then hand over to the library.

use clap::Parser;
use trainyard_server::cli::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = Cli::parse().command_or_serve().unwrap_or_else(|e| e.exit());
    trainyard_server::init_logging();
    match command {
        Command::Serve(args) => {
            let config = args.into_config()?;
            trainyard_server::run(config, trainyard_server::shutdown_signal()).await?;
        }
    }
    Ok(())
}
