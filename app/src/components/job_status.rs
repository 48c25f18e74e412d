//! A job's status as a coloured badge ("running", "cancelling…").

use leptos::prelude::*;
use trainyard_core::JobStatus;

#[component]
pub fn JobStatusBadge(
    #[prop(into)] status: Signal<JobStatus>,
    /// Shows "cancelling…" while the agent has not confirmed a cancel.
    #[prop(into, optional)]
    cancelling: Signal<bool>,
) -> impl IntoView {
    let label = move || {
        let status = status.get();
        if cancelling.get() && !status.is_final() {
            "cancelling…"
        } else {
            status.label()
        }
    };
    view! {
        <span
            class={move || format!("badge job-status status-{}", status.get().label())}
            data-testid="job-status"
            data-status=move || status.get().label()
        >
            {label}
        </span>
    }
}
