//! The Dashboard's GPU load per host over the last hour or day: mean
//! utilization and memory in use as sparklines, refreshed every minute.

use leptos::prelude::*;
use trainyard_core::{FleetTelemetry, HostLoad, TelemetryWindow};

use super::sparkline::Sparkline;
use crate::loaded::load;
use crate::server_fns::get_fleet_telemetry;

/// How often the chart asks again (the history has one point a minute).
#[cfg(feature = "hydrate")]
const REFRESH_MS: u64 = 60_000;

/// Bumps `tick` every [`REFRESH_MS`] until the component is gone.
#[cfg(feature = "hydrate")]
fn tick_every_minute(tick: RwSignal<u32>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let alive = Arc::new(AtomicBool::new(true));
    let on_leave = alive.clone();
    on_cleanup(move || on_leave.store(false, Ordering::Relaxed));
    leptos::task::spawn_local(async move {
        while alive.load(Ordering::Relaxed) {
            crate::state::live::sleep(std::time::Duration::from_millis(REFRESH_MS)).await;
            if alive.load(Ordering::Relaxed) {
                tick.try_update(|t| *t += 1);
            }
        }
    });
}

#[component]
pub fn FleetLoad() -> impl IntoView {
    let window = RwSignal::new(TelemetryWindow::Hour);
    let tick = RwSignal::new(0u32);
    // Browser only: the server renders the first answer.
    #[cfg(feature = "hydrate")]
    tick_every_minute(tick);
    let load = load(
        move || (window.get(), tick.get()),
        |(window, _)| get_fleet_telemetry(window),
    );
    let choice = move |w: TelemetryWindow, text: &'static str| {
        view! {
            <button
                type="button"
                class:selected=move || window.get() == w
                aria-pressed=move || (window.get() == w).to_string()
                data-testid=format!("telemetry-window-{}", w.label())
                on:click=move |_| window.set(w)
            >
                {text}
            </button>
        }
    };
    view! {
        <section class="card fleet-load" data-testid="fleet-telemetry">
            <header class="fleet-load-head">
                <h2>"GPU load per host"</h2>
                <div class="toggle" role="group" aria-label="Time window">
                    {choice(TelemetryWindow::Hour, "Last hour")}
                    {choice(TelemetryWindow::Day, "Last day")}
                </div>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match load.await {
                        Ok(fleet) => view! { <LoadTable fleet=fleet/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn LoadTable(fleet: FleetTelemetry) -> impl IntoView {
    if fleet.hosts.is_empty() {
        return view! {
            <p class="muted">"No host has reported GPUs yet. Their load over the last hour and day shows here."</p>
        }
        .into_any();
    }
    let span = match fleet.window {
        TelemetryWindow::Hour => "last hour",
        TelemetryWindow::Day => "last day",
    };
    let more = fleet.more_hosts;
    view! {
        <table class="load-table" data-window=fleet.window.label()>
            <thead>
                <tr>
                    <th scope="col">"Host"</th>
                    <th scope="col">{format!("Utilization, {span}")}</th>
                    <th scope="col" class="num">"now"</th>
                    <th scope="col">{format!("Memory, {span}")}</th>
                    <th scope="col" class="num">"now"</th>
                </tr>
            </thead>
            <tbody>
                {fleet.hosts.into_iter().map(|h| view! { <LoadRow host=h/> }).collect_view()}
            </tbody>
        </table>
        {(more > 0).then(|| view! {
            <p class="muted small">{format!("and {more} more hosts with GPUs: see ")}<a href="/devices">"Devices"</a></p>
        })}
    }
    .into_any()
}

fn latest(values: &[Option<f32>]) -> String {
    values
        .iter()
        .rev()
        .flatten()
        .next()
        .map_or_else(|| "–".into(), |v| format!("{v:.0} %"))
}

#[component]
fn LoadRow(host: HostLoad) -> impl IntoView {
    let util_now = latest(&host.util_pct);
    let mem_now = latest(&host.mem_pct);
    let id = host.host_id.clone();
    let gpus = host.gpus;
    let util_label = format!("{id}: mean GPU utilization");
    let mem_label = format!("{id}: GPU memory in use");
    let (util, mem) = (host.util_pct, host.mem_pct);
    view! {
        <tr data-testid="host-load" data-host-id=id.clone()>
            <th scope="row">{id.clone()} <span class="muted small">{format!(" {gpus} GPU")}</span></th>
            <td><Sparkline values=Signal::stored(util) label=util_label kind="util" testid="host-util-sparkline"/></td>
            <td class="num">{util_now}</td>
            <td><Sparkline values=Signal::stored(mem) label=mem_label kind="mem" testid="host-mem-sparkline"/></td>
            <td class="num">{mem_now}</td>
        </tr>
    }
}
