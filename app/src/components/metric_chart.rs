//! One metric chart: a figure with the key, a PNG button, and a uPlot
//! chart mounted into it after hydration (the server renders the empty
//! figure, so both sides agree). `data-points` counts what is drawn, for
//! people inspecting the page and for the end-to-end tests.

use leptos::html::Div;
use leptos::prelude::*;
use serde::Serialize;

/// One line on a chart: a run's points `(step, value)`, and optionally the
/// min–max band of the buckets behind them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// `(min, max)` per point; empty when every bucket held one point (or
    /// the band is not wanted), so nothing extra is drawn.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub band: Vec<(f64, f64)>,
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
        band: Vec::new(),
    }
}

/// [`line_of`] plus the buckets' min–max band, so a spike inside a bucket
/// of a long series stays visible. (Only the browser draws live charts.)
pub fn line_with_band(name: String, series: &trainyard_core::MetricSeries) -> Line {
    let mut line = line_of(name, series);
    if series.buckets.iter().any(|b| b.count > 1 && b.min < b.max) {
        line.band = series.buckets.iter().map(|b| (b.min, b.max)).collect();
    }
    line
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
    let save = draw::attach(host, lines, on_zoom, error);
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

/// The server renders the empty figure; the chart mounts once hydrated.
#[cfg(not(feature = "hydrate"))]
mod draw {
    use leptos::html::Div;
    use leptos::prelude::*;

    use super::Line;

    pub fn attach(
        _host: NodeRef<Div>,
        _lines: Signal<Vec<Line>>,
        _on_zoom: Option<Callback<Option<(f64, f64)>>>,
        _error: RwSignal<Option<String>>,
    ) -> impl Fn(&str) + Clone + 'static {
        |_: &str| {}
    }
}

#[cfg(feature = "hydrate")]
mod draw {
    use leptos::html::Div;
    use leptos::prelude::*;

    use super::Line;
    use crate::js::charts::Chart;

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

#[cfg(test)]
mod band_tests {
    use trainyard_core::{MetricSeries, SeriesBucket};

    use super::{line_of, line_with_band};

    fn bucket(step: f64, min: f64, max: f64, last: f64, count: u64) -> SeriesBucket {
        SeriesBucket {
            step_start: step,
            step_end: step,
            min,
            max,
            last,
            last_step: step,
            count,
        }
    }

    fn series(buckets: Vec<SeriesBucket>) -> MetricSeries {
        MetricSeries {
            key: "loss".into(),
            from: None,
            to: None,
            total_points: buckets.iter().map(|b| b.count).sum(),
            buckets,
        }
    }

    #[test]
    fn a_spike_inside_a_bucket_gets_a_band_and_single_points_do_not() {
        let spiky = series(vec![
            bucket(0.0, 1.0, 1.0, 1.0, 10),
            bucket(10.0, 0.9, 50.0, 0.9, 10),
        ]);
        let line = line_with_band("loss".into(), &spiky);
        assert_eq!(
            line.points,
            vec![(0.0, 1.0), (10.0, 0.9)],
            "the line follows the last values"
        );
        assert_eq!(
            line.band,
            vec![(1.0, 1.0), (0.9, 50.0)],
            "the spike (50) is in the band"
        );
        let plain = series(vec![
            bucket(0.0, 1.0, 1.0, 1.0, 1),
            bucket(1.0, 0.5, 0.5, 0.5, 1),
        ]);
        assert!(line_with_band("loss".into(), &plain).band.is_empty());
        assert!(
            line_of("loss".into(), &spiky).band.is_empty(),
            "compare lines stay plain"
        );
    }
}
