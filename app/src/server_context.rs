//! What server functions get from the server process.

use std::sync::Arc;

use leptos::prelude::{use_context, ServerFnError};
use trainyard_engine::Engine;

/// Provided to every server function by the `trainyard` binary.
#[derive(Clone)]
pub struct ServerContext {
    pub engine: Arc<Engine>,
    pub auth_required: bool,
}

/// The context, or an error if the app is served without it (a wiring bug).
pub fn server_context() -> Result<ServerContext, ServerFnError> {
    use_context::<ServerContext>().ok_or_else(|| ServerFnError::new("server context missing"))
}
