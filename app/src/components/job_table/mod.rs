//! The Queue's table: one row per job, each updating in place.

pub mod sort;

use leptos::prelude::*;
use trainyard_core::{JobStatus, JobView};

use self::sort::{JobSort, SortDir, SortKey};
use super::job_actions::{JobButtons, PrioritySelect};
use super::job_duration::JobDuration;
use super::job_progress::JobProgress;
use super::job_status::JobStatusBadge;
use super::relative_time::MaybeRelativeTime;
use crate::state::jobs::JobStore;

#[component]
pub fn JobTable(
    #[prop(into)] ids: Signal<Vec<i64>>,
    /// The column the rows are sorted by (none: queue order).
    #[prop(into)]
    sort: Signal<Option<JobSort>>,
    /// Called with a header's column when it is clicked.
    on_sort: Callback<SortKey>,
) -> impl IntoView {
    let jobs = expect_context::<JobStore>();
    let header = move |key: SortKey, label: &'static str| {
        view! { <SortHeader key=key label=label sort=sort on_sort=on_sort/> }
    };
    view! {
        <div class="table-scroll">
            <table class="data jobs" data-testid="job-table">
                <thead>
                    <tr>
                        {header(SortKey::Id, "ID")}
                        {header(SortKey::Name, "Name")}
                        {header(SortKey::Project, "Project")}
                        {header(SortKey::Status, "Status")}
                        {header(SortKey::Priority, "Priority")}
                        {header(SortKey::Host, "Host · GPUs")}
                        {header(SortKey::Started, "Started")}
                        {header(SortKey::Duration, "Duration")}
                        {header(SortKey::Attempt, "Attempt")}
                        <th scope="col">"Reason"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || ids.get() key=|id| *id let:id>
                        {jobs.job(id).map(|job| view! { <JobRow job=job/> })}
                    </For>
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// A column header whose button sorts the table (click, Enter or Space):
/// ascending, descending, then back to the default order.
#[component]
fn SortHeader(
    key: SortKey,
    label: &'static str,
    sort: Signal<Option<JobSort>>,
    on_sort: Callback<SortKey>,
) -> impl IntoView {
    let numeric = matches!(key, SortKey::Id | SortKey::Duration | SortKey::Attempt);
    let dir = move || sort.get().filter(|s| s.key == key).map(|s| s.dir);
    let aria_sort = move || {
        dir().map(|d| match d {
            SortDir::Asc => "ascending",
            SortDir::Desc => "descending",
        })
    };
    let arrow = move || match dir() {
        Some(SortDir::Asc) => "↑",
        Some(SortDir::Desc) => "↓",
        None => "",
    };
    let arrow_mark = move || view! { <span class="sort-arrow" aria-hidden="true">{arrow}</span> };
    let class = move || match (numeric, dir().is_some()) {
        (true, true) => "num sorted",
        (true, false) => "num",
        (false, true) => "sorted",
        (false, false) => "",
    };
    let title = (key == SortKey::Attempt).then_some("Attempt of attempts allowed");
    view! {
        <th scope="col" class=class aria-sort=aria_sort title=title>
            <button
                type="button"
                class="sort"
                data-testid=format!("sort-{}", key.param())
                on:click=move |_| on_sort.run(key)
            >
                // Numbers are right-aligned, so their arrow goes on the left.
                {numeric.then(arrow_mark)}
                {label}
                {(!numeric).then(arrow_mark)}
            </button>
        </th>
    }
    .into_any()
}

/// "gpu-01 · 0,1", "gpu-01 · CPU", or what it asked for while it waits.
pub fn placement(job: &JobView) -> String {
    match &job.host_id {
        Some(host) => format!("{host} · {}", gpu_list(&job.gpu_indices)),
        None => {
            let wants = match job.gpus {
                0 => "CPU".to_string(),
                1 => "1 GPU".to_string(),
                n => format!("{n} GPUs"),
            };
            match &job.host_pin {
                Some(pin) => format!("wants {wants} on {pin}"),
                None => format!("wants {wants}"),
            }
        }
    }
}

/// Why the job is where it is: what happened to it (`reason`), then why it
/// still waits (`waiting`), e.g. "attempt 1 lost; requeued; waiting for a
/// free GPU". `None` when there is nothing to say.
pub fn reason_text(job: &JobView) -> Option<String> {
    match (&job.reason, &job.waiting) {
        (Some(reason), Some(waiting)) => Some(format!("{reason}; {waiting}")),
        (None, Some(waiting)) => Some(waiting.clone()),
        (reason, None) => reason.clone(),
    }
}

/// "0,1", or "CPU" when no GPUs were given.
pub fn gpu_list(indices: &[u32]) -> String {
    if indices.is_empty() {
        return "CPU".to_string();
    }
    indices
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[component]
fn JobRow(job: ArcRwSignal<JobView>) -> impl IntoView {
    let job = RwSignal::from(job);
    let id = job.with_untracked(|j| j.id);
    let status = Memo::new(move |_| job.with(|j| j.status));
    let changed = changed_flag(job);
    let reason = Memo::new(move |_| job.with(reason_text).unwrap_or_default());
    let href = format!("/jobs/{id}");
    view! {
        <tr
            class={move || if changed.get() { "job-row changed" } else { "job-row" }}
            data-testid="job-row"
            data-job-id=id
            data-status=move || status.get().label()
        >
            <td class="num"><a href=href.clone()>{id}</a></td>
            <td class="job-name"><a href=href data-testid="job-link">{move || job.with(|j| j.name.clone())}</a></td>
            <td>{move || job.with(|j| j.project.clone())}</td>
            <td>
                <JobStatusBadge
                    status=status
                    cancelling=Signal::derive(move || job.with(|j| j.cancel_requested))
                />
                <JobProgress id=id active=Signal::derive(move || status.get() == JobStatus::Running)/>
            </td>
            <td><PrioritySelect job=job/></td>
            <td class="placement" data-testid="job-host">{move || job.with(placement)}</td>
            <td><MaybeRelativeTime ms=Signal::derive(move || job.with(|j| j.started_ms))/></td>
            <td class="num"><JobDuration job=job/></td>
            <td class="num">{move || job.with(|j| format!("{} / {}", j.attempt, j.retries + 1))}</td>
            <td class="reason" title=reason>{reason}</td>
            <td class="actions"><JobButtons job=job/></td>
        </tr>
    }
    .into_any()
}

/// True for a moment after the job changes (not on first draw), so the row
/// can highlight what just happened.
fn changed_flag(job: RwSignal<JobView>) -> ReadSignal<bool> {
    let (changed, set_changed) = signal(false);
    Effect::new(move |previous: Option<()>| {
        job.track();
        if previous.is_some() {
            set_changed.set(false);
            // Re-adding the class on the next frame restarts the animation.
            request_animation_frame(move || set_changed.set(true));
        }
    });
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(reason: Option<&str>, waiting: Option<&str>) -> JobView {
        JobView {
            reason: reason.map(String::from),
            waiting: waiting.map(String::from),
            ..JobView::default()
        }
    }

    #[test]
    fn a_waiting_job_says_why_it_waits_after_what_happened_to_it() {
        let requeued = job(
            Some("attempt 1 lost; requeued"),
            Some("waiting for a free GPU"),
        );
        assert_eq!(
            reason_text(&requeued).as_deref(),
            Some("attempt 1 lost; requeued; waiting for a free GPU")
        );
        let fresh = job(None, Some("waiting for a free GPU"));
        assert_eq!(
            reason_text(&fresh).as_deref(),
            Some("waiting for a free GPU")
        );
        let failed = job(Some("exit code 1"), None);
        assert_eq!(reason_text(&failed).as_deref(), Some("exit code 1"));
        assert_eq!(reason_text(&job(None, None)), None);
    }
}
