//! The Job page's Code section: what the job ran with (each component and
//! `code:` file with its content hash, linked to its code), and Re-run
//! exactly, which pins a new job to this code.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use trainyard_core::components::JobManifest;
use trainyard_core::JobView;

use crate::components::run_files::size_text;
use crate::format::short_hash;
use crate::loaded::Loaded;
use crate::server_fns::{rerun_exactly, UiError};
use crate::state::jobs::JobStore;

/// A job's manifest, made by the page with its other loads and fetched
/// again when the job changes state (a retry syncs anew).
pub type JobManifestLoad = Loaded<Result<Option<JobManifest>, UiError>>;

#[component]
pub fn JobManifestSection(
    id: i64,
    job: RwSignal<JobView>,
    manifest: JobManifestLoad,
) -> impl IntoView {
    view! {
        <section class="card" id="code" data-testid="job-manifest">
            <div class="card-head">
                <h2>"Code"</h2>
                <RerunExactly id=id job=job/>
            </div>
            {move || job.with(|j| j.code_from).map(|source| view! {
                <p class="small">"Runs the exact code of " <a href=format!("/jobs/{source}")>{format!("job {source}")}</a> "."</p>
            })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || manifest.get().map(|result| match result {
                    Ok(Some(m)) => view! { <ManifestTable manifest=m/> }.into_any(),
                    Ok(None) => view! {
                        <p class="muted">"No code recorded: this job references no components and lists no " <code>"code:"</code> " files, or it has not started yet."</p>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ManifestTable(manifest: JobManifest) -> impl IntoView {
    let strategy = manifest
        .strategy
        .map(|s| format!("synced with {s}, attempt {}", manifest.attempt))
        .unwrap_or_default();
    view! {
        <p class="muted small">{strategy}</p>
        <table class="data-table" data-testid="manifest-table">
            <thead><tr><th>"File"</th><th>"Content"</th><th class="num">"Size"</th><th>"When it ran"</th></tr></thead>
            <tbody>
                {manifest.entries.into_iter().map(|e| {
                    let href = if e.code {
                        format!("/api/v1/components/blobs/{}", e.hash)
                    } else {
                        format!("/components?path={}&hash={}", e.path, e.hash)
                    };
                    let state = match (e.code, e.was_active) {
                        (true, _) => "code file",
                        (false, true) => "active version",
                        (false, false) => "not the active version",
                    };
                    view! {
                        <tr data-testid="manifest-entry">
                            <td><code>{e.path.clone()}</code></td>
                            <td><a href=href title=e.hash.clone()><code>{short_hash(&e.hash)}</code></a></td>
                            <td class="num">{size_text(e.size)}</td>
                            <td class="muted">{state}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A new job with this one's config and exact code; opens it.
#[component]
fn RerunExactly(id: i64, job: RwSignal<JobView>) -> impl IntoView {
    let navigate = use_navigate();
    let jobs = expect_context::<JobStore>();
    let rerun = Action::new(move |_: &()| async move { rerun_exactly(id).await });
    Effect::new(move |_| {
        if let Some(Ok(view)) = rerun.value().get() {
            let new_id = view.id;
            jobs.upsert(view);
            navigate(&format!("/jobs/{new_id}"), Default::default());
        }
    });
    let finished =
        move || job.with(|j| j.status.is_final() || j.status == trainyard_core::JobStatus::Lost);
    view! {
        <Show when=finished>
            <button
                data-testid="rerun-exact"
                title="A new job with this config and exactly this code, whatever the active versions are now"
                disabled=move || rerun.pending().get()
                on:click=move |_| { rerun.dispatch(()); }
            >"Re-run exactly"</button>
        </Show>
        {move || rerun.value().get().and_then(|r| r.err()).map(|e| view! {
            <span class="error small" role="alert">{e.to_string()}</span>
        })}
    }
}
