//! The Projects page's note about imported log trees (`--import-dir`), with
//! a button that reads every imported run again. Shown only when the server
//! imports any.

use leptos::prelude::*;
use trainyard_core::runs::ImportReport;

use crate::loaded::load;
use crate::server_fns::{import_dirs, reindex_imports};

#[component]
pub fn ReindexImports(
    /// Called after a re-index, so the page can reload its lists.
    on_done: Callback<()>,
) -> impl IntoView {
    let dirs = load(|| (), |_| import_dirs());
    let reindex = Action::new(|_: &()| reindex_imports());
    Effect::new(move |_| {
        if let Some(Ok(_)) = reindex.value().get() {
            on_done.run(());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match dirs.await {
                    Ok(list) if !list.is_empty() => view! {
                        <div class="card import-note" data-testid="imports">
                            <span>"Imported runs from " <code>{list.join(", ")}</code>
                                " (watched: new runs and rows appear within seconds)."</span>
                            <button type="button" class="small-button" data-testid="reindex"
                                disabled=move || reindex.pending().get()
                                on:click=move |_| { reindex.dispatch(()); }>
                                {move || if reindex.pending().get() { "Re-indexing…" } else { "Re-index" }}
                            </button>
                            {move || reindex.value().get().map(|result| match result {
                                Ok(report) => view! { <ReportLine report/> }.into_any(),
                                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                            })}
                        </div>
                    }.into_any(),
                    _ => ().into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ReportLine(report: ImportReport) -> impl IntoView {
    let summary = format!(
        "Re-indexed {} runs ({} new, {} updated).",
        report.runs, report.added, report.updated
    );
    view! {
        <p class="muted small" role="status" data-testid="reindex-report">{summary}</p>
        {(!report.skipped.is_empty()).then(|| view! {
            <details>
                <summary>{format!("{} left out", report.skipped.len())}</summary>
                <ul class="small">{report.skipped.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ul>
            </details>
        })}
    }
}
