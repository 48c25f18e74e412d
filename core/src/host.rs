//! A host as the server shows it: identity, health and the last heartbeat.

use serde::{Deserialize, Serialize};

use crate::health::HostHealth;
use crate::heartbeat::{GpuStats, SystemStats};

/// One host on the Devices page and in `GET /api/v1/hosts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostView {
    pub host_id: String,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub agent_version: String,
    pub health: HostHealth,
    /// Server wall-clock time (Unix ms) of the last heartbeat received.
    pub last_seen_ms: i64,
    /// Server wall-clock time (Unix ms) of the first heartbeat ever received.
    pub first_seen_ms: i64,
    #[serde(default)]
    pub system: SystemStats,
    #[serde(default)]
    pub gpus: Vec<GpuStats>,
    #[serde(default)]
    pub gpu_error: Option<String>,
}

impl HostView {
    /// GPUs whose memory is nearly empty and compute idle: free for new work.
    pub fn free_gpu_count(&self) -> usize {
        self.gpus.iter().filter(|g| gpu_is_free(g)).count()
    }
}

/// A GPU counts as free when under 5% busy and holding under 5% of its memory.
pub fn gpu_is_free(gpu: &GpuStats) -> bool {
    let mem_fraction = if gpu.memory_total_bytes == 0 {
        0.0
    } else {
        gpu.memory_used_bytes as f64 / gpu.memory_total_bytes as f64
    };
    gpu.utilization_percent < 5.0 && mem_fraction < 0.05 && gpu.processes.is_empty()
}
