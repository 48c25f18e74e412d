//! Enqueue → process start, against launching the process directly.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context};
use serde_json::json;
use trainyard_core::{JobDetail, JobStatus, SubmitResult};

use crate::percentiles::{percentiles, Percentiles};
use crate::server::{start, KEY};

const CONFIG: &str = "project: bench\ngpus: 1\ncommand: [\"date\", \"+%s%N\"]\n";

pub struct LatencyResult {
    rounds: usize,
    trainyard: Percentiles,
    direct: Percentiles,
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn micros_since(start_ns: u128, printed: &str) -> anyhow::Result<u32> {
    let started: u128 = printed
        .trim()
        .parse()
        .with_context(|| format!("date printed {printed:?}"))?;
    Ok(u32::try_from(started.saturating_sub(start_ns) / 1_000).unwrap_or(u32::MAX))
}

pub async fn measure(rounds: usize) -> anyhow::Result<LatencyResult> {
    let server = start(1_000).await?;
    let work = tempfile::tempdir()?;
    let mut agent = trainyard_agent::AgentSettings::new(server.url(""), "bench-gpu");
    agent.gpus = trainyard_agent::GpuSource::Fake(1);
    agent.token = Some(KEY.into());
    agent.work_dir = work.path().to_path_buf();
    let (stop_agent, agent_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(trainyard_agent::run(agent, async move {
        let _ = agent_stopped.await;
    }));

    let mut trainyard = Vec::with_capacity(rounds);
    // One warm-up round: the agent's first poll waits for its first GPU reading.
    for round in 0..=rounds {
        let start_ns = now_ns();
        let created: SubmitResult = server
            .client
            .post(server.url("/api/v1/experiments"))
            .bearer_auth(KEY)
            .body(CONFIG)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = created.jobs[0].id;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let detail: JobDetail = server
                .client
                .get(server.url(&format!("/api/v1/jobs/{id}")))
                .bearer_auth(KEY)
                .send()
                .await?
                .json()
                .await?;
            if detail.job.status.is_final() {
                if detail.job.status != JobStatus::Succeeded {
                    bail!("job {id} {}: {:?}", detail.job.status, detail.job.reason);
                }
                break;
            }
            if std::time::Instant::now() > deadline {
                bail!("job {id} did not finish");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let log = server
            .client
            .get(server.url(&format!("/api/v1/jobs/{id}/log")))
            .bearer_auth(KEY)
            .send()
            .await?
            .text()
            .await?;
        if round > 0 {
            trainyard.push(micros_since(start_ns, &log)?);
        }
    }
    let _ = stop_agent.send(());
    server.stop().await;

    let mut direct = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start_ns = now_ns();
        let out = tokio::process::Command::new("date")
            .arg("+%s%N")
            .output()
            .await?;
        direct.push(micros_since(
            start_ns,
            &String::from_utf8_lossy(&out.stdout),
        )?);
    }
    Ok(LatencyResult {
        rounds,
        trainyard: percentiles(&mut trainyard),
        direct: percentiles(&mut direct),
    })
}

impl LatencyResult {
    pub fn print(&self) {
        println!(
            "Enqueue → process start, idle 1-GPU agent, {} rounds",
            self.rounds
        );
        println!("{:<28} {:>9} {:>9} {:>9}", "", "p50 ms", "p99 ms", "max ms");
        for (name, p) in [
            ("trainyard submit → start", &self.trainyard),
            ("direct spawn (baseline)", &self.direct),
        ] {
            println!(
                "{name:<28} {:>9.2} {:>9.2} {:>9.2}",
                p.p50_ms, p.p99_ms, p.max_ms
            );
        }
        let met = self.trainyard.p50_ms < 50.0;
        println!(
            "p50 target < 50 ms: {}  (CVLab-Kit polls every 5–10 s, ClearML every 5 s)\n",
            if met { "met" } else { "NOT met" }
        );
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "rounds": self.rounds,
            "trainyard_ms": {"p50": self.trainyard.p50_ms, "p99": self.trainyard.p99_ms, "max": self.trainyard.max_ms},
            "direct_spawn_ms": {"p50": self.direct.p50_ms, "p99": self.direct.p99_ms, "max": self.direct.max_ms},
            "target_p50_ms": 50.0,
            "met": self.trainyard.p50_ms < 50.0,
        })
    }
}
