//! Where a run ran (`local`, a host id, `imported`), whether the server has
//! all of its files (synced, syncing, outdated), and whether it is archived;
//! plus the archive/restore button of the Projects page.

use leptos::prelude::*;
use trainyard_core::runs::{RunState, RunSync};

use crate::server_fns::{archive_run, restore_run};

/// What each sync state means, for the badge's tooltip.
fn sync_title(sync: RunSync) -> &'static str {
    match sync {
        RunSync::Synced => "its agent reported the end after every file reached the server",
        RunSync::Syncing => "running: its files are arriving",
        RunSync::Outdated => "its host is unreachable (or it ended without a final sync): the server may not have every file",
    }
}

/// The origin as text, `–` before the run started.
#[component]
pub fn RunOriginText(state: RunState) -> impl IntoView {
    let label = state
        .server_origin
        .as_ref()
        .map_or_else(|| "–".to_string(), |o| o.label().to_string());
    view! { <span class="run-origin" data-testid="run-origin">{label}</span> }
}

/// The sync state as a badge, `–` before the run started.
#[component]
pub fn RunSyncBadge(state: RunState) -> impl IntoView {
    match state.sync_status {
        Some(sync) => view! {
            <span class=format!("badge run-sync sync-{}", sync.label()) title=sync_title(sync)
                data-testid="run-sync" data-sync=sync.label()>{sync.label()}</span>
        }
        .into_any(),
        None => view! { <span class="muted" data-testid="run-sync">"–"</span> }.into_any(),
    }
}

/// Archive (or, for an archived run, restore) run `id`; `done` is told
/// after the server agreed. Only finished runs can be archived.
#[component]
pub fn ArchiveButton(
    id: i64,
    archived: bool,
    finished: bool,
    #[prop(into)] done: Callback<()>,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let click = move |_| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = if archived {
                restore_run(id).await
            } else {
                archive_run(id).await
            };
            busy.try_set(false);
            match result {
                Ok(_) => {
                    error.try_set(None);
                    done.run(());
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
        });
    };
    let (label, title) = if archived {
        ("Restore", "Show this run in the table again")
    } else if finished {
        ("Archive", "Hide this run; its files stay until a purge")
    } else {
        (
            "Archive",
            "Only finished runs can be archived: cancel it first",
        )
    };
    view! {
        <button type="button" class="small-button" data-testid=if archived { "run-restore" } else { "run-archive" }
            title=title disabled=move || busy.get() || (!archived && !finished) on:click=click>{label}</button>
        {move || error.get().map(|e| view! { <span class="error small" role="alert">{e}</span> })}
    }
}
