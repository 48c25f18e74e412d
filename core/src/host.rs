//! A host as the server shows it: identity, health and the last heartbeat.

use serde::{Deserialize, Serialize};

use crate::health::HostHealth;
use crate::heartbeat::{GpuStats, Heartbeat, SystemStats};
use crate::protocol::PROTOCOL_VERSION;

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

impl AsRef<HostView> for HostView {
    fn as_ref(&self) -> &HostView {
        self
    }
}

impl HostView {
    /// The heartbeat this view shows, built from the view's own strings and
    /// lists: the server parses the next heartbeat into these buffers
    /// ([`Heartbeat::deserialize_reusing`]) instead of freeing them.
    pub fn into_heartbeat(self) -> Heartbeat {
        Heartbeat {
            protocol_version: PROTOCOL_VERSION,
            host_id: self.host_id,
            hostname: self.hostname,
            agent_version: self.agent_version,
            system: self.system,
            gpus: self.gpus,
            gpu_error: self.gpu_error,
        }
    }

    /// GPUs whose memory is nearly empty and compute idle: free for new work.
    pub fn free_gpu_count(&self) -> usize {
        self.gpus.iter().filter(|g| gpu_is_free(g)).count()
    }
}

/// Hosts per health state, and GPUs on healthy hosts: the fleet at a glance.
/// Computed the same way by the server (Dashboard API) and the browser (live).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetCounts {
    pub healthy: usize,
    pub stale: usize,
    pub disconnected: usize,
    /// GPUs on healthy hosts (a silent host's GPUs can't take work).
    pub gpus_total: usize,
    /// Of those, the idle ones ([`gpu_is_free`]).
    pub gpus_free: usize,
}

impl FleetCounts {
    /// Every host the server knows, whatever its health.
    pub fn hosts(&self) -> usize {
        self.healthy + self.stale + self.disconnected
    }

    pub fn of<'a>(hosts: impl IntoIterator<Item = &'a HostView>) -> FleetCounts {
        let mut counts = FleetCounts::default();
        for host in hosts {
            match host.health {
                HostHealth::Healthy => {
                    counts.healthy += 1;
                    counts.gpus_total += host.gpus.len();
                    counts.gpus_free += host.free_gpu_count();
                }
                HostHealth::Stale => counts.stale += 1,
                HostHealth::Disconnected => counts.disconnected += 1,
            }
        }
        counts
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

#[cfg(test)]
mod tests {
    use super::*;

    fn host(health: HostHealth, busy: &[bool]) -> HostView {
        HostView {
            host_id: "h".into(),
            hostname: String::new(),
            agent_version: String::new(),
            health,
            last_seen_ms: 0,
            first_seen_ms: 0,
            system: SystemStats::default(),
            gpus: busy
                .iter()
                .enumerate()
                .map(|(i, &b)| GpuStats {
                    index: i as u32,
                    utilization_percent: if b { 90.0 } else { 0.0 },
                    memory_total_bytes: 100,
                    ..Default::default()
                })
                .collect(),
            gpu_error: None,
        }
    }

    #[test]
    fn only_healthy_hosts_contribute_gpus() {
        let hosts = [
            host(HostHealth::Healthy, &[true, false]),
            host(HostHealth::Stale, &[false]),
            host(HostHealth::Disconnected, &[false, false]),
        ];
        let counts = FleetCounts::of(&hosts);
        assert_eq!(
            counts,
            FleetCounts {
                healthy: 1,
                stale: 1,
                disconnected: 1,
                gpus_total: 2,
                gpus_free: 1
            }
        );
    }
}
