//! Bytes on the wire per byte a job appends:
//! `cargo bench -p trainyard-server --bench sync_wire`.
//!
//! The real server and one real agent (the library), with a counting TCP
//! proxy between them. Each scenario runs one job for the same time; the job
//! appends to a file in its run dir at a given rate. The baseline, in the
//! same run, is a job that writes nothing for that time (heartbeats, polls,
//! the config upload, log and report traffic): what a scenario sends beyond
//! the baseline, minus the bytes appended, is the sync protocol's overhead.
//!
//! - `random.log`: incompressible bytes, so nothing is gzipped: the overhead
//!   before compression (request lines, headers, query, JSON answers).
//! - `metrics.csv`: text rows as a training loop writes them; gzip applies.
//!
//! `cargo test --benches` runs a short smoke version. Results: stdout and
//! `target/bench/sync_wire.json`.

#[path = "../support/server.rs"]
mod server;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use trainyard_core::{JobDetail, JobStatus, SubmitResult};

/// What a job writes: nothing, random bytes, or CSV rows.
#[derive(Clone, Copy)]
enum Payload {
    Nothing,
    Random { bytes_per_second: u64 },
    Csv { rows_per_second: u64 },
}

fn script(payload: Payload, seconds: f64) -> String {
    let body = match payload {
        Payload::Nothing => "    pass".to_string(),
        Payload::Random { bytes_per_second } => format!(
            "    with open(os.path.join(d, 'random.log'), 'ab') as f:\n        f.write(os.urandom({}))",
            bytes_per_second / 10
        ),
        Payload::Csv { rows_per_second } => format!(
            "    with open(os.path.join(d, 'metrics.csv'), 'a') as f:\n        for _ in range({}):\n            n[0] += 1\n            f.write('%d,%.6f,%.6f,%.8f\\n' % (n[0], 1.0 / n[0], 1.0 - 0.5 / n[0], 0.001))",
            (rows_per_second / 10).max(1)
        ),
    };
    format!(
        "import os, time\nd = os.environ['TRAINYARD_RUN_DIR']\nn = [0]\nif {csv}:\n    open(os.path.join(d, 'metrics.csv'), 'w').write('step,loss,acc,lr\\n')\nend = time.time() + {seconds}\nwhile time.time() < end:\n{body}\n    time.sleep(0.1)\n",
        csv = if matches!(payload, Payload::Csv { .. }) { "True" } else { "False" },
    )
}

/// Counts bytes both ways between agent and server.
struct Proxy {
    addr: std::net::SocketAddr,
    bytes: Arc<AtomicU64>,
}

