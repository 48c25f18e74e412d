//! One metric chart: a figure with the key, a PNG button, and a uPlot
//! chart mounted into it after hydration (the server renders the empty
//! figure, so both sides agree). `data-points` counts what is drawn, for
//! people inspecting the page and for the end-to-end tests.

use leptos::html::Div;
use leptos::prelude::*;
use serde::Serialize;

/// One line on a chart: a run's points `(step, value)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line through each bucket's last value, as the series API returns it.
pub fn line_of(name: String, series: &trainyard_core::MetricSeries) -> Line {
    Line {
        name,
        points: series
            .buckets
            .iter()
            .map(|b| (b.last_step, b.last))
            .collect(),
    }
}

#[component]
pub fn MetricChart(
    /// The metric key, shown as the caption.
    title: String,
    lines: Signal<Vec<Line>>,
    /// Called with the dragged step range, or `None` on a double-click reset.
    #[prop(optional)]
    on_zoom: Option<Callback<Option<(f64, f64)>>>,
    /// Shown next to the title (e.g. "zoomed: steps 10–40").
    #[prop(optional, into)]
    note: Signal<String>,
) -> impl IntoView {
    let host = NodeRef::<Div>::new();
    let error = RwSignal::new(None::<String>);
    let points = move || lines.with(|l| l.iter().map(|l| l.points.len()).sum::<usize>());
    let file = format!("{}.png", title.replace(['/', ' ', '\\'], "_"));
    #[cfg(feature = "hydrate")]
    let save = draw::attach(host, lines, on_zoom, error);
    #[cfg(not(feature = "hydrate"))]
    let save = {
        let _ = on_zoom;
        move |_: &str| {}
    };
    let key = title.clone();
    view! {
        <figure class="chart" data-testid="chart" data-key=key data-points=points>
            <figcaption>
                <span class="chart-title">{title}</span>
                <span class="muted small">{move || note.get()}</span>
                <button type="button" class="small-button" title="Save this chart as a PNG image"
                    on:click=move |_| save(&file)>"PNG"</button>
            </figcaption>
            <div class="chart-plot" node_ref=host></div>
            {move || error.get().map(|e| view! { <p class="error small" role="alert">{e}</p> })}
        </figure>
    }
}

#[cfg(feature = "hydrate")]
mod draw {
    use leptos::html::Div;
    use leptos::prelude::*;

    use super::Line;
    use crate::charts::Chart;

    /// Mounts the chart once the figure is in the page, redraws it when
    /// `lines` change; returns the PNG saver.
    pub fn attach(
        host: NodeRef<Div>,
        lines: Signal<Vec<Line>>,
        on_zoom: Option<Callback<Option<(f64, f64)>>>,
        error: RwSignal<Option<String>>,
    ) -> impl Fn(&str) + Clone + 'static {
        let chart = StoredValue::new_local(None::<Chart>);
        let mounting = StoredValue::new(false);
        Effect::new(move |_| {
            let Some(el) = host.get() else {
                return;
            };
            if mounting.get_value() {
                return;
            }
            mounting.set_value(true);
            leptos::task::spawn_local(async move {
                let zoom = move |range| {
                    if let Some(cb) = on_zoom {
                        cb.run(range);
                    }
                };
                match Chart::mount(el.into(), zoom).await {
                    Ok(c) => {
                        if let Some(current) = lines.try_get_untracked() {
                            c.set_lines(&current);
                        }
                        chart.try_set_value(Some(c));
                    }
                    Err(e) => {
                        error.try_set(Some(e));
                    }
                }
            });
        });
        Effect::new(move |_| {
            let current = lines.get();
            chart.with_value(|c| {
                if let Some(c) = c {
                    c.set_lines(&current);
                }
            });
        });
        move |file: &str| {
            chart.with_value(|c| {
                if let Some(c) = c {
                    c.save_png(file);
                }
            })
        }
    }
}
