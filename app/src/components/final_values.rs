//! The comparison table: per metric, each run's last value and its best
//! value with the step it was reached at. Best is the lowest for loss-like
//! names and the highest otherwise; a toggle per metric flips it. The best
//! run per metric is marked.

use std::collections::HashMap;

use leptos::prelude::*;
use trainyard_core::runs::{lower_is_better, RunComparison};

use crate::components::runs_table::metric_text;

#[component]
pub fn FinalValues(cmp: RunComparison, lower: RwSignal<HashMap<String, bool>>) -> impl IntoView {
    let runs = cmp.runs.clone();
    let rows = cmp
        .keys
        .into_iter()
        .map(|key| {
            let runs = runs.clone();
            let k = key.clone();
            let is_lower = Memo::new(move |_| {
                lower.with(|m| m.get(&k).copied().unwrap_or_else(|| lower_is_better(&k)))
            });
            let k2 = key.clone();
            let label = key.clone();
            let row_key = key.clone();
            let toggle = move |_| {
                let now = is_lower.get_untracked();
                lower.update(|m| {
                    m.insert(k2.clone(), !now);
                });
            };
            let cells = move || {
                let lower_better = is_lower.get();
                let bests: Vec<Option<(f64, f64)>> = runs
                    .iter()
                    .map(|r| {
                        r.finals.iter().find(|f| f.key == key).map(|f| {
                            let b = f.best(lower_better);
                            (b.value, b.step)
                        })
                    })
                    .collect();
                let winner = bests
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| b.map(|(v, _)| (i, v)))
                    .reduce(|a, b| if (b.1 < a.1) == lower_better && b.1 != a.1 { b } else { a })
                    .map(|(i, _)| i);
                runs.iter()
                    .zip(bests)
                    .enumerate()
                    .map(|(i, (run, best))| {
                        let last = run.finals.iter().find(|f| f.key == key).map(|f| metric_text(f.last.value));
                        let class = if winner == Some(i) { "num best" } else { "num" };
                        view! {
                            <td class=class data-testid="final-value">
                                {match (last, best) {
                                    (Some(last), Some((v, step))) => view! {
                                        <span>{last}</span>
                                        <span class="muted small">{format!(" · best {} @ {}", metric_text(v), metric_text(step))}</span>
                                    }.into_any(),
                                    _ => view! { <span class="muted">"–"</span> }.into_any(),
                                }}
                            </td>
                        }
                    })
                    .collect_view()
            };
            view! {
                <tr data-testid="final-row" data-key=row_key>
                    <th scope="row">{label}
                        <button type="button" class="small-button direction" on:click=toggle
                            title="Which direction is better for this metric">
                            {move || if is_lower.get() { "lower is better" } else { "higher is better" }}
                        </button>
                    </th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="data" data-testid="final-values">
                <thead>
                    <tr>
                        <th scope="col">"Metric · last · best @ step"</th>
                        {cmp.runs.iter().map(|r| view! {
                            <th scope="col" class="num"><a href=format!("/jobs/{}", r.job.id)>{r.job.name.clone()}</a></th>
                        }).collect_view()}
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}
