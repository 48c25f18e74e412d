//! The browser's live copy of every host, fed by a snapshot and then by SSE.
//! Each host has its own signal, so an update redraws one card, not the page.

use leptos::prelude::*;
use trainyard_core::{FleetCounts, HostView};

use crate::server_fns::HostsSnapshot;
use crate::state::live_map::LiveMap;

/// Live fleet state shared by every page.
#[derive(Clone, Copy)]
pub struct Fleet {
    hosts: LiveMap<String, HostView>,
    /// Server clock minus browser clock, in ms.
    clock_offset_ms: RwSignal<i64>,
    /// Estimated server time, ticking once a second in the browser.
    pub now_ms: RwSignal<i64>,
    /// Whether the live event stream is open.
    pub connected: RwSignal<bool>,
    /// Bumped when the server says we missed events; pages refetch on change.
    pub resync: RwSignal<u64>,
}

impl Fleet {
    pub fn new() -> Fleet {
        Fleet {
            hosts: LiveMap::new(),
            clock_offset_ms: RwSignal::new(0),
            now_ms: RwSignal::new(0),
            connected: RwSignal::new(false),
            resync: RwSignal::new(0),
        }
    }

    /// Replaces the fleet with a server snapshot.
    pub fn seed(&self, snapshot: &HostsSnapshot) {
        self.sync_clock(snapshot.server_time_ms);
        self.hosts.seed(
            snapshot
                .hosts
                .iter()
                .map(|h| (h.host_id.clone(), h.clone())),
        );
    }

    /// Adds a host or updates it in place (no-op when nothing changed).
    pub fn upsert(&self, host: HostView) {
        self.hosts.upsert(host.host_id.clone(), host);
    }

    pub fn remove(&self, host_id: &str) {
        self.hosts.remove(host_id);
    }

    /// Host ids in display order (tracked).
    pub fn ids(&self) -> Vec<String> {
        self.hosts.keys()
    }

    /// One host's signal, if known (tracked).
    pub fn host(&self, host_id: &str) -> Option<ArcRwSignal<HostView>> {
        self.hosts.get(host_id)
    }

    /// Every host's current view (tracked: re-runs on any host change).
    pub fn views(&self) -> Vec<HostView> {
        self.hosts.values()
    }

    /// Hosts per health state, and GPUs total/free on healthy hosts (tracked).
    pub fn summary(&self) -> FleetCounts {
        FleetCounts::of(&self.views())
    }

    /// Adopts the server's clock; `now_ms` then follows it.
    pub fn sync_clock(&self, server_time_ms: i64) {
        self.clock_offset_ms
            .set(server_time_ms - browser_now_ms().unwrap_or(server_time_ms));
        self.now_ms.set(server_time_ms);
    }

    /// Advances `now_ms` from the browser clock (browser only).
    pub fn tick(&self) {
        if let Some(now) = browser_now_ms() {
            self.now_ms.set(now + self.clock_offset_ms.get_untracked());
        }
    }
}

impl Default for Fleet {
    fn default() -> Self {
        Fleet::new()
    }
}

#[cfg(feature = "hydrate")]
fn browser_now_ms() -> Option<i64> {
    Some(js_sys::Date::now() as i64)
}

#[cfg(not(feature = "hydrate"))]
fn browser_now_ms() -> Option<i64> {
    None
}
