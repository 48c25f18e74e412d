//! Queue: what runs where, what waits and why; live.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use trainyard_core::{JobStatus, JobView};

use crate::components::job_table::sort::{sort_jobs, JobSort, SortKey};
use crate::components::job_table::JobTable;
use crate::loaded::load;
use crate::server_fns::list_jobs;
use crate::state::fleet::Fleet;
use crate::state::jobs::{load_progress, JobStore};

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
    let (sort, on_sort) = use_sort_query();
    let chip = RwSignal::new(0usize);
    let search = RwSignal::new(String::new());

    load_progress(jobs);
    let snapshot = load(
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
    let shown = shown_ids(matching, chip, sort, fleet.now_ms);

    view! {
        <Title text="Queue"/>
        <div class="page-head">
            <h1>"Queue"</h1>
            <p class="muted num" data-testid="queue-summary">{move || matching.with(|list| summary(list))}</p>
        </div>
        <div class="filters">
            <StatusChips chip=chip matching=matching/>
            <NameSearch search=search/>
            {move || sweep.get().map(|s| view! { <SweepFilter sweep=s/> })}
        </div>
        <Transition fallback=|| view! { <p class="muted">"Loading jobs…"</p> }>
            {move || Suspend::new(async move {
                match snapshot.await {
                    Ok(snapshot) => {
                        fleet.sync_clock(snapshot.server_time_ms);
                        jobs.seed(&snapshot.jobs);
                        view! { <QueueJobs matching=matching shown=shown sort=sort on_sort=on_sort/> }
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

/// The table's sort, kept in the URL next to `sweep` so a reload or a
/// shared link keeps it, and the header-click handler that moves it
/// (ascending, descending, default) without adding history entries.
fn use_sort_query() -> (Memo<Option<JobSort>>, Callback<SortKey>) {
    let query = use_query_map();
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
    (sort, on_sort)
}

/// Ids of the matching jobs the chosen chip shows, in table order. Only a
/// duration sort follows the clock (running jobs grow).
fn shown_ids(
    matching: Memo<Vec<JobView>>,
    chip: RwSignal<usize>,
    sort: Memo<Option<JobSort>>,
    now_ms: RwSignal<i64>,
) -> Memo<Vec<i64>> {
    Memo::new(move |_| {
        let statuses = CHIPS[chip.get()].1;
        let mut list: Vec<JobView> = matching.with(|list| {
            list.iter()
                .filter(|j| chip_shows(statuses, j.status))
                .cloned()
                .collect()
        });
        let sort = sort.get();
        let now = match sort {
            Some(JobSort {
                key: SortKey::Duration,
                ..
            }) => now_ms.get(),
            _ => 0,
        };
        sort_jobs(&mut list, sort, now);
        list.into_iter().map(|j| j.id).collect()
    })
}

/// One chip per status group with its count among the matching jobs;
/// `chip` is the index in [`CHIPS`] of the one that is on.
#[component]
fn StatusChips(chip: RwSignal<usize>, matching: Memo<Vec<JobView>>) -> impl IntoView {
    view! {
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
    }
}

/// The job-name search box.
#[component]
fn NameSearch(search: RwSignal<String>) -> impl IntoView {
    view! {
        <input
            type="search"
            class="search"
            placeholder="Search names"
            aria-label="Search job names"
            data-testid="job-search"
            prop:value=move || search.get()
            on:input=move |ev| search.set(event_target_value(&ev))
        />
    }
}

/// The sweep the Queue is narrowed to, with a way back to every job.
#[component]
fn SweepFilter(sweep: i64) -> impl IntoView {
    view! {
        <span class="chip on sweep-filter" data-testid="sweep-filter">
            {format!("sweep {sweep}")} " " <a href="/queue" aria-label="Show all sweeps">"×"</a>
        </span>
    }
}

/// The table, or what to do when there is nothing to show.
#[component]
fn QueueJobs(
    matching: Memo<Vec<JobView>>,
    shown: Memo<Vec<i64>>,
    sort: Memo<Option<JobSort>>,
    on_sort: Callback<SortKey>,
) -> impl IntoView {
    view! {
        <Show when=move || !matching.with(Vec::is_empty) fallback=EmptyQueue>
            <JobTable ids=shown sort=sort on_sort=on_sort/>
            <Show when=move || shown.with(Vec::is_empty)>
                <p class="muted">"No jobs with this status."</p>
            </Show>
        </Show>
    }
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
