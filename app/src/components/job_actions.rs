//! What a user can do to one job: re-prioritize, cancel, re-run, resume.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use trainyard_core::{JobStatus, JobView, Priority};

use crate::server_fns::{cancel_job, rerun_job, resume_job, set_job_priority};
use crate::state::jobs::JobStore;

/// A priority select while the job waits, else its priority as text.
#[component]
pub fn PrioritySelect(job: RwSignal<JobView>) -> impl IntoView {
    let jobs = expect_context::<JobStore>();
    let id = job.with_untracked(|j| j.id);
    let change = Action::new(move |priority: &Priority| {
        let priority = *priority;
        async move { set_job_priority(id, priority).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(view)) = change.value().get() {
            jobs.upsert(view);
        }
    });
    let queued = move || job.with(|j| j.status == JobStatus::Queued);
    let priority = move || job.with(|j| j.priority);
    view! {
        <Show when=queued fallback=move || view! { <span class="muted">{move || priority().label()}</span> }>
            <select
                class="inline-select"
                aria-label="Priority"
                data-testid="job-priority"
                disabled=move || change.pending().get()
                prop:value=move || priority().label()
                on:change=move |ev| {
                    if let Ok(p) = event_target_value(&ev).parse::<Priority>() {
                        change.dispatch(p);
                    }
                }
            >
                {Priority::ALL
                    .into_iter()
                    // `selected` too: the server-rendered select shows it before hydration.
                    .map(|p| view! { <option value=p.label() selected=move || priority() == p>{p.label()}</option> })
                    .collect_view()}
            </select>
        </Show>
        {move || {
            change.value().get().and_then(|r| r.err()).map(|e| view! {
                <span class="error small" role="alert">{e.to_string()}</span>
            })
        }}
    }
    .into_any()
}

/// Cancel (while it waits or runs) and Re-run (once it ended) buttons.
#[component]
pub fn JobButtons(
    job: RwSignal<JobView>,
    /// Go to the new job's page after a re-run.
    #[prop(optional)]
    open_rerun: bool,
    /// Offer *Resume* (from the last checkpoint) once it failed, was
    /// cancelled or lost.
    #[prop(optional)]
    resume: bool,
) -> impl IntoView {
    let navigate = use_navigate();
    let jobs = expect_context::<JobStore>();
    let id = job.with_untracked(|j| j.id);
    let cancel = Action::new(move |_: &()| async move { cancel_job(id).await });
    let rerun = Action::new(move |_: &()| async move { rerun_job(id).await });
    let resumed = Action::new(move |_: &()| async move { resume_job(id).await });
    Effect::new(move |_| {
        if let Some(Ok(view)) = cancel.value().get() {
            jobs.upsert(view);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(view)) = resumed.value().get() {
            jobs.upsert(view);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(view)) = rerun.value().get() {
            let new_id = view.id;
            jobs.upsert(view);
            if open_rerun {
                navigate(&format!("/jobs/{new_id}"), Default::default());
            }
        }
    });
    let status = move || job.with(|j| j.status);
    let cancelling = move || job.with(|j| j.cancel_requested);
    let can_cancel = move || {
        matches!(
            status(),
            JobStatus::Queued | JobStatus::Assigned | JobStatus::Running
        )
    };
    let can_rerun = move || status().is_final() || status() == JobStatus::Lost;
    let can_resume = move || {
        resume
            && matches!(
                status(),
                JobStatus::Failed | JobStatus::Cancelled | JobStatus::Lost
            )
    };
    let error = move || {
        cancel
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| rerun.value().get().and_then(|r| r.err()))
            .or_else(|| resumed.value().get().and_then(|r| r.err()))
            .map(|e| view! { <span class="error small" role="alert">{e.to_string()}</span> })
    };
    view! {
        <span class="job-buttons">
            <Show when=can_cancel>
                <button
                    type="button"
                    class="danger small-button"
                    data-testid="cancel-job"
                    disabled=move || cancelling() || cancel.pending().get()
                    on:click=move |_| {
                        cancel.dispatch(());
                    }
                >
                    {move || if cancelling() || cancel.pending().get() { "Cancelling…" } else { "Cancel" }}
                </button>
            </Show>
            <Show when=can_rerun>
                <button
                    type="button"
                    class="small-button"
                    data-testid="rerun-job"
                    disabled=move || rerun.pending().get()
                    on:click=move |_| {
                        rerun.dispatch(());
                    }
                >
                    "Re-run with this config"
                </button>
            </Show>
            <Show when=can_resume>
                <button
                    type="button"
                    class="small-button"
                    data-testid="resume-job"
                    title="Queue it again from its last synced checkpoint"
                    disabled=move || resumed.pending().get()
                    on:click=move |_| {
                        resumed.dispatch(());
                    }
                >
                    "Resume"
                </button>
            </Show>
            {error}
        </span>
    }
    .into_any()
}
