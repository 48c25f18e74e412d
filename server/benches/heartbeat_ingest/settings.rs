//! The bench's knobs, read from `BENCH_*` environment variables.

use std::time::Duration;

use anyhow::bail;

use crate::env::env_or;

/// Knobs, from `BENCH_*` environment variables.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Simulated hosts in the fleet test (also the pool of host ids the
    /// saturation test cycles through).
    pub(crate) hosts: usize,
    /// Each host's heartbeat interval in the fleet test.
    pub(crate) interval: Duration,
    /// Measured duration of the fleet test, after one interval of warm-up.
    pub(crate) fleet_seconds: f64,
    /// Tasks (and so connections) driving the fleet.
    pub(crate) fleet_workers: usize,
    /// Connections in the saturation test.
    pub(crate) concurrency: usize,
    /// Saturation warm-up and measured durations, per server.
    pub(crate) sat_warmup_seconds: f64,
    pub(crate) sat_seconds: f64,
    pub(crate) gpus_per_host: u32,
    /// Safety net: no test sends more than this many requests.
    pub(crate) max_requests: u64,
    pub(crate) seed: u64,
    /// Run without `--bench` (e.g. `cargo test --benches`): a seconds-long
    /// check that the bench still works, not a measurement; writes no JSON.
    pub(crate) smoke: bool,
}

impl Settings {
    pub(crate) fn from_env(smoke: bool) -> anyhow::Result<Settings> {
        // (full run, smoke run) defaults.
        let pick = |full: f64, quick: f64| if smoke { quick } else { full };
        let s = Settings {
            hosts: env_or("BENCH_HOSTS", if smoke { 200 } else { 10_000 })?,
            interval: Duration::from_secs_f64(env_or("BENCH_INTERVAL_SECONDS", pick(3.0, 1.0))?),
            fleet_seconds: env_or("BENCH_SECONDS", pick(15.0, 1.0))?,
            // Enough workers that each sends only a few heartbeats a second, so
            // the generator's own queueing stays out of the latencies.
            fleet_workers: env_or("BENCH_FLEET_WORKERS", if smoke { 50 } else { 1000 })?,
            concurrency: env_or("BENCH_CONCURRENCY", if smoke { 8 } else { 64 })?,
            sat_warmup_seconds: env_or("BENCH_SAT_WARMUP_SECONDS", pick(1.0, 0.2))?,
            sat_seconds: env_or("BENCH_SAT_SECONDS", pick(5.0, 0.5))?,
            gpus_per_host: env_or("BENCH_GPUS", 8)?,
            max_requests: env_or("BENCH_MAX_REQUESTS", 5_000_000)?,
            seed: env_or("BENCH_SEED", 1)?,
            smoke,
        };
        if s.hosts == 0 || s.hosts > 99_999 {
            bail!("BENCH_HOSTS must be 1..=99999 (host ids are bench-NNNNN)");
        }
        if s.concurrency == 0 || s.fleet_workers == 0 {
            bail!("BENCH_CONCURRENCY and BENCH_FLEET_WORKERS must be at least 1");
        }
        if s.interval.is_zero()
            || s.fleet_seconds <= 0.0
            || s.sat_seconds <= 0.0
            || s.sat_warmup_seconds < 0.0
        {
            bail!("durations must be positive");
        }
        if s.gpus_per_host > trainyard_core::heartbeat::MAX_GPUS_PER_HOST as u32 {
            bail!(
                "BENCH_GPUS is above the server's limit of {}",
                trainyard_core::heartbeat::MAX_GPUS_PER_HOST
            );
        }
        Ok(s)
    }
}
