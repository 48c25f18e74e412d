//! Recent runs on a time axis: one lane per run, a bar from its start to
//! its end (or now, while it runs), coloured by status, linking to the job.
//! Plain SVG, no chart library (the Dashboard is in the first-load wasm).

use leptos::prelude::*;
use trainyard_core::JobView;

use crate::format::{ago, elapsed, utc};

/// Drawing width; the SVG is stretched to its box.
const W: f64 = 1000.0;
/// Lane height and the bar's share of it.
const LANE: f64 = 10.0;
const BAR: f64 = 7.0;

/// One bar: where it sits in `0..W`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub width: f64,
}

/// Where a run from `start` to `end` sits on an axis from `t0` to `now`;
/// every run stays visible (at least 3 units wide).
pub fn bar(start: i64, end: i64, t0: i64, now: i64) -> Bar {
    let span = (now - t0).max(1) as f64;
    let x = ((start - t0) as f64 / span * W).clamp(0.0, W - 3.0);
    let width = ((end - start).max(0) as f64 / span * W).max(3.0).min(W - x);
    Bar { x, width }
}

#[component]
pub fn RunTimeline(
    /// Runs that started, newest first.
    runs: Vec<JobView>,
    /// Server time the runs were listed at.
    now_ms: i64,
) -> impl IntoView {
    if runs.is_empty() {
        return view! {
            <p class="muted" data-testid="run-timeline-empty">"No run has started yet. Runs appear here as they start and finish."</p>
        }
        .into_any();
    }
    let t0 = runs
        .iter()
        .filter_map(|j| j.started_ms)
        .min()
        .unwrap_or(now_ms);
    let height = runs.len() as f64 * LANE;
    let bars = runs
        .into_iter()
        .enumerate()
        .map(|(lane, job)| {
            let start = job.started_ms.unwrap_or(now_ms);
            let end = job.finished_ms.unwrap_or(now_ms);
            let Bar { x, width } = bar(start, end, t0, now_ms);
            let status = job.status.label();
            let title = format!(
                "{} ({}) · {} · {} · started {}",
                job.name,
                job.project,
                status,
                elapsed(end - start),
                utc(start)
            );
            view! {
                <a href=format!("/jobs/{}", job.id) data-testid="timeline-run" data-job-id=job.id data-status=status>
                    <rect
                        class=format!("bar status-{status}")
                        x=format!("{x:.1}")
                        y=format!("{:.1}", lane as f64 * LANE)
                        width=format!("{width:.1}")
                        height=BAR
                    >
                        <title>{title}</title>
                    </rect>
                </a>
            }
        })
        .collect_view();
    view! {
        <figure class="timeline" data-testid="run-timeline">
            <svg viewBox=format!("0 0 {W} {height}") preserveAspectRatio="none" height=height>
                {bars}
            </svg>
            <figcaption class="timeline-axis muted small">
                <span title=utc(t0)>{ago(now_ms - t0)}</span>
                <span>"now"</span>
            </figcaption>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_axis_and_stay_visible() {
        assert_eq!(
            bar(0, 500, 0, 1000),
            Bar {
                x: 0.0,
                width: 500.0
            }
        );
        assert_eq!(
            bar(500, 1000, 0, 1000),
            Bar {
                x: 500.0,
                width: 500.0
            }
        );
        // A run of a few ms is still a visible bar, inside the axis.
        assert_eq!(
            bar(1000, 1000, 0, 1000),
            Bar {
                x: 997.0,
                width: 3.0
            }
        );
    }
}
