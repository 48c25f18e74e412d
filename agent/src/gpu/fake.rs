//! Simulated GPUs for demos and tests (`--fake-gpus N`): values that move
//! like a real training box — idle stretches, busy stretches with a job
//! holding memory, temperature and power following the load.

use std::f64::consts::TAU;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use trainyard_core::heartbeat::MAX_GPUS_PER_HOST;
use trainyard_core::{GpuProcess, GpuStats};

use super::{GpuReadError, GpuReader};

const GIB: u64 = 1024 * 1024 * 1024;
const MEMORY_TOTAL_BYTES: u64 = 80 * GIB;
/// What the driver holds on an idle card.
const IDLE_MEMORY_BYTES: u64 = GIB / 2;
const IDLE_TEMPERATURE_C: f64 = 35.0;
const MAX_TEMPERATURE_C: f64 = 85.0;
const IDLE_POWER_W: f64 = 60.0;
const POWER_LIMIT_W: f64 = 400.0;
/// Reads per idle→busy→idle cycle for GPU 0; later GPUs cycle a bit slower
/// (and start at a different phase) so a UI shows them moving independently.
/// At the default 3 s heartbeat one cycle is about two minutes.
const BASE_PERIOD_READS: f64 = 40.0;
const PERIOD_STEP_READS: f64 = 11.0;
const PHASE_STEP_RADIANS: f64 = 2.4;
/// A job starts above this load and ends below the lower one (hysteresis,
/// so a job does not flicker in and out at the threshold).
const JOB_START_LOAD: f64 = 0.3;
const JOB_END_LOAD: f64 = 0.1;

/// Simulated GPUs; see the module docs.
pub struct FakeGpuReader {
    gpus: Vec<FakeGpu>,
    rng: SmallRng,
    tick: u64,
}

/// One simulated card's slowly changing state.
struct FakeGpu {
    index: u32,
    period: f64,
    phase: f64,
    /// Smoothed load, 0 (idle) to 1 (flat out).
    load: f64,
    memory_fraction: f64,
    temperature_c: f64,
    job_pid: Option<u32>,
}

impl FakeGpuReader {
    /// `count` simulated GPUs (at most the 64 a heartbeat may carry).
    pub fn new(count: u32) -> Self {
        Self::build(count, SmallRng::from_os_rng())
    }

    /// Same as [`new`](Self::new) but reproducible, for tests.
    pub fn with_seed(count: u32, seed: u64) -> Self {
        Self::build(count, SmallRng::seed_from_u64(seed))
    }

    fn build(count: u32, rng: SmallRng) -> Self {
        let count = count.min(u32::try_from(MAX_GPUS_PER_HOST).unwrap_or(u32::MAX));
        let gpus = (0..count)
            .map(|index| FakeGpu {
                index,
                period: BASE_PERIOD_READS + PERIOD_STEP_READS * f64::from(index),
                phase: PHASE_STEP_RADIANS * f64::from(index),
                load: 0.0,
                memory_fraction: IDLE_MEMORY_BYTES as f64 / MEMORY_TOTAL_BYTES as f64,
                temperature_c: IDLE_TEMPERATURE_C,
                job_pid: None,
            })
            .collect();
        Self { gpus, rng, tick: 0 }
    }
}

impl GpuReader for FakeGpuReader {
    fn read(&mut self) -> Result<Vec<GpuStats>, GpuReadError> {
        self.tick += 1;
        let tick = self.tick as f64;
        let rng = &mut self.rng;
        Ok(self
            .gpus
            .iter_mut()
            .map(|gpu| gpu.step(tick, rng))
            .collect())
    }
}

