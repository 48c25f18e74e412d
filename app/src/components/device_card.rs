//! One host on the Devices page: health, CPU/RAM/disk and its GPUs.

use leptos::prelude::*;
use trainyard_core::{HostHealth, HostView};

use super::gpu_history::GpuHistory;
use super::gpu_table::GpuTable;
use super::meter::Meter;
use super::relative_time::RelativeTime;
use crate::format::{fraction, gib_of};
use crate::server_fns::{remove_host, RemoveHost};

#[component]
pub fn DeviceCard(host: ArcRwSignal<HostView>) -> impl IntoView {
    let host = RwSignal::from(host);
    let id = host.with_untracked(|h| h.host_id.clone());
    let health = Memo::new(move |_| host.with(|h| h.health));
    let sys = move || host.with(|h| h.system.clone());
    let remove_id = id.clone();
    let history = GpuHistory::follow(host);

    view! {
        <article
            class=move || format!("card host-card health-{}", health.get().label())
            data-testid="host-card"
            data-host-id=id.clone()
            data-health=move || health.get().label()
        >
            <header class="host-head">
                <div>
                    <h2>{id.clone()}</h2>
                    <p class="muted small">
                        {move || host.with(|h| h.hostname.clone())}
                        {move || host.with(|h| (!h.agent_version.is_empty()).then(|| format!(" · agent {}", h.agent_version)))}
                    </p>
                </div>
                <div class="host-status">
                    <span class="badge" data-testid="health-badge">{move || health.get().label()}</span>
                    <span class="muted small" data-testid="last-seen">
                        "seen " <RelativeTime ms=Signal::derive(move || host.with(|h| h.last_seen_ms))/>
                    </span>
                </div>
            </header>
            <dl class="sys">
                <dt>"CPU"</dt>
                <dd data-testid="host-cpu">
                    <Meter
                        percent=Signal::derive(move || f64::from(sys().cpu_percent))
                        label=Signal::derive(move || format!("{:.0} % of {} cores", sys().cpu_percent, sys().cpu_count))
                    />
                </dd>
                <dt>"RAM"</dt>
                <dd data-testid="host-ram">
                    <Meter
                        percent=Signal::derive(move || fraction(sys().memory_used_bytes, sys().memory_total_bytes))
                        label=Signal::derive(move || gib_of(sys().memory_used_bytes, sys().memory_total_bytes))
                    />
                </dd>
                <dt>"Disk"</dt>
                <dd data-testid="host-disk">
                    <Meter
                        percent=Signal::derive(move || fraction(sys().disk_used_bytes, sys().disk_total_bytes))
                        label=Signal::derive(move || gib_of(sys().disk_used_bytes, sys().disk_total_bytes))
                    />
                </dd>
            </dl>
            <GpuTable host=host history=history/>
            <Show when=move || health.get() == HostHealth::Disconnected>
                <RemoveButton host_id=remove_id.clone()/>
            </Show>
        </article>
    }
    .into_any()
}

/// Removes a disconnected host (and its stored state) after a click.
#[component]
fn RemoveButton(host_id: String) -> impl IntoView {
    let remove = Action::new(|input: &RemoveHost| remove_host(input.host_id.clone()));
    let error = move || {
        remove
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.to_string())
    };
    let id = host_id.clone();
    view! {
        <footer class="host-foot">
            <span class="muted small">"No heartbeat for a while. Remove it if the machine is gone for good."</span>
            <button
                type="button"
                class="danger"
                data-testid="remove-host"
                disabled=move || remove.pending().get()
                on:click=move |_| {
                    remove.dispatch(RemoveHost { host_id: id.clone() });
                }
            >
                "Remove " {host_id.clone()}
            </button>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </footer>
    }
    .into_any()
}
