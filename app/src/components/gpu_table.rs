//! The GPUs of one host, a row each, updating in place.

use leptos::prelude::*;
use trainyard_core::{GpuStats, HostView};

use super::gpu_history::GpuHistory;
use super::meter::Meter;
use super::sparkline::Sparkline;
use crate::format::{fraction, gib, gib_of};

#[component]
pub fn GpuTable(host: RwSignal<HostView>, history: GpuHistory) -> impl IntoView {
    let indexes =
        Memo::new(move |_| host.with(|h| h.gpus.iter().map(|g| g.index).collect::<Vec<_>>()));
    let gpu_error = move || host.with(|h| h.gpu_error.clone());
    view! {
        <Show
            when=move || !indexes.get().is_empty()
            fallback=move || view! {
                <p class="muted small gpu-none">
                    "No GPUs reported"
                    {move || gpu_error().map(|e| format!(": {e}"))}
                </p>
            }
        >
            <div class="gpu-scroll">
            <table class="gpus">
                <thead>
                    <tr>
                        <th scope="col">"GPU"</th>
                        <th scope="col">"Utilization"</th>
                        <th scope="col">"Last hour"</th>
                        <th scope="col">"Memory"</th>
                        <th scope="col" class="num">"Temp"</th>
                        <th scope="col" class="num">"Power"</th>
                        <th scope="col">"Processes"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || indexes.get() key=|i| *i let:index>
                        <GpuRow host=host history=history index=index/>
                    </For>
                </tbody>
            </table>
            </div>
        </Show>
    }
    .into_any()
}

#[component]
fn GpuRow(host: RwSignal<HostView>, history: GpuHistory, index: u32) -> impl IntoView {
    let gpu = Memo::new(move |_| {
        host.with(|h| h.gpus.iter().find(|g| g.index == index).cloned())
            .unwrap_or_default()
    });
    let field = move |f: fn(&GpuStats) -> String| move || gpu.with(f);
    view! {
        <tr data-testid="gpu-row">
            <th scope="row">
                <span class="gpu-index num">{index}</span>
                " "
                <span class="gpu-name">{field(|g| g.name.clone())}</span>
            </th>
            <td data-testid="gpu-util">
                <Meter
                    percent=Signal::derive(move || gpu.with(|g| f64::from(g.utilization_percent)))
                    label=Signal::derive(move || gpu.with(|g| format!("{:.0} %", g.utilization_percent)))
                />
            </td>
            // Its own cell: the line's title would otherwise join the
            // utilization reading's text.
            <td class="spark">
                <Sparkline
                    values=Signal::derive(move || history.util(index))
                    label=Signal::derive(move || format!("GPU {index} utilization, last hour"))
                    kind="util"
                    testid="gpu-sparkline"
                />
            </td>
            <td data-testid="gpu-mem">
                <Meter
                    percent=Signal::derive(move || gpu.with(|g| fraction(g.memory_used_bytes, g.memory_total_bytes)))
                    label=Signal::derive(move || gpu.with(|g| gib_of(g.memory_used_bytes, g.memory_total_bytes)))
                />
            </td>
            <td class="num" data-testid="gpu-temp">
                {field(|g| g.temperature_c.map_or("–".into(), |t| format!("{t:.0} °C")))}
            </td>
            <td class="num" data-testid="gpu-power">
                {field(|g| match (g.power_watts, g.power_limit_watts) {
                    (Some(p), Some(l)) => format!("{p:.0} / {l:.0} W"),
                    (Some(p), None) => format!("{p:.0} W"),
                    _ => "–".into(),
                })}
            </td>
            <td class="procs">
                {field(|g| {
                    if g.processes.is_empty() {
                        "idle".into()
                    } else {
                        g.processes
                            .iter()
                            .map(|p| format!("{} {} · {}", p.name, p.pid, gib(p.memory_bytes)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                })}
            </td>
        </tr>
    }
    .into_any()
}