impl FakeGpu {
    /// Advances the simulation one read and reports the new state.
    fn step(&mut self, tick: f64, rng: &mut SmallRng) -> GpuStats {
        // A sine stretched and clipped into plateaus: long idle and busy
        // stretches with ramps between, plus noise so it never looks canned.
        let wave = (TAU * tick / self.period + self.phase).sin();
        let target = ((wave + 0.2) * 1.5 + rng.random_range(-0.1..0.1)).clamp(0.0, 1.0);
        self.load += (target - self.load) * 0.5;

        if self.job_pid.is_none() && self.load > JOB_START_LOAD {
            self.job_pid = Some(rng.random_range(20_000..60_000));
        } else if self.job_pid.is_some() && self.load < JOB_END_LOAD {
            self.job_pid = None;
        }

        let idle_fraction = IDLE_MEMORY_BYTES as f64 / MEMORY_TOTAL_BYTES as f64;
        // A job holds most of its memory even when its kernels pause.
        let memory_target = if self.job_pid.is_some() {
            0.3 + 0.6 * self.load
        } else {
            idle_fraction
        };
        self.memory_fraction += (memory_target - self.memory_fraction) * 0.3;
        // Temperature lags the load: silicon takes a while to heat up.
        let temperature_target =
            IDLE_TEMPERATURE_C + (MAX_TEMPERATURE_C - IDLE_TEMPERATURE_C) * self.load;
        self.temperature_c += (temperature_target - self.temperature_c) * 0.2;

        let utilization = (self.load * 100.0 + rng.random_range(-3.0..3.0)).clamp(0.0, 100.0);
        let power = (IDLE_POWER_W
            + (POWER_LIMIT_W - IDLE_POWER_W) * self.load
            + rng.random_range(-8.0..8.0))
        .clamp(IDLE_POWER_W, POWER_LIMIT_W);
        let temperature = (self.temperature_c + rng.random_range(-0.5..0.5))
            .clamp(IDLE_TEMPERATURE_C, MAX_TEMPERATURE_C);
        let memory_used = ((self.memory_fraction.clamp(0.0, 1.0) * MEMORY_TOTAL_BYTES as f64)
            as u64)
            .min(MEMORY_TOTAL_BYTES);

        GpuStats {
            index: self.index,
            uuid: format!("GPU-fa4e0000-0000-4000-8000-{:012x}", self.index),
            name: "Fake A100 80GB".into(),
            utilization_percent: utilization as f32,
            memory_used_bytes: memory_used,
            memory_total_bytes: MEMORY_TOTAL_BYTES,
            temperature_c: Some(temperature as f32),
            power_watts: Some(power as f32),
            power_limit_watts: Some(POWER_LIMIT_W as f32),
            processes: self
                .job_pid
                .map(|pid| GpuProcess {
                    pid,
                    name: "python".into(),
                    memory_bytes: memory_used.saturating_sub(IDLE_MEMORY_BYTES),
                })
                .into_iter()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::{Heartbeat, PROTOCOL_VERSION};

    const READS: usize = 1000;

    fn heartbeat_with(gpus: Vec<GpuStats>) -> Heartbeat {
        Heartbeat {
            protocol_version: PROTOCOL_VERSION,
            host_id: "fake-host".into(),
            hostname: "fake-host".into(),
            agent_version: "test".into(),
            system: Default::default(),
            gpus,
            gpu_error: None,
        }
    }

    fn many_reads(count: u32, seed: u64) -> Vec<Vec<GpuStats>> {
        let mut reader = FakeGpuReader::with_seed(count, seed);
        (0..READS)
            .map(|_| reader.read().unwrap_or_default())
            .collect()
    }

    #[test]
    fn every_read_is_a_valid_heartbeat_within_physical_ranges() {
        for (n, gpus) in many_reads(4, 7).into_iter().enumerate() {
            assert_eq!(gpus.len(), 4);
            for gpu in &gpus {
                let temperature = gpu.temperature_c.unwrap_or(f32::NAN);
                let power = gpu.power_watts.unwrap_or(f32::NAN);
                assert!((35.0..=85.0).contains(&temperature), "read {n}: {gpu:?}");
                assert!((60.0..=400.0).contains(&power), "read {n}: {gpu:?}");
                assert_eq!(gpu.power_limit_watts, Some(400.0));
                assert_eq!(gpu.memory_total_bytes, 80 * GIB);
            }
            let heartbeat = heartbeat_with(gpus);
            assert_eq!(heartbeat.validate(), Ok(()), "read {n}: {heartbeat:?}");
        }
    }

    #[test]
    fn values_wander_between_idle_and_busy_with_jobs_when_busy() {
        let reads = many_reads(1, 3);
        let utilization: Vec<f32> = reads.iter().map(|g| g[0].utilization_percent).collect();
        assert!(utilization.iter().any(|&u| u < 10.0), "never idle");
        assert!(utilization.iter().any(|&u| u > 90.0), "never busy");
        assert!(
            utilization.windows(2).filter(|w| w[0] != w[1]).count() > READS / 2,
            "barely changes"
        );
        assert!(reads.iter().any(|g| g[0].processes.is_empty()));
        assert!(reads
            .iter()
            .any(|g| g[0].processes.first().is_some_and(|p| p.name == "python")));
        // Smooth: no jump from idle to flat out between neighbouring reads.
        assert!(utilization.windows(2).all(|w| (w[0] - w[1]).abs() < 60.0));
    }

    #[test]
    fn gpus_move_independently() {
        let reads = many_reads(2, 11);
        let differing = reads
            .iter()
            .filter(|g| (g[0].utilization_percent - g[1].utilization_percent).abs() > 20.0)
            .count();
        assert!(
            differing > READS / 10,
            "GPU 0 and 1 look the same ({differing} reads differ)"
        );
        assert_ne!(reads[0][0].uuid, reads[0][1].uuid);
        assert_eq!(reads[0][1].index, 1);
    }

    #[test]
    fn absurd_counts_are_capped_to_what_a_heartbeat_allows() {
        let mut reader = FakeGpuReader::with_seed(u32::MAX, 1);
        assert_eq!(reader.read().map(|g| g.len()), Ok(MAX_GPUS_PER_HOST));
        assert_eq!(FakeGpuReader::new(0).read(), Ok(Vec::new()));
    }
}
