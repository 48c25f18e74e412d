//! What the browser knows of the fleet: its numbers (hosts per health, GPUs
//! total and free), kept live by the `fleet` event, and the hosts a page
//! shows, each with its own signal so an update redraws one card.
//!
//! The browser never holds the whole fleet: the Devices page asks the server
//! for one page of hosts and follows only those hosts' events, so 10,000
//! hosts cost it what a page of them does.

use leptos::prelude::*;
use trainyard_core::{FleetCounts, HostView};

use crate::server_fns::FleetSnapshot;
use crate::state::live_map::LiveMap;

/// Live fleet state shared by every page.
#[derive(Clone, Copy)]
pub struct Fleet {
    counts: RwSignal<FleetCounts>,
    /// The hosts the current page shows, in display order.
    shown: LiveMap<String, HostView>,
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
            counts: RwSignal::new(FleetCounts::default()),
            shown: LiveMap::new(),
            clock_offset_ms: RwSignal::new(0),
            now_ms: RwSignal::new(0),
            connected: RwSignal::new(false),
            resync: RwSignal::new(0),
        }
    }

    /// Adopts a server snapshot of the fleet's numbers.
    pub fn seed(&self, snapshot: &FleetSnapshot) {
        self.sync_clock(snapshot.server_time_ms);
        self.set_counts(snapshot.counts);
    }

    /// New numbers (a `fleet` event); no-op when nothing changed.
    pub fn set_counts(&self, counts: FleetCounts) {
        if self.counts.get_untracked() != counts {
            self.counts.set(counts);
        }
    }

    /// Hosts per health state, and GPUs total/free on healthy hosts (tracked).
    pub fn summary(&self) -> FleetCounts {
        self.counts.get()
    }

    /// Shows exactly these hosts, in this order; hosts shown before and
    /// still shown keep their signal (their card is updated, not rebuilt).
    pub fn show(&self, hosts: &[HostView]) {
        self.shown
            .seed(hosts.iter().map(|h| (h.host_id.clone(), h.clone())));
    }

    /// Updates a shown host in place; hosts not shown are ignored.
    pub fn update(&self, host: HostView) {
        let id = host.host_id.clone();
        self.shown.update(id.as_str(), host);
    }

    pub fn remove(&self, host_id: &str) {
        self.shown.remove(host_id);
    }

    /// Ids of the shown hosts, in display order (tracked).
    pub fn ids(&self) -> Vec<String> {
        self.shown.keys()
    }

    /// One shown host's signal, if shown (tracked).
    pub fn host(&self, host_id: &str) -> Option<ArcRwSignal<HostView>> {
        self.shown.get(host_id)
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
