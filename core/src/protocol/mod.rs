//! The REST contract between the server and its clients: the protocol
//! version, every route ([`paths`]) and every error code ([`codes`]).

pub mod codes;
pub mod paths;

use serde::{Deserialize, Serialize};

/// Version of the agent ↔ server protocol this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Oldest agent protocol version the server still accepts.
pub const MIN_SUPPORTED_PROTOCOL: u32 = 1;

/// Response header carrying the server's protocol version on every `/api/v1` answer.
pub const PROTOCOL_HEADER: &str = "x-trainyard-protocol";

/// Largest heartbeat body the server reads, in bytes.
pub const MAX_HEARTBEAT_BYTES: usize = 256 * 1024;

/// Whether a peer speaking `version` can talk to this build.
pub fn is_supported(version: u32) -> bool {
    (MIN_SUPPORTED_PROTOCOL..=PROTOCOL_VERSION).contains(&version)
}

/// Human-readable range of accepted versions, for error messages.
pub fn supported_range() -> String {
    if MIN_SUPPORTED_PROTOCOL == PROTOCOL_VERSION {
        PROTOCOL_VERSION.to_string()
    } else {
        format!("{MIN_SUPPORTED_PROTOCOL}..={PROTOCOL_VERSION}")
    }
}

/// JSON body of every error answer from `/api/v1`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// Stable machine-readable code, e.g. `protocol_mismatch`, `unauthorized`.
    pub code: String,
    /// What was wrong and what to do, for a person.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_version_is_supported_and_neighbours_are_not() {
        assert!(is_supported(PROTOCOL_VERSION));
        assert!(!is_supported(PROTOCOL_VERSION + 1));
        assert!(!is_supported(MIN_SUPPORTED_PROTOCOL - 1));
    }
}
