//! Last line of defence before GPU stats leave the agent: whatever a driver
//! or simulation produced, force it inside what `Heartbeat::validate()`
//! accepts, so one odd sensor never costs a whole heartbeat.

use trainyard_core::heartbeat::{MAX_GPUS_PER_HOST, MAX_PROCESSES_PER_GPU};
use trainyard_core::GpuStats;

use crate::heartbeat::sanitize::{clamp_percent, plausible, truncate_text};

/// Bounds `validate()` puts on temperatures (°C) and power (W).
const TEMPERATURE_RANGE: (f32, f32) = (-50.0, 200.0);
const POWER_RANGE: (f32, f32) = (0.0, 10_000.0);

/// Clamps numbers, truncates text and lists, and drops duplicate indices.
pub(crate) fn sanitize_gpus(gpus: Vec<GpuStats>) -> Vec<GpuStats> {
    let mut seen = Vec::with_capacity(gpus.len());
    gpus.into_iter()
        .filter(|gpu| {
            let fresh = !seen.contains(&gpu.index);
            seen.push(gpu.index);
            fresh
        })
        .take(MAX_GPUS_PER_HOST)
        .map(sanitize_gpu)
        .collect()
}

fn sanitize_gpu(mut gpu: GpuStats) -> GpuStats {
    gpu.name = truncate_text(gpu.name);
    gpu.uuid = truncate_text(gpu.uuid);
    gpu.utilization_percent = clamp_percent(gpu.utilization_percent);
    gpu.memory_used_bytes = gpu.memory_used_bytes.min(gpu.memory_total_bytes);
    let (t_min, t_max) = TEMPERATURE_RANGE;
    let (p_min, p_max) = POWER_RANGE;
    gpu.temperature_c = gpu.temperature_c.and_then(|t| plausible(t, t_min, t_max));
    gpu.power_watts = gpu.power_watts.and_then(|p| plausible(p, p_min, p_max));
    gpu.power_limit_watts = gpu
        .power_limit_watts
        .and_then(|p| plausible(p, p_min, p_max));
    gpu.processes.truncate(MAX_PROCESSES_PER_GPU);
    for process in &mut gpu.processes {
        process.name = truncate_text(std::mem::take(&mut process.name));
    }
    gpu
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::{GpuProcess, Heartbeat, PROTOCOL_VERSION};

    #[test]
    fn nonsense_from_a_driver_becomes_a_valid_heartbeat() {
        let wild = GpuStats {
            index: 0,
            name: "x".repeat(1000),
            utilization_percent: f32::NAN,
            memory_used_bytes: 10,
            memory_total_bytes: 5,
            temperature_c: Some(4000.0),
            power_watts: Some(-1.0),
            power_limit_watts: Some(f32::INFINITY),
            processes: vec![
                GpuProcess {
                    pid: 1,
                    name: "p".repeat(999),
                    memory_bytes: 1
                };
                300
            ],
            ..Default::default()
        };
        let mut gpus = vec![wild.clone(), wild];
        gpus.extend((1..100).map(|index| GpuStats {
            index,
            ..Default::default()
        }));
        let heartbeat = Heartbeat {
            protocol_version: PROTOCOL_VERSION,
            host_id: "h".into(),
            hostname: String::new(),
            agent_version: String::new(),
            system: Default::default(),
            gpus: sanitize_gpus(gpus),
            gpu_error: None,
        };
        assert_eq!(heartbeat.validate(), Ok(()));
        assert_eq!(heartbeat.gpus.len(), MAX_GPUS_PER_HOST);
        assert_eq!(heartbeat.gpus[0].temperature_c, None);
    }
}
