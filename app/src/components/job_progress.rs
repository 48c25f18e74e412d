//! How far a running job is: "epoch 3/10 · 1 min 20 s left", from its metric
//! lines (`progress` events), with a thin bar. Nothing until it reports.

use leptos::prelude::*;
use trainyard_core::runs::RunProgress;

use crate::format::elapsed;
use crate::state::jobs::JobStore;

/// The progress text: `epoch 3/10 · 1m 20s left`.
pub fn progress_text(p: &RunProgress) -> String {
    let count = format!("{} {}/{}", p.unit, number(p.current), number(p.total));
    match p.eta_secs {
        Some(secs) if p.current < p.total => {
            let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
            format!("{count} · {} left", elapsed(ms))
        }
        _ => count,
    }
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.1}")
    }
}

#[component]
pub fn JobProgress(id: i64, active: Signal<bool>) -> impl IntoView {
    let jobs = expect_context::<JobStore>();
    move || {
        let progress = jobs.progress(id)?;
        if !active.get() {
            return None;
        }
        let p = progress.get();
        let width = format!("width: {:.1}%", p.fraction() * 100.0);
        Some(view! {
            <span class="job-progress" data-testid="job-progress" title="From the job's metric lines">
                <span class="progress-bar"><span style=width></span></span>
                <span class="muted small num">{progress_text(&p)}</span>
            </span>
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_count_and_time_left() {
        let mut p = RunProgress {
            job_id: 1,
            current: 3.0,
            total: 10.0,
            unit: "epoch".into(),
            eta_secs: Some(80),
        };
        assert_eq!(progress_text(&p), "epoch 3/10 · 1 min 20 s left");
        p.eta_secs = None;
        assert_eq!(progress_text(&p), "epoch 3/10");
    }
}
