//! A small line of values over time in plain SVG (no chart library: it is
//! on the Dashboard, in the first-load wasm). Gaps (`None`) break the line.

use leptos::prelude::*;

/// Width and height of the drawing's coordinate system; the SVG is
/// stretched to its box by CSS.
const W: f32 = 120.0;
const H: f32 = 24.0;

/// The SVG path of `values` scaled to `0..=max`: one `M…L…` run per
/// stretch without gaps; a lone point is a short dash.
pub fn sparkline_path(values: &[Option<f32>], max: f32) -> String {
    let n = values.len();
    let step = if n > 1 { W / (n - 1) as f32 } else { 0.0 };
    let max = if max > 0.0 { max } else { 1.0 };
    let mut d = String::new();
    let mut run = 0;
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v.filter(|v| v.is_finite()) else {
            if run == 1 {
                d.push_str("h1");
            }
            run = 0;
            continue;
        };
        let x = i as f32 * step;
        let y = H - (v / max).clamp(0.0, 1.0) * H;
        d.push_str(&format!(
            "{}{x:.1} {y:.1}",
            if run == 0 { "M" } else { "L" }
        ));
        run += 1;
    }
    if run == 1 {
        d.push_str("h1");
    }
    d
}

/// A sparkline of `values` (0..=`max`, default 100: percentages).
#[component]
pub fn Sparkline(
    #[prop(into)] values: Signal<Vec<Option<f32>>>,
    /// What the line shows, for screen readers and the hover title.
    #[prop(into)]
    label: Signal<String>,
    #[prop(optional)] max: Option<f32>,
    /// `util` or `mem`: picks the line's colour.
    #[prop(optional)]
    kind: &'static str,
    #[prop(optional)] testid: &'static str,
) -> impl IntoView {
    let max = max.unwrap_or(100.0);
    view! {
        <svg
            class=format!("sparkline {kind}")
            viewBox=format!("0 0 {W} {H}")
            preserveAspectRatio="none"
            role="img"
            aria-label=move || label.get()
            data-testid=(!testid.is_empty()).then_some(testid)
            data-points=move || values.with(|v| v.iter().flatten().count())
            data-last=move || values.with(|v| v.iter().rev().flatten().next().map(|l| format!("{l:.0}")))
        >
            <title>{move || label.get()}</title>
            <path d=move || values.with(|v| sparkline_path(v, max))/>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_break_the_line_and_lone_points_show() {
        let d = sparkline_path(&[Some(0.0), Some(100.0), None, Some(50.0)], 100.0);
        assert_eq!(d, "M0.0 24.0L40.0 0.0M120.0 12.0h1");
        assert_eq!(sparkline_path(&[None, None], 100.0), "");
        // Out of range values stay inside the box.
        assert_eq!(
            sparkline_path(&[Some(500.0), Some(-1.0)], 100.0),
            "M0.0 0.0L120.0 24.0"
        );
    }
}