async fn proxy(to: std::net::SocketAddr) -> anyhow::Result<Proxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let bytes = Arc::new(AtomicU64::new(0));
    let counter = bytes.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(to).await else {
                    return;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::join!(pump(cr, sw, counter.clone()), pump(sr, cw, counter));
            });
        }
    });
    Ok(Proxy { addr, bytes })
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    counter: Arc<AtomicU64>,
) {
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buffer).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => {
                counter.fetch_add(n as u64, Ordering::Relaxed);
                if to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Runs one job through a fresh agent behind a fresh proxy; returns the
/// bytes the proxy carried and the bytes the job appended.
async fn run_scenario(
    running: &server::Running,
    work_dir: &std::path::Path,
    payload: Payload,
    seconds: f64,
    host: &str,
) -> anyhow::Result<(u64, u64)> {
    let proxy = proxy(running.addr).await?;
    let mut config = trainyard_agent::AgentSettings::new(format!("http://{}", proxy.addr), host);
    config.gpus = trainyard_agent::GpuSource::Fake(1);
    config.token = Some(server::KEY.into());
    config.work_dir = work_dir.join(host);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let agent = tokio::spawn(trainyard_agent::run(config, async move {
        let _ = stopped.await;
    }));
    let yaml = format!(
        "gpus: 1\nhost: {host}\ncommand: [\"python3\", \"-c\", {}]\n",
        serde_json::to_string(&script(payload, seconds))?
    );
    let submitted: SubmitResult = running
        .client
        .post(running.url("/api/v1/experiments"))
        .bearer_auth(server::KEY)
        .body(yaml)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let id = submitted.jobs[0].id;
    let deadline = std::time::Instant::now() + Duration::from_secs_f64(seconds + 60.0);
    loop {
        let detail: JobDetail = running
            .client
            .get(running.url(&format!("/api/v1/jobs/{id}")))
            .bearer_auth(server::KEY)
            .send()
            .await?
            .json()
            .await?;
        match detail.job.status {
            JobStatus::Succeeded => break,
            s if s.is_final() => bail!("job {id} ended {s}: {:?}", detail.job.reason),
            _ if std::time::Instant::now() > deadline => bail!("job {id} did not finish"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let _ = stop.send(());
    let _ = agent.await;
    let run_dir = work_dir.join(host).join("runs").join(format!("{id}-1"));
    let appended = ["random.log", "metrics.csv"]
        .iter()
        .map(|f| {
            std::fs::metadata(run_dir.join(f))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    Ok((proxy.bytes.load(Ordering::Relaxed), appended))
}

fn main() -> anyhow::Result<()> {
    // The agent's jobs run under supervisors started from this binary.
    trainyard_agent::supervisor::run_if_requested();
    let smoke = !std::env::args().any(|a| a == "--bench");
    let seconds = if smoke { 1.5 } else { 8.0 };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let running = server::start(10).await?;
        let work = tempfile::tempdir()?;
        let mut scenarios = vec![
            ("baseline (writes nothing)", Payload::Nothing),
            (
                "random 1 KB/s",
                Payload::Random {
                    bytes_per_second: 1_000,
                },
            ),
            (
                "random 10 KB/s",
                Payload::Random {
                    bytes_per_second: 10_000,
                },
            ),
            (
                "random 100 KB/s",
                Payload::Random {
                    bytes_per_second: 100_000,
                },
            ),
            (
                "random 1 MB/s",
                Payload::Random {
                    bytes_per_second: 1_000_000,
                },
            ),
            (
                "CSV 100 rows/s (gzip)",
                Payload::Csv {
                    rows_per_second: 100,
                },
            ),
            (
                "CSV 1,000 rows/s (gzip)",
                Payload::Csv {
                    rows_per_second: 1_000,
                },
            ),
        ];
        if smoke {
            scenarios.truncate(3);
        }
        let mut baseline = 0u64;
        let mut results = Vec::new();
        println!("sync wire bytes, {seconds} s per job (baseline = same job writing nothing)");
        println!(
            "{:<28} {:>12} {:>12} {:>12} {:>10}",
            "scenario", "wire bytes", "appended", "extra", "ratio"
        );
        for (i, (name, payload)) in scenarios.into_iter().enumerate() {
            let (wire, appended) = run_scenario(
                &running,
                work.path(),
                payload,
                seconds,
                &format!("bench-{i}"),
            )
            .await
            .with_context(|| name.to_string())?;
            if matches!(payload, Payload::Nothing) {
                baseline = wire;
            }
            let extra = wire.saturating_sub(baseline);
            // Wire bytes for the appended data per appended byte (1.00 = no overhead).
            let ratio = if appended > 0 {
                extra as f64 / appended as f64
            } else {
                0.0
            };
            println!("{name:<28} {wire:>12} {appended:>12} {extra:>12} {ratio:>10.4}");
            results.push(json!({
                "scenario": name, "wire_bytes": wire, "appended_bytes": appended,
                "extra_over_baseline": extra, "wire_per_appended_byte": ratio,
            }));
        }
        running.stop().await;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("sync_wire.json"),
            serde_json::to_vec_pretty(&json!({ "seconds": seconds, "results": results }))?,
        )?;
        anyhow::Ok(())
    })
}
