//! `trainyard import tensorboard DIR [--project P]`: asks a running server
//! (`POST /api/v1/imports/tensorboard`) to import a TensorBoard log dir on
//! its machine. The server reads the files itself, so the import goes
//! through the same store, cursors and live updates as everything else;
//! running it again reads only what is new.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use reqwest::header::AUTHORIZATION;
use trainyard_core::protocol::paths;
use trainyard_core::runs::{ImportReport, TensorBoardImport};
use trainyard_core::ApiErrorBody;

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
    /// The Trainyard server.
    #[arg(long, env = "TRAINYARD_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// The server's API key, if it has one.
    #[arg(long, env = "TRAINYARD_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
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
    let base = args.url.trim_end_matches('/');
    let mut request =
        reqwest::Client::new().post(format!("{base}{}", paths::imports_tensorboard()));
    if let Some(key) = &args.api_key {
        request = request.header(AUTHORIZATION, format!("Bearer {key}"));
    }
    let response = request
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach the Trainyard server at {base}"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .context("reading the server's answer")?;
    if !status.is_success() {
        match serde_json::from_slice::<ApiErrorBody>(&bytes) {
            Ok(e) => bail!("the server refused ({status}): {}", e.message),
            Err(_) => bail!(
                "the server answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            ),
        }
    }
    let report: ImportReport = serde_json::from_slice(&bytes)
        .context("the server's answer is not what this trainyard expects")?;
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
