//! The heartbeat an agent posts every few seconds: who it is and what its
//! hardware is doing right now.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ids::{validate_host_id, HostIdError};

mod reuse;

/// Most GPUs one heartbeat may describe.
pub const MAX_GPUS_PER_HOST: usize = 64;
/// Most GPU processes listed per GPU.
pub const MAX_PROCESSES_PER_GPU: usize = 256;
/// Longest free-text field (names, versions) in bytes.
pub const MAX_TEXT_LEN: usize = 256;

/// One agent report. Sent to `POST /api/v1/agents/heartbeat`.
///
/// `Default` is an empty shell (protocol version 0, which no server
/// accepts) to parse into with [`Heartbeat::deserialize_reusing`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Protocol version the agent speaks (see [`crate::protocol`]).
    pub protocol_version: u32,
    /// Stable identity of the host, chosen by the operator (`--host-id`).
    pub host_id: String,
    /// The machine's own hostname, for display.
    #[serde(default)]
    pub hostname: String,
    /// Version of the agent binary.
    #[serde(default)]
    pub agent_version: String,
    /// CPU, memory and disk.
    #[serde(default)]
    pub system: SystemStats,
    /// One entry per GPU, in device index order. Empty on a GPU-less host.
    #[serde(default)]
    pub gpus: Vec<GpuStats>,
    /// Why GPU telemetry is missing, if it is (e.g. "NVML not found").
    #[serde(default)]
    pub gpu_error: Option<String>,
}

/// The server's answer to an accepted heartbeat: small on purpose, since
/// every host sends one every few seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatAck {
    /// Server wall-clock time (Unix ms) when the heartbeat was recorded.
    pub server_time_ms: i64,
}

/// Host-level resource usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemStats {
    /// Average CPU use over all cores, 0–100.
    #[serde(default)]
    pub cpu_percent: f32,
    /// Logical CPU count.
    #[serde(default)]
    pub cpu_count: u32,
    #[serde(default)]
    pub memory_used_bytes: u64,
    #[serde(default)]
    pub memory_total_bytes: u64,
    /// Disk holding the agent's work directory.
    #[serde(default)]
    pub disk_used_bytes: u64,
    #[serde(default)]
    pub disk_total_bytes: u64,
}

/// One GPU's live state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuStats {
    /// Device index as CUDA numbers it (`CUDA_VISIBLE_DEVICES`).
    pub index: u32,
    #[serde(default)]
    pub uuid: String,
    #[serde(default)]
    pub name: String,
    /// Compute utilization, 0–100.
    #[serde(default)]
    pub utilization_percent: f32,
    #[serde(default)]
    pub memory_used_bytes: u64,
    #[serde(default)]
    pub memory_total_bytes: u64,
    #[serde(default)]
    pub temperature_c: Option<f32>,
    #[serde(default)]
    pub power_watts: Option<f32>,
    #[serde(default)]
    pub power_limit_watts: Option<f32>,
    /// Processes holding memory on this GPU.
    #[serde(default)]
    pub processes: Vec<GpuProcess>,
}

/// A process using a GPU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuProcess {
    pub pid: u32,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub memory_bytes: u64,
}

/// What makes a heartbeat unacceptable; every variant names the field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum HeartbeatError {
    #[error("host_id: {0}")]
    HostId(#[from] HostIdError),
    #[error("gpus: {0} GPUs reported; at most {MAX_GPUS_PER_HOST} are accepted")]
    TooManyGpus(usize),
    #[error("gpus[{position}].index is {index}, already used by an earlier GPU")]
    DuplicateGpuIndex { position: usize, index: u32 },
    #[error("gpus[{position}].processes: {count} processes; at most {MAX_PROCESSES_PER_GPU} are accepted")]
    TooManyProcesses { position: usize, count: usize },
    #[error("{field}: {value} is outside {min}..={max}")]
    OutOfRange {
        field: String,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("{field}: used ({used}) is larger than total ({total})")]
    UsedOverTotal {
        field: String,
        used: u64,
        total: u64,
    },
    #[error("{field}: longer than {MAX_TEXT_LEN} bytes")]
    TextTooLong { field: String },
}

fn check_range(
    field: impl Fn() -> String,
    value: f32,
    min: f32,
    max: f32,
) -> Result<(), HeartbeatError> {
    // NaN fails both comparisons, so it is refused too.
    if value >= min && value <= max {
        Ok(())
    } else {
        Err(HeartbeatError::OutOfRange {
            field: field(),
            value: f64::from(value),
            min: f64::from(min),
            max: f64::from(max),
        })
    }
}

fn check_used(field: impl Fn() -> String, used: u64, total: u64) -> Result<(), HeartbeatError> {
    if used <= total {
        Ok(())
    } else {
        Err(HeartbeatError::UsedOverTotal {
            field: field(),
            used,
            total,
        })
    }
}

fn check_text(field: impl Fn() -> String, text: &str) -> Result<(), HeartbeatError> {
    if text.len() <= MAX_TEXT_LEN {
        Ok(())
    } else {
        Err(HeartbeatError::TextTooLong { field: field() })
    }
}

