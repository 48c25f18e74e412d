//! A Devices card's last hour per GPU: fetched once when the card appears,
//! then followed by the card's own heartbeats (each fills the current
//! minute's bucket and slides the window), so a sparkline moves in place.

use leptos::prelude::*;
use trainyard_core::{HostTelemetry, HostView, TelemetryWindow};

use crate::server_fns::get_host_telemetry;

/// One host's GPU history as the card shows it (`None` until fetched).
#[derive(Clone, Copy)]
pub struct GpuHistory(RwSignal<Option<HostTelemetry>>);

impl GpuHistory {
    /// Fetches the host's last hour (in the browser) and follows its heartbeats.
    pub fn follow(host: RwSignal<HostView>) -> GpuHistory {
        let history = GpuHistory(RwSignal::new(None));
        let host_id = host.with_untracked(|h| h.host_id.clone());
        // Effects run only in the browser: the server renders empty lines.
        Effect::new(move |_| {
            let host_id = host_id.clone();
            leptos::task::spawn_local(async move {
                if let Ok(mut t) = get_host_telemetry(host_id, TelemetryWindow::Hour).await {
                    host.with_untracked(|h| t.record_live(h.last_seen_ms, &h.gpus));
                    history.0.set(Some(t));
                }
            });
        });
        Effect::new(move |_| {
            host.with(|h| {
                history.0.update(|t| {
                    if let Some(t) = t {
                        t.record_live(h.last_seen_ms, &h.gpus);
                    }
                })
            })
        });
        history
    }

    /// One GPU's utilization per minute of the last hour (tracked).
    pub fn util(&self, index: u32) -> Vec<Option<f32>> {
        self.0.with(|t| {
            t.as_ref()
                .and_then(|t| t.gpus.iter().find(|g| g.index == index))
                .map(|g| g.util_pct.clone())
                .unwrap_or_default()
        })
    }
}
