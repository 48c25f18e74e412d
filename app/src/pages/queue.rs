//! Queue: what runs where, what waits and why; live.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use trainyard_core::{JobStatus, JobView};

use crate::components::job_table::sort::{sort_jobs, JobSort, SortKey};
use crate::components::job_table::JobTable;
use crate::server_fns::list_jobs;
use crate::state::fleet::Fleet;
use crate::state::jobs::JobStore;

/// The status chips: a label and the statuses it shows (none = all).
const CHIPS: [(&str, &[JobStatus]); 7] = [
    ("all", &[]),
    ("running", &[JobStatus::Running, JobStatus::Assigned]),
    ("queued", &[JobStatus::Queued]),
    ("succeeded", &[JobStatus::Succeeded]),
    ("failed", &[JobStatus::Failed]),
    ("cancelled", &[JobStatus::Cancelled]),
    ("lost", &[JobStatus::Lost]),
];

#[component]
pub fn QueuePage() -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let jobs = expect_context::<JobStore>();
    let query = use_query_map();
    let sweep =
        Memo::new(move |_| query.with(|q| q.get("sweep").and_then(|s| s.parse::<i64>().ok())));
    // In the URL, next to `sweep`, so a reload or a shared link keeps it.
    let sort = Memo::new(move |_| {
        query.with(|q| JobSort::from_query(q.get_str("sort"), q.get_str("dir")))
    });
    let navigate = use_navigate();
    let on_sort = Callback::new(move |key: SortKey| {
        let mut params = query.get_untracked();
        params.remove("sort");
        params.remove("dir");
        if let Some(next) = JobSort::after_click(sort.get_untracked(), key) {
            params.replace("sort", next.key.param().to_string());
            params.replace("dir", next.dir_param().to_string());
        }
        let options = NavigateOptions {
            replace: true,
            scroll: false,
            ..Default::default()
        };
        navigate(&format!("/queue{}", params.to_query_string()), options);
    });
    let chip = RwSignal::new(0usize);
    let search = RwSignal::new(String::new());

    crate::state::jobs::load_progress(jobs);
    let snapshot = Resource::new(
        move || (sweep.get(), fleet.resync.get()),
        |(sweep, _)| list_jobs(None, sweep),
    );
    // Jobs of this sweep (or all) matching the name search, before the chips.
    let matching = Memo::new(move |_| {
        let needle = search.get().to_lowercase();
        let sweep = sweep.get();
        jobs.views()
            .into_iter()
            .filter(|j| sweep.is_none_or(|s| j.sweep_id == s))
            .filter(|j| needle.is_empty() || j.name.to_lowercase().contains(&needle))
            .collect::<Vec<JobView>>()
    });
    let shown = Memo::new(move |_| {
        let statuses = CHIPS[chip.get()].1;
        let mut list: Vec<JobView> = matching.with(|list| {
            list.iter()
                .filter(|j| chip_shows(statuses, j.status))
                .cloned()
                .collect()
        });
        let sort = sort.get();
        // Only a duration sort follows the clock (running jobs grow).
        let now = match sort {
            Some(JobSort {
                key: SortKey::Duration,
                ..
            }) => fleet.now_ms.get(),
            _ => 0,
        };
        sort_jobs(&mut list, sort, now);
        list.into_iter().map(|j| j.id).collect::<Vec<i64>>()
    });

    view! {
        <Title text="Queue"/>
        <div class="page-head">
            <h1>"Queue"</h1>
            <p class="muted num" data-testid="queue-summary">{move || matching.with(|list| summary(list))}</p>
        </div>
        <div class="filters">
            <div class="chips" role="group" aria-label="Status">
                {CHIPS
                    .iter()
                    .enumerate()
                    .map(|(i, (label, statuses))| {
                        let n = move || {
                            matching.with(|list| {
                                list.iter().filter(|j| chip_shows(statuses, j.status)).count()
                            })
                        };
                        view! {
                            <button
                                type="button"
                                class={move || if chip.get() == i { "chip on" } else { "chip" }}
                                aria-pressed=move || (chip.get() == i).to_string()
                                data-testid=format!("chip-{label}")
                                on:click=move |_| chip.set(i)
                            >
                                {*label} " " <span class="num chip-count">{n}</span>
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <input
                type="search"
                class="search"
                placeholder="Search names"
                aria-label="Search job names"
                data-testid="job-search"
                prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev))
            />
            {move || sweep.get().map(|s| view! {
                <span class="chip on sweep-filter" data-testid="sweep-filter">
                    {format!("sweep {s}")} " " <a href="/queue" aria-label="Show all sweeps">"×"</a>
                </span>
            })}
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading jobs…"</p> }>
            {move || Suspend::new(async move {
                match snapshot.await {
                    Ok(snapshot) => {
                        fleet.sync_clock(snapshot.server_time_ms);
                        jobs.seed(&snapshot.jobs);
                        view! {
                            <Show when=move || !matching.with(Vec::is_empty) fallback=EmptyQueue>
                                <JobTable ids=shown sort=sort on_sort=on_sort/>
                                <Show when=move || shown.with(Vec::is_empty)>
                                    <p class="muted">"No jobs with this status."</p>
                                </Show>
                            </Show>
                        }
                        .into_any()
                    }
                    Err(e) => view! {
                        <p class="error" role="alert">"Could not load jobs: " {e.to_string()} ". Reload the page to try again."</p>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
    .into_any()
}

/// Whether a chip's statuses include `status` (none listed: all do).
fn chip_shows(statuses: &[JobStatus], status: JobStatus) -> bool {
    statuses.is_empty() || statuses.contains(&status)
}

/// "2 running · 3 queued · 7 finished".
fn summary(jobs: &[JobView]) -> String {
    let running = jobs.iter().filter(|j| j.status.is_active()).count();
    let queued = jobs
        .iter()
        .filter(|j| j.status == JobStatus::Queued)
        .count();
    let finished = jobs.iter().filter(|j| j.status.is_final()).count();
    format!("{running} running · {queued} queued · {finished} finished")
}

#[component]
fn EmptyQueue() -> impl IntoView {
    view! {
        <div class="empty" data-testid="empty-queue">
            <h2>"No jobs yet"</h2>
            <p>"Write an experiment on the " <a href="/execute">"Execute"</a> " page, or submit one from a shell:"</p>
            <pre><code>"trainyard submit examples/sweep.yaml"</code></pre>
            <p class="muted">"Jobs wait here until a host has the GPUs they ask for."</p>
        </div>
    }
}
