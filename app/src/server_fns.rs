//! Server functions: the UI's private calls into the server. Agents and
//! scripts use the versioned REST API instead.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use trainyard_core::{HostView, ServerStatus};

mod jobs;
mod runs;
pub use jobs::*;
pub use runs::*;

/// Every host plus the server's clock at the time of the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostsSnapshot {
    pub server_time_ms: i64,
    pub hosts: Vec<HostView>,
}

#[server(prefix = "/ui")]
pub async fn get_status() -> Result<ServerStatus, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    Ok(ctx.engine.status(ctx.auth_required))
}

#[server(prefix = "/ui")]
pub async fn list_hosts() -> Result<HostsSnapshot, ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    Ok(HostsSnapshot {
        server_time_ms: ctx.engine.now_ms(),
        hosts: ctx.engine.hosts(),
    })
}

#[server(prefix = "/ui")]
pub async fn remove_host(host_id: String) -> Result<(), ServerFnError> {
    let ctx = crate::server_context::server_context()?;
    ctx.engine.remove_host(&host_id).await.map_err(engine_error)
}

/// An engine failure as the UI shows it: its message.
#[cfg(feature = "ssr")]
fn engine_error(e: trainyard_engine::EngineError) -> ServerFnError {
    ServerFnError::new(e.to_string())
}
