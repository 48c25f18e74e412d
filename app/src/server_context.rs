//! What server functions get from the server process.

use std::sync::Arc;

use trainyard_engine::Engine;

/// Provided to every server function by the `trainyard` binary.
#[derive(Clone)]
pub struct ServerContext {
    pub engine: Arc<Engine>,
    pub auth_required: bool,
}
