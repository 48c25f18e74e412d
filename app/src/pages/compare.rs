//! Compare runs (`/compare?runs=3,5,8`): overlaid curves per metric, the
//! final and best values, and parameters against a metric.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use trainyard_core::runs::{lower_is_better, RunComparison};

use crate::components::final_values::FinalValues;
use crate::components::metric_chart::{line_of, MetricChart};
use crate::components::parallel_coords::ParallelCoords;
use crate::loaded::load;
use crate::server_fns::compare_runs;

/// The run ids of `?runs=`, or what is wrong with them.
pub fn parse_ids(text: &str) -> Result<Vec<i64>, String> {
    let ids: Vec<i64> = text
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            t.trim()
                .parse::<i64>()
                .map_err(|_| format!("{t:?} is not a run id (ids are numbers)"))
        })
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err("no runs chosen: pick runs on a project's page".into());
    }
    Ok(ids)
}

#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let ids = Memo::new(move |_| query.with(|q| parse_ids(&q.get("runs").unwrap_or_default())));
    let cmp = load(
        move || ids.get(),
        |ids| async move {
            match ids {
                Ok(ids) => compare_runs(ids).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            }
        },
    );
    view! {
        <Title text="Compare runs"/>
        <div class="page-head"><h1>"Compare runs"</h1></div>
        <Transition fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
            {move || Suspend::new(async move {
                match cmp.await {
                    Ok(c) => view! { <Comparison cmp=c/> }.into_any(),
                    Err(e) => view! {
                        <p class="error" role="alert">"Could not compare: " {e}</p>
                        <p><a href="/projects">"Pick runs on a project's page"</a></p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Comparison(cmp: RunComparison) -> impl IntoView {
    let lower = RwSignal::new(HashMap::<String, bool>::new());
    let metric = RwSignal::new(cmp.keys.first().cloned().unwrap_or_default());
    let metric_lower = Signal::derive(move || {
        let key = metric.get();
        lower.with(|m| {
            m.get(&key)
                .copied()
                .unwrap_or_else(|| lower_is_better(&key))
        })
    });
    let charts = cmp
        .keys
        .iter()
        .map(|key| {
            let lines: Vec<_> = cmp
                .runs
                .iter()
                .filter_map(|r| {
                    r.series
                        .iter()
                        .find(|s| &s.key == key)
                        .map(|s| line_of(format!("#{} {}", r.job.id, r.job.name), s))
                })
                .collect();
            view! { <MetricChart title=key.clone() lines=Signal::stored(lines)/> }
        })
        .collect_view();
    let names = cmp.runs.iter().map(|r| view! {
        <a href=format!("/jobs/{}", r.job.id) class="run-chip">{format!("#{} {}", r.job.id, r.job.name)}</a>
    }).collect_view();
    let keys = cmp.keys.clone();
    let empty = cmp.keys.is_empty();
    view! {
        <p class="run-chips" data-testid="compared-runs">{names}</p>
        {empty.then(|| view! { <p class="muted">"None of these runs reported metrics yet."</p> })}
        <section class="card">
            <h2>"Final and best values"</h2>
            <FinalValues cmp=cmp.clone() lower=lower/>
        </section>
        <section class="card">
            <h2>"Curves"</h2>
            <div class="chart-grid" data-testid="compare-charts">{charts}</div>
        </section>
        <section class="card">
            <header class="card-head">
                <h2>"Parameters against a metric"</h2>
                <select aria-label="Metric" on:change=move |ev| metric.set(event_target_value(&ev))>
                    {keys.into_iter().map(|k| view! { <option value=k.clone()>{k.clone()}</option> }).collect_view()}
                </select>
            </header>
            <ParallelCoords cmp=cmp lower=metric_lower metric=metric.into()/>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ids;

    #[test]
    fn run_ids_are_numbers_and_at_least_one() {
        assert_eq!(parse_ids("3, 5,8,"), Ok(vec![3, 5, 8]));
        assert!(parse_ids("3,x").is_err_and(|e| e.contains("\"x\"")));
        assert!(parse_ids("").is_err());
    }
}
