//! How long a job ran, or has been running (ticking with the fleet clock).

use leptos::prelude::*;
use trainyard_core::JobView;

use crate::format::elapsed;
use crate::state::fleet::Fleet;

/// Run time in ms: measured by the agent once ended, else until now.
pub fn run_ms(job: &JobView, now_ms: i64) -> Option<i64> {
    let started = job.started_ms?;
    Some(match (job.duration_ms, job.finished_ms) {
        (Some(d), _) => d,
        (None, Some(finished)) => finished - started,
        (None, None) if job.status.is_active() => now_ms - started,
        (None, None) => return None,
    })
}

#[component]
pub fn JobDuration(job: RwSignal<JobView>) -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let text = move || {
        let now = fleet.now_ms.get();
        job.with(|j| run_ms(j, now))
            .map_or_else(|| "–".to_string(), elapsed)
    };
    view! { <span class="num" data-testid="job-duration">{text}</span> }
}
