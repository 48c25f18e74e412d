//! Claims per second with many simulated agents draining one queue, against
//! the same clients posting heartbeats.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::json;
use trainyard_core::work::{AttemptRef, FinishedReport, Outcome, PollRequest, PollResponse};
use trainyard_core::{GpuStats, Heartbeat, SystemStats, PROTOCOL_VERSION};

use crate::server::{start, Running, KEY};

pub struct ClaimsResult {
    agents: usize,
    jobs: usize,
    claims_per_s: f64,
    heartbeats_per_s: f64,
    double_claims: usize,
}

fn heartbeat(host: &str) -> Heartbeat {
    Heartbeat {
        protocol_version: PROTOCOL_VERSION,
        host_id: host.into(),
        hostname: host.into(),
        agent_version: "bench".into(),
        system: SystemStats {
            cpu_count: 8,
            memory_total_bytes: 16 << 30,
            ..Default::default()
        },
        gpus: vec![GpuStats {
            index: 0,
            name: "Bench GPU".into(),
            memory_total_bytes: 80 << 30,
            ..Default::default()
        }],
        gpu_error: None,
    }
}

async fn post_heartbeat(server: &Running, host: &str) -> anyhow::Result<()> {
    server
        .client
        .post(server.url("/api/v1/agents/heartbeat"))
        .bearer_auth(KEY)
        .json(&heartbeat(host))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

pub async fn measure(
    agents: usize,
    jobs: usize,
    baseline_seconds: u64,
) -> anyhow::Result<ClaimsResult> {
    let server = Arc::new(start(jobs as u64).await?);
    let hosts: Vec<String> = (0..agents).map(|i| format!("sim-{i:05}")).collect();
    for host in &hosts {
        post_heartbeat(&server, host).await?;
    }

    // Baseline: the same clients, heartbeats back to back.
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for host in hosts.clone() {
        let (server, stop, count) = (server.clone(), stop.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if post_heartbeat(&server, &host).await.is_ok() {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(baseline_seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let heartbeats_per_s = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();

    let axis: Vec<String> = (0..jobs).map(|i| i.to_string()).collect();
    let yaml = format!(
        "project: bench\ngpus: 1\ncommand: [\"true\"]\ni: [{}]\n",
        axis.join(",")
    );
    server
        .client
        .post(server.url("/api/v1/experiments"))
        .bearer_auth(KEY)
        .body(yaml)
        .send()
        .await?
        .error_for_status()?;

    let claimed = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(
        std::collections::HashSet::<i64>::new(),
    ));
    let doubles = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for host in hosts {
        let (server, claimed, seen, doubles) = (
            server.clone(),
            claimed.clone(),
            seen.clone(),
            doubles.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while claimed.load(Ordering::Relaxed) < jobs {
                let poll = PollRequest {
                    protocol_version: PROTOCOL_VERSION,
                    host_id: host.clone(),
                    free_gpus: vec![0],
                    free_cpu_slots: 0,
                    free_job_slots: 1,
                    running: Vec::new(),
                    wait_ms: 200,
                };
                let Ok(answer) = server
                    .client
                    .post(server.url("/api/v1/agents/poll"))
                    .bearer_auth(KEY)
                    .json(&poll)
                    .send()
                    .await
                else {
                    continue;
                };
                let Ok(answer) = answer.json::<PollResponse>().await else {
                    continue;
                };
                for a in answer.assign {
                    if !seen
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(a.job_id)
                    {
                        doubles.fetch_add(1, Ordering::Relaxed);
                    }
                    let report = FinishedReport {
                        outcome: Outcome::Succeeded,
                        exit_code: Some(0),
                        signal: None,
                        error: None,
                        duration_ms: 0,
                        log_size: 0,
                    };
                    let at = AttemptRef {
                        job_id: a.job_id,
                        attempt: a.attempt,
                    };
                    let _ = server
                        .client
                        .post(server.url(&format!(
                            "/api/v1/agents/jobs/{}/attempts/{}/finished",
                            at.job_id, at.attempt
                        )))
                        .bearer_auth(KEY)
                        .json(&report)
                        .send()
                        .await;
                    claimed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = claimed.load(Ordering::Relaxed);
    if done != jobs {
        bail!("claimed {done} of {jobs} jobs");
    }
    Ok(ClaimsResult {
        agents,
        jobs,
        claims_per_s: jobs as f64 / elapsed,
        heartbeats_per_s,
        double_claims: doubles.load(Ordering::Relaxed),
    })
}

impl ClaimsResult {
    pub fn print(&self) {
        println!(
            "Claims: {} simulated agents (1 GPU each) draining {} jobs (poll → finished → poll)",
            self.agents, self.jobs
        );
        println!(
            "claims/s: {:.0}  ({} requests per claim)",
            self.claims_per_s, 2
        );
        println!(
            "baseline, same clients posting heartbeats: {:.0} requests/s",
            self.heartbeats_per_s
        );
        println!(
            "claim requests / heartbeat requests: {:.1}%   double claims: {}",
            200.0 * self.claims_per_s / self.heartbeats_per_s.max(1.0),
            self.double_claims
        );
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "agents": self.agents,
            "jobs": self.jobs,
            "claims_per_s": self.claims_per_s,
            "baseline_heartbeats_per_s": self.heartbeats_per_s,
            "double_claims": self.double_claims,
        })
    }
}
