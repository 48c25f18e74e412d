//! Server functions for the fleet: the server's status, the hosts, and
//! removing a disconnected host.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use trainyard_core::{HostView, ServerStatus};

use super::UiError;
#[cfg(feature = "ssr")]
use super::{engine, server_context};

/// Every host plus the server's clock at the time of the snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostsSnapshot {
    pub server_time_ms: i64,
    pub hosts: Vec<HostView>,
}

#[server(prefix = "/ui")]
pub async fn get_status() -> Result<ServerStatus, UiError> {
    let ctx = server_context()?;
    Ok(ctx.engine.status(ctx.auth_required))
}

#[server(prefix = "/ui")]
pub async fn list_hosts() -> Result<HostsSnapshot, UiError> {
    let engine = engine()?;
    Ok(HostsSnapshot {
        server_time_ms: engine.now_ms(),
        hosts: engine.hosts(),
    })
}

#[server(prefix = "/ui")]
pub async fn remove_host(host_id: String) -> Result<(), UiError> {
    Ok(engine()?.remove_host(&host_id).await?)
}
