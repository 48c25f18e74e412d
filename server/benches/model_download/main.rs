//! Model bundle downloads against a plain run-file download of the same
//! checkpoint from the same server: what the bundle route (resolving the
//! version, Range/ETag handling, the tar.gz container) costs per byte.
//!
//! `cargo bench -p trainyard-server --bench model_download`
//!
//! 1. The real server (API key on, on-disk SQLite) on 127.0.0.1:0.
//! 2. A tracked run gets an incompressible `BENCH_MB` [256] MiB checkpoint
//!    through MLflow's artifact PUT (a run file `artifacts/model.pt`), and a
//!    model version is registered from it (`files: ["artifacts/model.pt"]`),
//!    which copies it and builds the bundle once.
//! 3. `BENCH_ROUNDS` [10] rounds, each downloading the run file
//!    (`GET /api/v1/runs/{id}/files/artifacts/model.pt`, the baseline) and
//!    the bundle (`GET /api/v1/models/bench/dev/latest/bundle.tar.gz`),
//!    reading every byte; it reports the median MiB/s of each and the ratio
//!    bundle / run file, and the registration's time.
//!
//! Without `--bench` a 4 MiB, 2-round smoke run checks the sizes only.

#[path = "../support/env.rs"]
mod env;
#[path = "../support/server.rs"]
mod server;

use std::time::Instant;

use env::env_or;

use anyhow::{ensure, Context};
use futures::StreamExt;
use serde_json::{json, Value};
use trainyard_core::models::ModelVersionView;
use trainyard_core::protocol::paths;

fn main() -> anyhow::Result<()> {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let mb = env_or("BENCH_MB", if smoke { 4 } else { 256 })?;
    let rounds = env_or("BENCH_ROUNDS", if smoke { 2 } else { 10 })?;
    ensure!(
        mb > 0 && rounds > 0,
        "BENCH_MB and BENCH_ROUNDS must be at least 1"
    );
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(mb, rounds))
}

/// Incompressible bytes, like trained weights.
fn checkpoint(bytes: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(bytes + 8);
    while out.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(bytes);
    out
}

/// Seconds to read the whole answer of `url`, and its length.
async fn download(s: &server::Running, url: &str) -> anyhow::Result<(f64, u64)> {
    let started = Instant::now();
    let response = s
        .client
        .get(url)
        .bearer_auth(server::KEY)
        .send()
        .await?
        .error_for_status()?;
    let mut stream = response.bytes_stream();
    let mut n = 0u64;
    while let Some(chunk) = stream.next().await {
        n += chunk?.len() as u64;
    }
    Ok((started.elapsed().as_secs_f64(), n))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn run(mb: usize, rounds: usize) -> anyhow::Result<()> {
    let s = server::start(10).await?;
    let created: Value = s
        .client
        .post(s.url("/api/2.0/mlflow/runs/create"))
        .bearer_auth(server::KEY)
        .json(&json!({"experiment_id": "0"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let run_id = created["run"]["info"]["run_id"]
        .as_str()
        .context("runs/create answered no run id")?
        .to_string();
    let job_id: i64 = run_id.parse().context("a run id is a job id")?;
    let data = checkpoint(mb << 20);
    s.client
        .put(s.url(&format!(
            "/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/model.pt"
        )))
        .bearer_auth(server::KEY)
        .body(data.clone())
        .send()
        .await?
        .error_for_status()?;
    let started = Instant::now();
    let version: ModelVersionView = s
        .client
        .post(s.url(&paths::model_versions("bench")))
        .bearer_auth(server::KEY)
        .json(&json!({"job_id": job_id, "files": ["artifacts/model.pt"]}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let register_s = started.elapsed().as_secs_f64();
    let file_url = s.url(&format!(
        "{}artifacts/model.pt",
        paths::run_files_prefix(job_id)
    ));
    let bundle_url = s.url(&paths::model_bundle("bench", "dev", "latest"));
    let (mut plain, mut bundle) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (secs, n) = download(&s, &file_url).await?;
        ensure!(n == data.len() as u64, "the run file is {n} bytes");
        plain.push(n as f64 / secs / f64::from(1 << 20));
        let (secs, n) = download(&s, &bundle_url).await?;
        ensure!(n == version.bundle_bytes, "the bundle is {n} bytes");
        bundle.push(n as f64 / secs / f64::from(1 << 20));
    }
    let (p, b) = (median(plain), median(bundle));
    println!(
        "checkpoint {mb} MiB, bundle {} bytes, {rounds} rounds",
        version.bundle_bytes
    );
    println!("register from run (copy + hash + bundle): {register_s:.2} s");
    println!("run file download: {p:.0} MiB/s (median)");
    println!("bundle download:   {b:.0} MiB/s (median)");
    println!("bundle / run file: {:.2}", b / p);
    s.stop().await;
    Ok(())
}
