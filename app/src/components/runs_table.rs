//! A project's runs: one row per run with status, start, duration, its
//! parameters and final metrics as columns, notes and tags, and a checkbox
//! to pick runs for a comparison. Sorting happens on the server; a header
//! click asks for it.

use leptos::prelude::*;
use trainyard_core::runs::{RunColumn, RunRow, RunsPage};

use crate::components::job_status::JobStatusBadge;
use crate::components::relative_time::MaybeRelativeTime;
use crate::components::run_notes::RunNotesCells;
use crate::components::run_state::{ArchiveButton, RunOriginText, RunSyncBadge};
use crate::format::elapsed;

/// A metric value as the table shows it: up to 4 significant decimals.
pub fn metric_text(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        let text = format!("{v:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

#[component]
pub fn RunsTable(
    page: RunsPage,
    sort: RwSignal<(RunColumn, bool)>,
    selected: RwSignal<Vec<i64>>,
    /// Told when a row was archived or restored, so the page refetches.
    #[prop(into)]
    changed: Callback<()>,
) -> impl IntoView {
    let header = move |column: RunColumn, label: String, numeric: bool| {
        let c = column.clone();
        let testid = format!("sort-{}", column.param());
        let state = Memo::new(move |_| sort.with(|(s, desc)| (*s == c).then_some(*desc)));
        let state = move || state.get();
        let class = move || match (numeric, state().is_some()) {
            (true, true) => "num sorted",
            (true, false) => "num",
            (false, true) => "sorted",
            (false, false) => "",
        };
        let arrow = move || match state() {
            Some(true) => "↓",
            Some(false) => "↑",
            None => "",
        };
        let aria = move || state().map(|d| if d { "descending" } else { "ascending" });
        view! {
            <th scope="col" class=class aria-sort=aria>
                <button type="button" class="sort" data-testid=testid
                    on:click=move |_| sort.update(|(s, desc)| {
                        if *s == column { *desc = !*desc } else { *s = column.clone(); *desc = numeric }
                    })>
                    {label}<span class="sort-arrow" aria-hidden="true">{arrow}</span>
                </button>
            </th>
        }
    };
    let params = page.param_keys.clone();
    let metrics = page.metric_keys.clone();
    let head = view! {
        <tr>
            <th scope="col"><span class="visually-hidden">"Select"</span></th>
            {header(RunColumn::Id, "#".into(), true)}
            {header(RunColumn::Name, "Run".into(), false)}
            {header(RunColumn::Status, "Status".into(), false)}
            <th scope="col">"Origin"</th>
            <th scope="col">"Sync"</th>
            {header(RunColumn::Started, "Started".into(), false)}
            {header(RunColumn::Duration, "Duration".into(), true)}
            {params.iter().map(|k| header(RunColumn::Param(k.clone()), k.clone(), true)).collect_view()}
            {metrics.iter().map(|k| header(RunColumn::Metric(k.clone()), k.clone(), true)).collect_view()}
            <th scope="col">"Tags"</th>
            <th scope="col">"Notes"</th>
            <th scope="col"><span class="visually-hidden">"Archive"</span></th>
        </tr>
    };
    view! {
        <div class="table-scroll">
            <table class="data runs" data-testid="runs">
                <thead>{head}</thead>
                <tbody>
                    {page.rows.into_iter().map(|row| view! {
                        <RunTableRow row=row params=params.clone() metrics=metrics.clone() selected=selected changed=changed/>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn RunTableRow(
    row: RunRow,
    params: Vec<String>,
    metrics: Vec<String>,
    selected: RwSignal<Vec<i64>>,
    changed: Callback<()>,
) -> impl IntoView {
    let job = row.job;
    let archived = row.state.archived_ms.is_some();
    // Imported and MLflow-created runs are never scheduled: archivable
    // whatever their status.
    let finished = job.status.is_final()
        || matches!(
            row.state.server_origin,
            Some(
                trainyard_core::runs::RunOrigin::Imported | trainyard_core::runs::RunOrigin::Mlflow
            )
        );
    let id = job.id;
    let checked = move || selected.with(|s| s.contains(&id));
    let param_cells = params
        .iter()
        .map(|k| {
            let value = job
                .params
                .iter()
                .find(|(p, _)| p == k)
                .map(|(_, v)| v.clone());
            view! { <td class="num">{value.unwrap_or_else(|| "–".into())}</td> }
        })
        .collect_view();
    let metric_cells = metrics
        .iter()
        .map(|k| {
            let value = row.metrics.iter().find(|(m, _)| m == k).map(|(_, v)| metric_text(*v));
            view! { <td class="num" data-metric=k.clone()>{value.unwrap_or_else(|| "–".into())}</td> }
        })
        .collect_view();
    view! {
        <tr data-testid="run-row" data-run-id=id class:archived=archived>
            <td>
                <input type="checkbox" data-testid="run-select" aria-label=format!("Select run {id} to compare")
                    prop:checked=checked
                    on:change=move |_| selected.update(|s| {
                        if let Some(at) = s.iter().position(|x| *x == id) { s.remove(at); } else { s.push(id); }
                    })/>
            </td>
            <td class="num"><a href=format!("/jobs/{id}")>{id}</a></td>
            <td class="job-name"><a href=format!("/jobs/{id}")>{job.name.clone()}</a></td>
            <td><JobStatusBadge status=job.status/></td>
            <td><RunOriginText state=row.state.clone()/></td>
            <td><RunSyncBadge state=row.state.clone()/></td>
            <td><MaybeRelativeTime ms=job.started_ms/></td>
            <td class="num">{job.duration_ms.map_or_else(|| "–".to_string(), elapsed)}</td>
            {param_cells}
            {metric_cells}
            <RunNotesCells id=id notes=row.notes/>
            <td><ArchiveButton id=id archived=archived finished=finished done=changed/></td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::metric_text;

    #[test]
    fn metric_values_are_short_and_exact_enough() {
        assert_eq!(metric_text(0.123456), "0.1235");
        assert_eq!(metric_text(2.0), "2");
        assert_eq!(metric_text(0.00001234), "1.234e-5");
        assert_eq!(metric_text(0.0), "0");
    }
}
