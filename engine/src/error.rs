//! Everything the engine can refuse or fail at.

use std::path::PathBuf;

use thiserror::Error;
use trainyard_core::{HeartbeatError, HostHealth};

#[derive(Debug, Error)]
pub enum EngineError {
    /// The agent speaks a protocol version this server does not accept.
    #[error("agent speaks protocol version {got}; this server accepts {accepted}. Install matching versions of trainyard and trainyard-agent")]
    ProtocolMismatch { got: u32, accepted: String },
    #[error("invalid heartbeat: {0}")]
    InvalidHeartbeat(#[from] HeartbeatError),
    #[error("no host with id {0:?}")]
    HostNotFound(String),
    #[error("host {host_id:?} is {}; only disconnected hosts can be removed (stop its agent first)", health.label())]
    HostNotDisconnected { host_id: String, health: HostHealth },
    #[error("data dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl EngineError {
    /// `Ok` if an agent speaking `version` is accepted, else `ProtocolMismatch`.
    pub fn check_protocol(version: u32) -> Result<(), EngineError> {
        if trainyard_core::protocol::is_supported(version) {
            Ok(())
        } else {
            Err(EngineError::ProtocolMismatch {
                got: version,
                accepted: trainyard_core::protocol::supported_range(),
            })
        }
    }
}
