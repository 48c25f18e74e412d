//! The errors that end [`crate::run`]. Everything else (network outages,
//! rejected heartbeats, missing GPUs) is logged and survived.

use thiserror::Error;
use trainyard_core::PROTOCOL_VERSION;

/// Why the agent stopped for good.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AgentError {
    /// The configuration cannot work (bad host id, unparsable URL, zero
    /// interval…). Detected before anything is sent.
    #[error("invalid agent configuration: {0}")]
    InvalidConfig(String),

    /// The server does not speak this agent's protocol version; retrying
    /// cannot help, the agent or the server must be upgraded.
    #[error(
        "the server does not accept agent protocol version {PROTOCOL_VERSION}; \
         upgrade the agent or the server so they match (server said: {server_message})"
    )]
    ProtocolMismatch { server_message: String },

    /// The server refused the token (or its absence). The message says what
    /// to pass.
    #[error("{0}")]
    Unauthorized(String),

    /// Something the agent needs could not be set up (the HTTP client's TLS
    /// backend, the system samplers).
    #[error("could not start the agent: {0}")]
    Startup(String),
}
