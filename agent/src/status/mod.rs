//! The agent's status file, `<work dir>/agent.state.json`: who runs on this
//! work dir, since when, how its link to the server is, and which jobs it
//! holds. The running agent keeps it current (`writer`); `trainyard-agent
//! --status` and `--stop --drain` read it.

mod board;
mod writer;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(crate) use board::LinkBoard;
pub(crate) use writer::{keep_written, remove, Fixed};

/// Name of the status file inside the work dir.
pub const STATUS_FILE: &str = "agent.state.json";

/// What the status file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    /// The agent's process id.
    pub pid: u32,
    /// The agent's version.
    pub version: String,
    pub host_id: String,
    /// The work dir, absolute.
    pub work_dir: PathBuf,
    /// When the agent started (Unix ms).
    pub started_ms: u64,
    /// When this file was last written (Unix ms).
    pub updated_ms: u64,
    /// True once the agent takes no new work and waits for its jobs.
    pub draining: bool,
    /// The servers the agent works for, in the order they were given.
    pub servers: Vec<ServerStatus>,
    /// Every attempt the agent holds, running or still being reported.
    pub jobs: Vec<JobStatus>,
}

/// The link to one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerStatus {
    pub url: String,
    pub link: Link,
    /// The last heartbeat the server accepted (Unix ms).
    pub last_contact_ms: Option<u64>,
    /// Why the last heartbeat failed, while the link is not connected.
    pub error: Option<String>,
}

/// How the last heartbeat went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// No heartbeat answered yet.
    Starting,
    /// The last heartbeat was accepted.
    Connected,
    /// The server could not be reached (network error, 5xx, timeout).
    Unreachable,
    /// The server answered and refused the heartbeat.
    Refused,
}

/// One attempt the agent holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStatus {
    pub job_id: i64,
    pub attempt: u32,
    pub gpus: Vec<u32>,
    /// False once the process ended and only its report is outstanding.
    pub process_running: bool,
    /// The URL of the server whose job it is (absent in files written by
    /// agents from before several servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
}

/// Reads the status file of the agent on `work_dir`.
pub fn read(work_dir: &Path) -> Result<AgentStatus, String> {
    let path = work_dir.join(STATUS_FILE);
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not a status file: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_file_reads_back_and_garbage_is_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let status = AgentStatus {
            pid: 42,
            version: "1.0".into(),
            host_id: "gpu-1".into(),
            work_dir: dir.path().to_path_buf(),
            started_ms: 1,
            updated_ms: 2,
            draining: true,
            servers: vec![ServerStatus {
                url: "http://s".into(),
                link: Link::Unreachable,
                last_contact_ms: None,
                error: Some("connection refused".into()),
            }],
            jobs: vec![JobStatus {
                job_id: 7,
                attempt: 2,
                gpus: vec![0, 1],
                process_running: true,
                server: Some("http://s".into()),
            }],
        };
        let json = serde_json::to_vec(&status).unwrap_or_default();
        std::fs::write(dir.path().join(STATUS_FILE), json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(dir.path()), Ok(status));
        std::fs::write(dir.path().join(STATUS_FILE), "{").unwrap_or_else(|e| panic!("{e}"));
        let error = read(dir.path()).err().unwrap_or_default();
        assert!(error.contains("is not a status file"), "{error}");
    }
}
