//! Server functions: the UI's private calls into the server. Agents and
//! scripts use the versioned REST API instead. This root holds what they
//! all share: the error a page gets back and the way to the engine.

use std::fmt;

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

mod catalog;
mod components;
mod hosts;
mod jobs;
mod models;
mod runs;
mod webhooks;
pub use catalog::*;
pub use components::*;
pub use hosts::*;
pub use jobs::*;
pub use models::*;
pub use runs::*;
pub use webhooks::*;

/// The code of a call that did not complete (the network, or the framework
/// encoding it): the server gave no code of its own.
pub const CALL_FAILED: &str = "call_failed";

/// Why a server function failed, as a page gets it: a stable code to
/// branch on (`trainyard_core::protocol::codes`, the same the REST API
/// answers with, or [`CALL_FAILED`]) and a sentence for people. Internal
/// failures carry no database or file-system text, only a pointer to the
/// server log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiError {
    pub code: String,
    pub message: String,
}

impl UiError {
    /// Whether the server refused with `code` (a `protocol::codes` value).
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}

/// The sentence for people, as pages show it.
impl fmt::Display for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UiError {}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let message = match value {
            // Already a sentence; the framework's "error running server
            // function" prefix would only add noise.
            ServerFnErrorErr::ServerError(message) => message,
            other => other.to_string(),
        };
        UiError {
            code: CALL_FAILED.to_string(),
            message,
        }
    }
}

/// The engine's code table and public message: what the REST API would
/// answer, so the UI and the API never disagree about an error.
#[cfg(feature = "ssr")]
impl From<trainyard_engine::EngineError> for UiError {
    fn from(e: trainyard_engine::EngineError) -> Self {
        UiError {
            code: e.code().0.to_string(),
            message: e.public_message(),
        }
    }
}

/// What the `trainyard` binary provides to every server function.
#[cfg(feature = "ssr")]
fn server_context() -> Result<crate::ServerContext, UiError> {
    leptos::prelude::use_context::<crate::ServerContext>().ok_or_else(|| {
        // A wiring bug in the binary, not something a user can fix.
        leptos::logging::error!("server function called without a ServerContext");
        UiError {
            code: trainyard_core::protocol::codes::INTERNAL.to_string(),
            message: trainyard_engine::INTERNAL_MESSAGE.to_string(),
        }
    })
}

/// The engine, for a server function.
#[cfg(feature = "ssr")]
fn engine() -> Result<std::sync::Arc<trainyard_engine::Engine>, UiError> {
    Ok(server_context()?.engine)
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use trainyard_core::protocol::codes;
    use trainyard_engine::{EngineError, INTERNAL_MESSAGE};

    use super::*;

    #[test]
    fn engine_errors_keep_their_code_and_message() {
        let e = UiError::from(EngineError::JobNotFound(7));
        assert!(e.is(codes::JOB_NOT_FOUND));
        assert_eq!(e.to_string(), "no job with id 7");
    }

    #[test]
    fn internal_failures_reach_the_browser_without_their_details() {
        let failure = EngineError::Io {
            path: "/srv/trainyard/secret-dir".into(),
            source: std::io::Error::other("disk full"),
        };
        let e = UiError::from(failure);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (codes::INTERNAL, INTERNAL_MESSAGE)
        );
    }

    #[test]
    fn a_failed_call_reads_as_a_sentence_with_its_own_code() {
        let e = UiError::from_server_fn_error(ServerFnErrorErr::ServerError("boom".into()));
        assert_eq!((e.code.as_str(), e.message.as_str()), (CALL_FAILED, "boom"));
        let sent = UiError::de(e.ser());
        assert_eq!(sent, e, "an error survives the trip to the browser");
    }
}
