//! Server status as shown on the Dashboard and by `GET /api/v1/health`.

use serde::{Deserialize, Serialize};

/// Summary of the server and its fleet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerStatus {
    /// Always "ok" when the server can answer.
    pub status: String,
    pub version: String,
    pub protocol_version: u32,
    /// Server wall-clock time (Unix ms) when this was computed.
    pub server_time_ms: i64,
    pub uptime_secs: u64,
    pub hosts_healthy: usize,
    pub hosts_stale: usize,
    pub hosts_disconnected: usize,
    /// GPUs on healthy hosts.
    pub gpus_total: usize,
    /// GPUs on healthy hosts that are idle with nearly empty memory.
    pub gpus_free: usize,
    /// Whether the API requires a bearer token.
    pub auth_required: bool,
    /// Seconds of silence before a host is stale, and before it is disconnected.
    pub stale_after_secs: u64,
    pub disconnected_after_secs: u64,
}
