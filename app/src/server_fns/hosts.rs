//! Server functions for the fleet: the server's status, the fleet's numbers,
//! a page of hosts, GPU telemetry history, and removing a disconnected host.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use trainyard_core::{
    FleetCounts, FleetTelemetry, HostQuery, HostTelemetry, HostsPage, ServerStatus, TelemetryWindow,
};

use super::UiError;
#[cfg(feature = "ssr")]
use super::{engine, server_context};

/// The fleet's numbers and the server's clock: what the Dashboard needs,
/// a few dozen bytes however large the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FleetSnapshot {
    pub server_time_ms: i64,
    pub counts: FleetCounts,
}

/// One page of hosts for the Devices page, with the fleet's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostsView {
    pub fleet: FleetSnapshot,
    pub page: HostsPage,
}

#[server(prefix = "/ui")]
pub async fn get_status() -> Result<ServerStatus, UiError> {
    let ctx = server_context()?;
    Ok(ctx.engine.status(ctx.auth_required))
}

/// Every host's id, in order (a host picker's choices: ~12 bytes a host).
#[server(prefix = "/ui")]
pub async fn list_host_ids() -> Result<Vec<String>, UiError> {
    Ok(engine()?.host_ids())
}

#[server(prefix = "/ui")]
pub async fn get_fleet_counts() -> Result<FleetSnapshot, UiError> {
    let engine = engine()?;
    Ok(FleetSnapshot {
        server_time_ms: engine.now_ms(),
        counts: engine.fleet_counts(),
    })
}

/// One host's GPUs over the last hour or day (a Devices card's sparklines).
#[server(prefix = "/ui")]
pub async fn get_host_telemetry(
    host_id: String,
    window: TelemetryWindow,
) -> Result<HostTelemetry, UiError> {
    Ok(engine()?.host_telemetry(&host_id, window).await?)
}

/// The load of the fleet's hosts over the last hour or day (the Dashboard).
#[server(prefix = "/ui")]
pub async fn get_fleet_telemetry(window: TelemetryWindow) -> Result<FleetTelemetry, UiError> {
    Ok(engine()?.fleet_telemetry(window).await?)
}

/// The hosts `query` selects (a page of at most 1,000), and the fleet's numbers.
#[server(prefix = "/ui", input = Json)]
pub async fn list_hosts_page(query: HostQuery) -> Result<HostsView, UiError> {
    let engine = engine()?;
    let query = HostQuery {
        limit: query.limit.min(trainyard_core::host_query::MAX_HOST_PAGE),
        ..query
    };
    Ok(HostsView {
        fleet: FleetSnapshot {
            server_time_ms: engine.now_ms(),
            counts: engine.fleet_counts(),
        },
        page: engine.hosts_page(&query),
    })
}

#[server(prefix = "/ui")]
pub async fn remove_host(host_id: String) -> Result<(), UiError> {
    Ok(engine()?.remove_host(&host_id).await?)
}
