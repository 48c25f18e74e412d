//! One project's runs: which run is best. Sorted, filtered, searched and
//! paged on the server (smooth with 10,000 runs); pick runs to compare;
//! export what matches as CSV.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use trainyard_core::runs::{ArchivedFilter, RunColumn, RunsQuery};
use trainyard_core::JobStatus;

use crate::components::run_timeline::RunTimeline;
use crate::components::runs_table::RunsTable;
use crate::loaded::load;
use crate::server_fns::{get_dashboard_jobs, list_runs};

/// Runs per page.
const PAGE_SIZE: u32 = 50;

#[component]
pub fn ProjectPage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|p| p.get("name").unwrap_or_default()));
    let sort = RwSignal::new((RunColumn::Id, true));
    let status = RwSignal::new(None::<JobStatus>);
    let search = RwSignal::new(String::new());
    let page = RwSignal::new(0u32);
    let archived = RwSignal::new(ArchivedFilter::Exclude);
    let selected = RwSignal::new(Vec::<i64>::new());
    // Any change but the page itself starts again at the first page.
    Effect::new(move |first: Option<()>| {
        sort.track();
        status.track();
        search.track();
        archived.track();
        if first.is_some() {
            page.set(0);
        }
    });
    // Another project (the page is reused when only the name changes):
    // its columns differ, so a parameter or metric sort would be refused.
    Effect::new(move |first: Option<()>| {
        name.track();
        if first.is_some() {
            sort.set((RunColumn::Id, true));
            selected.set(Vec::new());
        }
    });
    let query = Memo::new(move |_| RunsQuery {
        project: name.get(),
        status: status.get(),
        search: search.get(),
        sort: sort.with(|s| s.0.clone()),
        descending: sort.with(|s| s.1),
        page: page.get(),
        page_size: PAGE_SIZE,
        archived: archived.get(),
    });
    // Bumped after an archive or restore: the page is fetched again.
    let changes = RwSignal::new(0u32);
    let runs = load(move || (query.get(), changes.get()), |(q, _)| list_runs(q));
    let changed = Callback::new(move |()| changes.update(|n| *n += 1));
    let timeline = load(move || name.get(), |name| get_dashboard_jobs(Some(name)));
    let compare_href = move || {
        let ids: Vec<String> = selected.with(|s| s.iter().map(i64::to_string).collect());
        format!("/compare?runs={}", ids.join(","))
    };
    view! {
        <Title text=move || name.get()/>
        <div class="page-head">
            <h1><a href="/projects" class="muted">"Projects"</a>" / "<span data-testid="project-name">{move || name.get()}</span></h1>
            <a class="button" data-testid="publish-best-link"
                href=move || format!("/models?project={}", crate::format::percent_encode(&name.get(), b""))>
                "Best run → model"
            </a>
        </div>
        <div class="toolbar">
            <input type="search" placeholder="Search name, parameters, notes, tags" aria-label="Search runs"
                data-testid="runs-search" on:change=move |ev| search.set(event_target_value(&ev))/>
            <select aria-label="Status" data-testid="runs-status" on:change=move |ev| {
                status.set(event_target_value(&ev).parse::<JobStatus>().ok());
            }>
                <option value="">"any status"</option>
                {JobStatus::ALL.into_iter().map(|s| view! { <option value=s.label()>{s.label()}</option> }).collect_view()}
            </select>
            <select aria-label="Archived runs" data-testid="runs-archived" on:change=move |ev| {
                archived.set(event_target_value(&ev).parse().unwrap_or_default());
            }>
                <option value="exclude">"archived hidden"</option>
                <option value="include">"archived shown"</option>
                <option value="only">"archived only"</option>
            </select>
            <a class="button" data-testid="compare-link" href=compare_href
                class:disabled=move || selected.with(Vec::is_empty)
                aria-disabled=move || selected.with(Vec::is_empty).to_string()>
                {move || format!("Compare {} selected", selected.with(Vec::len))}
            </a>
            <CsvButton query=query/>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                timeline.await.ok().filter(|t| !t.recent.is_empty()).map(|t| view! {
                    <section class="card">
                        <h2>"Recent runs"</h2>
                        <RunTimeline runs=t.recent now_ms=t.server_time_ms/>
                    </section>
                })
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
            {move || Suspend::new(async move {
                match runs.await {
                    Ok(p) if p.total == 0 => view! {
                        <p class="muted">"No runs match. Clear the search or the status filter, or show archived runs."</p>
                    }.into_any(),
                    Ok(p) => {
                        let pages = p.total.div_ceil(u64::from(p.page_size)).max(1);
                        let total = p.total;
                        let at = p.page;
                        view! {
                            <section class="card">
                                <RunsTable page=p sort=sort selected=selected changed=changed/>
                                <div class="pager">
                                    <button type="button" class="small-button" disabled={at == 0}
                                        on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"← Previous"</button>
                                    <span class="muted small num" data-testid="runs-count">
                                        {format!("page {} of {pages} · {total} runs", at + 1)}
                                    </span>
                                    <button type="button" class="small-button" disabled={u64::from(at) + 1 >= pages}
                                        on:click=move |_| page.update(|p| *p += 1)>"Next →"</button>
                                </div>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! {
                        <p class="error" role="alert">{e.to_string()}</p>
                        <p><a href="/projects">"All projects"</a></p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Downloads every run matching the filter as CSV.
#[component]
fn CsvButton(query: Memo<RunsQuery>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let export = move |_| {
        let q = query.get_untracked();
        leptos::task::spawn_local(async move {
            let result = match crate::server_fns::export_runs_csv(q.clone()).await {
                Ok(text) => save(&format!("{}-runs.csv", q.project), &text).await,
                Err(e) => Err(e.to_string()),
            };
            error.try_set(result.err());
        });
    };
    view! {
        <button type="button" class="small-button" data-testid="export-csv" on:click=export>"Export CSV"</button>
        {move || error.get().map(|e| view! { <span class="error small" role="alert">{e}</span> })}
    }
}

#[cfg(feature = "hydrate")]
async fn save(name: &str, text: &str) -> Result<(), String> {
    crate::js::charts::download_text(name, text, "text/csv").await
}

#[cfg(not(feature = "hydrate"))]
async fn save(_name: &str, _text: &str) -> Result<(), String> {
    Ok(())
}
