//! `trainyard submit config.yaml`: queue an experiment on a running server
//! from the command line, and optionally follow its single job's output.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use futures::StreamExt;
use trainyard_core::config::parse_experiment;
use trainyard_core::protocol::paths;
use trainyard_core::{ApiErrorBody, JobDetail, JobStatus, Priority, SubmitResult};

use crate::remote::{RemoteServer, ServerArgs};

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The experiment config (YAML); `-` reads standard input.
    pub config: PathBuf,
    /// Scheduling priority: high, normal or low (default: the config's, else normal).
    #[arg(long, value_parser = parse_priority)]
    pub priority: Option<Priority>,
    /// GPUs per job, overriding the config's `gpus` (0 = CPU slot).
    #[arg(long)]
    pub gpus: Option<u32>,
    /// Run only on this host (agent host id), overriding the config's `host`.
    #[arg(long)]
    pub host: Option<String>,
    /// Only GPUs with at least this much free memory (MiB).
    #[arg(long)]
    pub min_gpu_memory_mb: Option<u64>,
    /// Stream the job's output until it ends (the config must make exactly one job);
    /// the exit code is 0 only if the job succeeded.
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub server: ServerArgs,
}

fn parse_priority(s: &str) -> Result<Priority, String> {
    s.parse()
}

/// Submits and prints the jobs; with `--follow`, streams the log. Returns
/// whether everything it waited for succeeded.
pub async fn run(args: SubmitArgs) -> anyhow::Result<bool> {
    let yaml = if args.config.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("reading the config from stdin")?
    } else {
        std::fs::read_to_string(&args.config)
            .with_context(|| format!("reading {}", args.config.display()))?
    };
    // Checked here first for a fast answer with positions; the server checks again.
    let experiment = parse_experiment(&yaml)
        .map_err(|e| anyhow::anyhow!("{}: invalid config:\n{e}", args.config.display()))?;
    if args.follow && experiment.run_count() != 1 {
        bail!(
            "--follow streams one job's output, but this config makes {} runs; drop --follow \
             and watch them on the Queue page or with `GET /api/v1/jobs?sweep=<id>`",
            experiment.run_count()
        );
    }

    let server = RemoteServer::new(&args.server)?;
    let (client, base) = (&server.http, &server.base);
    let with_auth = |rb: reqwest::RequestBuilder| server.auth(rb);

    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(p) = args.priority {
        query.push(("priority", p.label().into()));
    }
    if let Some(g) = args.gpus {
        query.push(("gpus", g.to_string()));
    }
    if let Some(h) = &args.host {
        query.push(("host", h.clone()));
    }
    if let Some(m) = args.min_gpu_memory_mb {
        query.push(("min_gpu_memory_mb", m.to_string()));
    }
    let response = with_auth(client.post(format!("{base}{}", paths::experiments())))
        .query(&query)
        .header("content-type", "application/yaml")
        .body(yaml)
        .send()
        .await
        .with_context(|| format!("cannot reach the Trainyard server at {base}"))?;
    let result: SubmitResult = decode(response).await?;
    println!(
        "queued sweep {} with {} job(s):",
        result.sweep_id,
        result.jobs.len()
    );
    for job in &result.jobs {
        println!("  {:>6}  {:<40}  {}", job.id, job.name, job.status);
    }
    if !args.follow {
        return Ok(true);
    }
    let Some(job) = result.jobs.first() else {
        return Ok(true);
    };
    let log = with_auth(client.get(format!("{base}{}", paths::job_log(job.id))))
        .query(&[("follow", "true")])
        .send()
        .await
        .context("following the log")?;
    if !log.status().is_success() {
        let _: serde_json::Value = decode(log).await?;
        return Ok(false);
    }
    let mut body = log.bytes_stream();
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("the log stream broke off")?;
        out.write_all(&chunk)?;
        out.flush()?;
    }
    drop(out);
    let detail: JobDetail = decode(
        with_auth(client.get(format!("{base}{}", paths::job(job.id))))
            .send()
            .await?,
    )
    .await?;
    let end = &detail.job;
    eprintln!(
        "job {} {}{}",
        end.id,
        end.status,
        end.reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    Ok(end.status == JobStatus::Succeeded)
}

async fn decode<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> anyhow::Result<T> {
    let status = response.status();
    let body = response
        .bytes()
        .await
        .context("reading the server's answer")?;
    if !status.is_success() {
        match serde_json::from_slice::<ApiErrorBody>(&body) {
            Ok(e) => bail!("the server refused ({status}): {}", e.message),
            Err(_) => bail!(
                "the server answered {status}: {}",
                String::from_utf8_lossy(&body)
            ),
        }
    }
    serde_json::from_slice(&body).context("the server's answer is not what this trainyard expects")
}
