//! A run's metric charts on the Job page: one per key, growing live while
//! the job is active (keys and points re-queried every 1.5 s), zoomed by
//! dragging (the zoomed step range is re-queried, so a zoom is exact).

use leptos::prelude::*;

use crate::components::metric_chart::{Line, MetricChart};

/// Buckets per chart: about one per pixel of a wide chart.
pub const CHART_POINTS: u32 = 1_000;
/// How often an active run's charts are refreshed, in ms.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const POLL_MS: u64 = 1_500;

#[component]
pub fn RunCharts(id: i64, active: Signal<bool>) -> impl IntoView {
    let keys = RwSignal::new(Vec::<String>::new());
    let tick = RwSignal::new(0u64);
    let state = RwSignal::new(String::from("loading…"));
    poll::start(id, active, keys, tick, state);
    view! {
        <section class="card" data-testid="run-metrics">
            <header class="card-head">
                <h2>"Metrics"</h2>
                <span class="muted small" data-testid="metrics-state">{move || state.get()}</span>
            </header>
            <Show when=move || keys.with(Vec::is_empty)>
                <p class="muted small">
                    "No metrics yet. Lines like "
                    <code>"TRAINYARD_METRIC::{\"step\": 1, \"loss\": 0.5}"</code>
                    " in the output appear here as charts."
                </p>
            </Show>
            <div class="chart-grid">
                <For each=move || keys.get() key=|k| k.clone() let:key>
                    <LiveSeriesChart id=id key=key tick=tick/>
                </For>
            </div>
        </section>
    }
}

#[component]
fn LiveSeriesChart(id: i64, key: String, tick: RwSignal<u64>) -> impl IntoView {
    let zoom = RwSignal::new(None::<(f64, f64)>);
    let lines = RwSignal::new(Vec::<Line>::new());
    let total = RwSignal::new(0u64);
    // Effects run only in the browser: the server renders an empty chart.
    {
        let key = key.clone();
        Effect::new(move |_| {
            tick.track();
            let range = zoom.get();
            let key = key.clone();
            leptos::task::spawn_local(async move {
                let series = crate::server_fns::run_series(
                    id,
                    key.clone(),
                    CHART_POINTS,
                    range.map(|r| r.0),
                    range.map(|r| r.1),
                )
                .await;
                if let Ok(series) = series {
                    total.try_set(series.total_points);
                    lines.try_set(vec![crate::components::metric_chart::line_with_band(
                        key, &series,
                    )]);
                }
            });
        });
    }
    let note = Signal::derive(move || match zoom.get() {
        Some((a, b)) => format!("steps {a:.0}–{b:.0} · double-click to reset"),
        None => format!("{} points", total.get()),
    });
    view! {
        <MetricChart title=key lines=lines.into() note=note
            on_zoom=Callback::new(move |range| zoom.set(range))/>
    }
}

/// The server renders the card without charts; polling starts once hydrated.
#[cfg(not(feature = "hydrate"))]
mod poll {
    use leptos::prelude::*;

    pub fn start(
        _id: i64,
        _active: Signal<bool>,
        _keys: RwSignal<Vec<String>>,
        _tick: RwSignal<u64>,
        _state: RwSignal<String>,
    ) {
    }
}

#[cfg(feature = "hydrate")]
mod poll {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use leptos::prelude::*;

    use super::POLL_MS;
    use crate::server_fns::run_metrics;

    /// Refreshes the key list and ticks the charts while the run is active,
    /// once more after it ended (its last points), then stops.
    pub fn start(
        id: i64,
        active: Signal<bool>,
        keys: RwSignal<Vec<String>>,
        tick: RwSignal<u64>,
        state: RwSignal<String>,
    ) {
        let alive = Arc::new(AtomicBool::new(true));
        let on_leave = alive.clone();
        on_cleanup(move || on_leave.store(false, Ordering::Relaxed));
        let started = StoredValue::new(false);
        Effect::new(move |_| {
            if started.get_value() {
                return;
            }
            started.set_value(true);
            let alive = alive.clone();
            leptos::task::spawn_local(async move {
                let mut last_round = false;
                while alive.load(Ordering::Relaxed) {
                    let live = active.try_get_untracked().unwrap_or(false);
                    match run_metrics(id).await {
                        Ok(list) => {
                            let names: Vec<String> = list.into_iter().map(|m| m.key).collect();
                            if keys.try_with_untracked(|k| *k != names).unwrap_or(false) {
                                keys.try_set(names);
                            }
                            state.try_set(if live {
                                "live".into()
                            } else {
                                "complete".into()
                            });
                            tick.try_update(|t| *t += 1);
                        }
                        Err(e) => {
                            state.try_set(format!("could not load metrics: {e}"));
                        }
                    }
                    if !live {
                        if last_round {
                            return;
                        }
                        last_round = true;
                    }
                    crate::state::live::sleep(Duration::from_millis(POLL_MS)).await;
                }
            });
        });
    }
}
