//! `trainyard import tensorboard DIR [--project P]`: asks a running server
//! (`POST /api/v1/imports/tensorboard`) to import a TensorBoard log dir on
//! its machine. The server reads the files itself, so the import goes
//! through the same store, cursors and live updates as everything else;
//! running it again reads only what is new.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use trainyard_core::protocol::paths;
use trainyard_core::runs::{ImportReport, TensorBoardImport};

use crate::remote::{RemoteServer, ServerArgs};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub what: ImportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// Import a TensorBoard log dir: every directory holding
    /// `events.out.tfevents.*` files becomes a run (scalars as metrics).
    Tensorboard(TensorBoardArgs),
}

#[derive(Debug, Args)]
pub struct TensorBoardArgs {
    /// The log dir (on the server's machine; sent as an absolute path).
    pub dir: PathBuf,
    /// Project for its runs (default: the directory's name).
    #[arg(long)]
    pub project: Option<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Runs the import and prints what it did.
pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let ImportWhat::Tensorboard(args) = args.what;
    // The server resolves relative paths against its own directory: send
    // what this shell means.
    let dir = std::path::absolute(&args.dir)
        .with_context(|| format!("resolving {}", args.dir.display()))?;
    let body = TensorBoardImport {
        dir: dir.to_string_lossy().into_owned(),
        project: args.project.clone(),
    };
    let server = RemoteServer::new(&args.server)?;
    let report: ImportReport = server
        .json(
            server
                .http
                .post(server.url(&paths::imports_tensorboard()))
                .json(&body),
            "the import",
        )
        .await?;
    println!("{}", summary(&report));
    for skipped in &report.skipped {
        eprintln!("skipped: {skipped}");
    }
    Ok(())
}

fn summary(r: &ImportReport) -> String {
    format!(
        "{} run(s) found, {} new, {} updated; {} point(s) recorded, {} non-scalar summaries skipped, {} corrupt record(s) reported as run problems",
        r.runs, r.added, r.updated, r.points, r.summaries_skipped, r.problems
    )
}
