//! The simulated fleet: host ids and the heartbeats they send.

use axum::body::Bytes;
use trainyard_core::{GpuProcess, GpuStats, Heartbeat, SystemStats, PROTOCOL_VERSION};

/// splitmix64: a few lines instead of a dependency, and the same seed gives the
/// same fleet (values and phases) on every run.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }
}

pub(crate) fn host_id(i: usize) -> String {
    format!("bench-{:05}", i + 1)
}

/// One serialized heartbeat per host, `bench-00001` first, all drawn from `seed`.
pub(crate) fn heartbeat_bodies(hosts: usize, gpus: u32, seed: u64) -> anyhow::Result<Vec<Bytes>> {
    let mut rng = Rng::new(seed);
    let bodies = (0..hosts)
        .map(|i| serde_json::to_vec(&heartbeat(i, gpus, &mut rng)).map(Bytes::from))
        .collect::<Result<_, _>>()?;
    Ok(bodies)
}

/// A heartbeat like an 8×H100 training node sends: roughly three in four GPUs
/// busy with one process each, the rest idle.
fn heartbeat(i: usize, gpus: u32, rng: &mut Rng) -> Heartbeat {
    const GIB: u64 = 1 << 30;
    const H100_MEMORY: u64 = 81_559 * 1024 * 1024;
    let id = host_id(i);
    let memory_total = 2048 * GIB;
    let disk_total = 7_680_000_000_000;
    Heartbeat {
        protocol_version: PROTOCOL_VERSION,
        hostname: format!("{id}.cluster.internal"),
        host_id: id,
        agent_version: "0.1.0".into(),
        system: SystemStats {
            cpu_percent: rng.range(50, 950) as f32 / 10.0,
            cpu_count: 224,
            memory_used_bytes: rng.range(64 * GIB, memory_total),
            memory_total_bytes: memory_total,
            disk_used_bytes: rng.range(100 * GIB, disk_total),
            disk_total_bytes: disk_total,
        },
        gpus: (0..gpus)
            .map(|index| {
                let busy = (rng.next() & 3) != 0;
                let used = if busy {
                    rng.range(20 * GIB, H100_MEMORY)
                } else {
                    0
                };
                GpuStats {
                    index,
                    uuid: format!(
                        "GPU-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                        rng.next() as u32,
                        rng.next() as u16,
                        rng.next() as u16,
                        rng.next() as u16,
                        rng.next() & 0xffff_ffff_ffff
                    ),
                    name: "NVIDIA H100 80GB HBM3".into(),
                    utilization_percent: if busy { rng.range(60, 101) as f32 } else { 0.0 },
                    memory_used_bytes: used,
                    memory_total_bytes: H100_MEMORY,
                    temperature_c: Some(rng.range(30, 80) as f32),
                    power_watts: Some(if busy {
                        rng.range(3000, 6900) as f32 / 10.0
                    } else {
                        71.5
                    }),
                    power_limit_watts: Some(700.0),
                    processes: if busy {
                        vec![GpuProcess {
                            pid: rng.range(10_000, 4_000_000) as u32,
                            name: "python".into(),
                            memory_bytes: used,
                        }]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect(),
        gpu_error: None,
    }
}
