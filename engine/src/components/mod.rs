//! Components: the lab's code, versioned in a content-addressed,
//! append-only store; what each attempt ran with (manifests); and the plan
//! that brings a worker's copies in line before a job starts, with the
//! conflicts a person resolves. The decision rules are
//! `trainyard_core::components`; the SQL is `store/components.rs`.
//!
//! Uploading code is code execution on every worker, so every upload and
//! activation names who did it and from where (the audit log), and the
//! agent only writes content whose hash it has checked.

mod manifests;
mod notices;
mod plan;
mod scan;
mod versions;

use std::path::PathBuf;
use std::sync::Arc;

use trainyard_core::components::{StorePath, MAX_COMPONENT_BYTES};
use trainyard_core::sync::xxh3_hex;

use crate::clock::Clock;
use crate::error::EngineError;
use crate::events::EventBus;
use crate::store::Store;

/// Who changes the store, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `api key`, `ui`, `scan`, `agent gpu-01 (job 12)`.
    pub who: String,
    /// Where the request came from (an address), or `server`.
    pub origin: String,
}

impl Actor {
    /// The server itself (startup scans, tests).
    pub fn server(who: &str) -> Actor {
        Actor {
            who: who.to_string(),
            origin: "server".to_string(),
        }
    }
}

/// The components domain.
pub(crate) struct Components {
    /// `--components-dir`: a CVLab-Kit tree the scan reads.
    dir: Option<PathBuf>,
    store: Store,
    bus: Arc<EventBus>,
    clock: Clock,
}

impl Components {
    pub fn new(dir: Option<PathBuf>, store: Store, bus: Arc<EventBus>, clock: Clock) -> Components {
        Components {
            dir,
            store,
            bus,
            clock,
        }
    }
}

/// Checks text offered to the store and returns its hash.
fn checked_content(path: &str, content: &str) -> Result<String, EngineError> {
    if content.len() > MAX_COMPONENT_BYTES {
        return Err(EngineError::ComponentTooLarge {
            path: path.chars().take(200).collect(),
            size: content.len() as u64,
            limit: MAX_COMPONENT_BYTES as u64,
        });
    }
    Ok(xxh3_hex(content.as_bytes()))
}

/// A store path from a request, or a 400 naming the valid categories.
fn store_path(text: &str) -> Result<StorePath, EngineError> {
    text.parse().map_err(|e| EngineError::BadComponentPath {
        path: text.chars().take(200).collect(),
        message: format!("{e}"),
    })
}

/// A hash from a request: 16 lowercase hex digits.
fn checked_hash(hash: &str) -> Result<String, EngineError> {
    let ok = hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(hash.to_ascii_lowercase())
    } else {
        Err(EngineError::ComponentNotFound(
            hash.chars().take(64).collect(),
        ))
    }
}