impl Heartbeat {
    /// Checks everything the server stores or shows; the first problem wins.
    pub fn validate(&self) -> Result<(), HeartbeatError> {
        validate_host_id(&self.host_id)?;
        check_text(|| "hostname".into(), &self.hostname)?;
        check_text(|| "agent_version".into(), &self.agent_version)?;
        if let Some(e) = &self.gpu_error {
            check_text(|| "gpu_error".into(), e)?;
        }
        let s = &self.system;
        check_range(|| "system.cpu_percent".into(), s.cpu_percent, 0.0, 100.0)?;
        check_used(
            || "system.memory_used_bytes".into(),
            s.memory_used_bytes,
            s.memory_total_bytes,
        )?;
        check_used(
            || "system.disk_used_bytes".into(),
            s.disk_used_bytes,
            s.disk_total_bytes,
        )?;
        if self.gpus.len() > MAX_GPUS_PER_HOST {
            return Err(HeartbeatError::TooManyGpus(self.gpus.len()));
        }
        let mut seen = Vec::with_capacity(self.gpus.len());
        for (position, gpu) in self.gpus.iter().enumerate() {
            if seen.contains(&gpu.index) {
                return Err(HeartbeatError::DuplicateGpuIndex {
                    position,
                    index: gpu.index,
                });
            }
            seen.push(gpu.index);
            gpu.validate(position)?;
        }
        Ok(())
    }
}

impl GpuStats {
    fn validate(&self, position: usize) -> Result<(), HeartbeatError> {
        let at = |name: &str| format!("gpus[{position}].{name}");
        check_text(|| at("name"), &self.name)?;
        check_text(|| at("uuid"), &self.uuid)?;
        check_range(
            || at("utilization_percent"),
            self.utilization_percent,
            0.0,
            100.0,
        )?;
        check_used(
            || at("memory_used_bytes"),
            self.memory_used_bytes,
            self.memory_total_bytes,
        )?;
        if let Some(t) = self.temperature_c {
            check_range(|| at("temperature_c"), t, -50.0, 200.0)?;
        }
        if let Some(p) = self.power_watts {
            check_range(|| at("power_watts"), p, 0.0, 10_000.0)?;
        }
        if let Some(p) = self.power_limit_watts {
            check_range(|| at("power_limit_watts"), p, 0.0, 10_000.0)?;
        }
        if self.processes.len() > MAX_PROCESSES_PER_GPU {
            return Err(HeartbeatError::TooManyProcesses {
                position,
                count: self.processes.len(),
            });
        }
        for (i, p) in self.processes.iter().enumerate() {
            check_text(|| format!("gpus[{position}].processes[{i}].name"), &p.name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PROTOCOL_VERSION;

    fn sample() -> Heartbeat {
        Heartbeat {
            protocol_version: PROTOCOL_VERSION,
            host_id: "gpu-01".into(),
            hostname: "gpu-01.lab".into(),
            agent_version: "0.1.0".into(),
            system: SystemStats {
                cpu_percent: 12.5,
                cpu_count: 16,
                memory_used_bytes: 8,
                memory_total_bytes: 16,
                disk_used_bytes: 1,
                disk_total_bytes: 2,
            },
            gpus: vec![GpuStats {
                index: 0,
                name: "Fake A100".into(),
                utilization_percent: 50.0,
                memory_used_bytes: 1,
                memory_total_bytes: 2,
                temperature_c: Some(60.0),
                power_watts: Some(200.0),
                ..Default::default()
            }],
            gpu_error: None,
        }
    }

    #[test]
    fn a_plausible_heartbeat_is_valid() {
        assert_eq!(sample().validate(), Ok(()));
    }

    #[test]
    fn minimal_json_from_an_older_agent_still_parses() {
        let hb: Heartbeat =
            serde_json::from_str(r#"{"protocol_version":1,"host_id":"h"}"#).expect("it parses");
        assert!(hb.gpus.is_empty());
        assert_eq!(hb.validate(), Ok(()));
    }

    #[test]
    fn errors_name_the_offending_field() {
        let mut hb = sample();
        hb.gpus[0].utilization_percent = f32::NAN;
        let msg = hb
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.starts_with("gpus[0].utilization_percent"), "{msg}");

        let mut hb = sample();
        hb.system.memory_used_bytes = 99;
        let msg = hb
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("system.memory_used_bytes"), "{msg}");

        let mut hb = sample();
        hb.gpus.push(hb.gpus[0].clone());
        assert_eq!(
            hb.validate(),
            Err(HeartbeatError::DuplicateGpuIndex {
                position: 1,
                index: 0
            })
        );

        let mut hb = sample();
        hb.host_id = "../x".into();
        assert!(matches!(hb.validate(), Err(HeartbeatError::HostId(_))));

        let mut hb = sample();
        hb.gpus = (0..65)
            .map(|i| GpuStats {
                index: i,
                ..Default::default()
            })
            .collect();
        assert_eq!(hb.validate(), Err(HeartbeatError::TooManyGpus(65)));
    }
}
