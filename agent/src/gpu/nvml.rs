//! Real GPU telemetry from the NVIDIA driver's NVML library.

use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, Nvml};
use trainyard_core::{GpuProcess, GpuStats};

use super::{GpuReadError, GpuReader};

/// Reads every GPU NVML can see. Facts that never change while the driver
/// is loaded (name, uuid, memory size, power limit) are read once at open;
/// the rest on every [`read`](GpuReader::read).
pub struct NvmlReader {
    nvml: Nvml,
    devices: Vec<StaticFacts>,
}

/// What is cached per GPU. Missing values stay missing rather than failing
/// the GPU: a card that will not say its power limit still has utilization.
#[derive(Debug, Clone)]
struct StaticFacts {
    index: u32,
    name: String,
    uuid: String,
    memory_total_bytes: u64,
    power_limit_watts: Option<f32>,
}

impl NvmlReader {
    /// Loads NVML and lists the GPUs. Fails on hosts without the NVIDIA
    /// driver (no `libnvidia-ml.so.1`), which is normal for a CPU-only host.
    pub fn open() -> Result<Self, GpuReadError> {
        let nvml = Nvml::init().map_err(|e| GpuReadError(format!("NVML unavailable: {e}")))?;
        let count = nvml
            .device_count()
            .map_err(|e| GpuReadError(format!("NVML could not count GPUs: {e}")))?;
        let devices = (0..count)
            .map(|index| StaticFacts::read(&nvml, index))
            .collect();
        Ok(Self { nvml, devices })
    }
}

impl StaticFacts {
    fn read(nvml: &Nvml, index: u32) -> Self {
        let device = nvml.device_by_index(index).ok();
        let device = device.as_ref();
        Self {
            index,
            name: device.and_then(|d| d.name().ok()).unwrap_or_default(),
            uuid: device.and_then(|d| d.uuid().ok()).unwrap_or_default(),
            memory_total_bytes: device
                .and_then(|d| d.memory_info().ok())
                .map_or(0, |m| m.total),
            power_limit_watts: device
                .and_then(|d| d.enforced_power_limit().ok())
                .map(milliwatts_to_watts),
        }
    }
}

impl GpuReader for NvmlReader {
    fn read(&mut self) -> Result<Vec<GpuStats>, GpuReadError> {
        Ok(self
            .devices
            .iter()
            .map(|facts| match self.nvml.device_by_index(facts.index) {
                Ok(device) => live_stats(facts, &device),
                // Fallen off the bus or similar: keep listing it, with no live
                // numbers, so the GPU does not silently vanish from the UI.
                Err(_) => static_only(facts),
            })
            .collect())
    }
}

fn static_only(facts: &StaticFacts) -> GpuStats {
    GpuStats {
        index: facts.index,
        uuid: facts.uuid.clone(),
        name: facts.name.clone(),
        memory_total_bytes: facts.memory_total_bytes,
        power_limit_watts: facts.power_limit_watts,
        ..Default::default()
    }
}

/// Every field read independently: one failing call blanks only its field.
fn live_stats(facts: &StaticFacts, device: &Device<'_>) -> GpuStats {
    let mut stats = static_only(facts);
    if let Ok(utilization) = device.utilization_rates() {
        stats.utilization_percent = utilization.gpu as f32;
    }
    if let Ok(memory) = device.memory_info() {
        stats.memory_used_bytes = memory.used;
        stats.memory_total_bytes = memory.total;
    }
    stats.temperature_c = device
        .temperature(TemperatureSensor::Gpu)
        .ok()
        .map(|c| c as f32);
    stats.power_watts = device.power_usage().ok().map(milliwatts_to_watts);
    stats.processes = compute_processes(device).unwrap_or_default();
    stats
}

fn compute_processes(device: &Device<'_>) -> Result<Vec<GpuProcess>, NvmlError> {
    Ok(device
        .running_compute_processes()?
        .into_iter()
        .map(|process| GpuProcess {
            pid: process.pid,
            name: process_name(process.pid),
            memory_bytes: match process.used_gpu_memory {
                UsedGpuMemory::Used(bytes) => bytes,
                UsedGpuMemory::Unavailable => 0,
            },
        })
        .collect())
}

/// The short command name from `/proc/<pid>/comm`, or empty when the process
/// is gone or lives in another PID namespace (e.g. the agent is in a container).
fn process_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|name| name.trim_end().to_string())
        .unwrap_or_default()
}

fn milliwatts_to_watts(milliwatts: u32) -> f32 {
    milliwatts as f32 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliwatts_convert_to_watts() {
        assert_eq!(milliwatts_to_watts(400_000), 400.0);
        assert_eq!(milliwatts_to_watts(0), 0.0);
    }

    #[test]
    fn our_own_process_name_is_readable() {
        assert!(!process_name(std::process::id()).is_empty());
        assert_eq!(process_name(u32::MAX), "");
    }

    #[test]
    fn open_either_works_or_explains_itself() {
        // On GPU-less machines (CI) NVML is missing: the error must be a short
        // readable sentence, not a panic. On GPU machines, every read works.
        match NvmlReader::open() {
            Ok(mut reader) => assert!(reader.read().is_ok()),
            Err(e) => assert!(e.0.starts_with("NVML"), "{e}"),
        }
    }
}
