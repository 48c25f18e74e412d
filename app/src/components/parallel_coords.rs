//! Parallel coordinates: one vertical axis per parameter plus the chosen
//! metric (its best value), one line per run, drawn as plain SVG. Numeric
//! axes are scaled min–max; text axes spread their distinct values evenly.

use leptos::prelude::*;
use trainyard_core::decimal::parse_f64;
use trainyard_core::runs::RunComparison;

const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 260.0;
const PAD: f64 = 30.0;
const COLORS: [&str; 10] = [
    "#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d",
    "#ff9da6", "#bab0ac",
];

/// One axis: its name and each run's position on it (0 = bottom, 1 = top).
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    pub positions: Vec<Option<f64>>,
    /// Labels at the bottom and top.
    pub range: (String, String),
}

/// Places raw values (`None`: the run lacks it) on a 0–1 axis.
pub fn axis(name: String, values: Vec<Option<String>>) -> Axis {
    let numbers: Option<Vec<Option<f64>>> = values
        .iter()
        .map(|v| match v {
            None => Some(None),
            Some(t) => parse_f64(t).map(Some),
        })
        .collect();
    if let Some(numbers) = numbers {
        let present = numbers.iter().flatten().copied();
        let lo = present.clone().fold(f64::INFINITY, f64::min);
        let hi = present.fold(f64::NEG_INFINITY, f64::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        let positions = numbers
            .iter()
            .map(|v| v.map(|x| if hi > lo { (x - lo) / span } else { 0.5 }))
            .collect();
        let label = |x: f64| {
            if x.is_finite() {
                format!("{x}")
            } else {
                String::new()
            }
        };
        return Axis {
            name,
            positions,
            range: (label(lo), label(hi)),
        };
    }
    let mut distinct: Vec<String> = values.iter().flatten().cloned().collect();
    distinct.sort();
    distinct.dedup();
    let n = distinct.len().max(2) - 1;
    let positions = values
        .iter()
        .map(|v| {
            v.as_ref()
                .and_then(|t| distinct.iter().position(|d| d == t))
                .map(|i| i as f64 / n as f64)
        })
        .collect();
    let range = (
        distinct.first().cloned().unwrap_or_default(),
        distinct.last().cloned().unwrap_or_default(),
    );
    Axis {
        name,
        positions,
        range,
    }
}

#[component]
pub fn ParallelCoords(
    cmp: RunComparison,
    lower: Signal<bool>,
    metric: Signal<String>,
) -> impl IntoView {
    let axes = move || {
        let mut axes: Vec<Axis> = cmp
            .param_keys
            .iter()
            .map(|k| {
                let values = cmp
                    .runs
                    .iter()
                    .map(|r| {
                        r.job
                            .params
                            .iter()
                            .find(|(p, _)| p == k)
                            .map(|(_, v)| v.clone())
                    })
                    .collect();
                axis(k.clone(), values)
            })
            .collect();
        let key = metric.get();
        let lower = lower.get();
        let values = cmp
            .runs
            .iter()
            .map(|r| {
                r.finals
                    .iter()
                    .find(|f| f.key == key)
                    .map(|f| f.best(lower).value.to_string())
            })
            .collect();
        axes.push(axis(key, values));
        let names: Vec<String> = cmp.runs.iter().map(|r| r.job.name.clone()).collect();
        (axes, names)
    };
    view! {
        <svg class="parallel" viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img"
            aria-label="Parameters of each run against the chosen metric" data-testid="parallel-coords">
            {move || {
                let (axes, names) = axes();
                let step = if axes.len() > 1 { (WIDTH - 2.0 * PAD) / (axes.len() - 1) as f64 } else { 0.0 };
                let x = move |i: usize| PAD + step * i as f64;
                let y = |p: f64| HEIGHT - PAD - p * (HEIGHT - 2.0 * PAD);
                let lines = names.iter().enumerate().map(|(run, name)| {
                    let points: Vec<String> = axes.iter().enumerate()
                        .filter_map(|(i, a)| a.positions[run].map(|p| format!("{:.1},{:.1}", x(i), y(p))))
                        .collect();
                    view! {
                        <polyline points=points.join(" ") fill="none" stroke=COLORS[run % COLORS.len()] stroke-width="2">
                            <title>{name.clone()}</title>
                        </polyline>
                    }
                }).collect_view();
                let axis_marks = axes.iter().enumerate().map(|(i, a)| view! {
                    <g class="axis">
                        <line x1=x(i) x2=x(i) y1=PAD y2=HEIGHT - PAD/>
                        <text x=x(i) y=PAD - 12.0 text-anchor="middle" class="axis-name">{a.name.clone()}</text>
                        <text x=x(i) y=PAD - 2.0 text-anchor="middle" class="axis-tick">{a.range.1.clone()}</text>
                        <text x=x(i) y=HEIGHT - PAD + 14.0 text-anchor="middle" class="axis-tick">{a.range.0.clone()}</text>
                    </g>
                }).collect_view();
                view! { {axis_marks}{lines} }
            }}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::axis;

    #[test]
    fn numeric_axes_scale_and_text_axes_spread() {
        let a = axis(
            "lr".into(),
            vec![Some("0.1".into()), Some("0.3".into()), None],
        );
        assert_eq!(a.positions, vec![Some(0.0), Some(1.0), None]);
        let t = axis(
            "opt".into(),
            vec![Some("sgd".into()), Some("adam".into()), Some("sgd".into())],
        );
        assert_eq!(t.positions, vec![Some(1.0), Some(0.0), Some(1.0)]);
        assert_eq!(t.range, ("adam".to_string(), "sgd".to_string()));
    }
}
