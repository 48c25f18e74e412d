//! Catalog: the launcher's YAML edited in the browser, checked as you type
//! with the server's own parser, saved as revisions; the history with view,
//! diff against the running revision, and restore.

use leptos::lazy;
use leptos::prelude::*;
use leptos_meta::Title;
use trainyard_core::catalog::{parse_catalog, CatalogRevision, CatalogSaved, CatalogView};

use crate::components::code_diff::UnifiedDiff;
use crate::components::config_editor::ConfigEditor;
use crate::components::config_problems::ConfigProblems;
use crate::components::relative_time::RelativeTime;
use crate::experiment::Diagnostic;
use crate::format::count;
use crate::loaded::load;
use crate::server_fns::{
    catalog_revisions, diff_catalog, load_catalog, load_catalog_revision, restore_catalog,
    save_catalog, CatalogSaveOutcome, RestoreCatalog, SaveCatalog, UiError,
};

/// Restoring a revision: the page's, handed to its history views. A plain
/// `Action` (not a `ServerAction`, which would bring the no-JS form's error
/// decoding, base64 included, into the page's wasm).
type RestoreAction = Action<RestoreCatalog, Result<CatalogSaveOutcome, UiError>>;

/// The catalog's problems as the browser finds them (`$VAR` is left as
/// written: the browser has no server environment).
fn check(yaml: &str) -> Vec<Diagnostic> {
    match parse_catalog(yaml, &|_| None) {
        Ok(_) => Vec::new(),
        Err(errors) => Diagnostic::from_errors(&errors),
    }
}

#[component]
pub fn CatalogPage() -> impl IntoView {
    let running = load(|| (), |_| load_catalog());
    view! {
        <Title text="Catalog"/>
        <div class="page-head">
            <h1>"Catalog"</h1>
            <p class="muted">"The training scripts the Launch page offers, one YAML file. Each save is a revision; only valid catalogs are saved."</p>
        </div>
        <Suspense fallback=|| view! { <p class="muted">"Loading the catalog…"</p> }>
            {move || Suspend::new(async move {
                match running.await {
                    Ok(view) => view! { <CatalogWorkspace initial=view/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">"Could not load the catalog: " {e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// Which revision the panel under the history shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Content(i64),
    DiffToRunning(i64),
}

#[component]
fn CatalogWorkspace(initial: CatalogView) -> impl IntoView {
    let text = RwSignal::new(initial.content.clone());
    let checked_text = RwSignal::new(initial.content);
    #[cfg(feature = "hydrate")]
    super::execute::debounce(text, checked_text);
    // Bumped to mount a fresh editor holding `text` (after a restore).
    let editor_epoch = RwSignal::new(0u32);
    let running_id = RwSignal::new(initial.revision.map(|r| r.id));
    // Bumped when a revision may have been created: the history reloads.
    let history_version = RwSignal::new(0u32);
    let local = Memo::new(move |_| checked_text.with(|t| check(t)));

    let save = Action::new(|input: &SaveCatalog| save_catalog(input.content.clone()));
    let restore = Action::new(|input: &RestoreCatalog| restore_catalog(input.id));
    let submitted = RwSignal::new(None::<String>);
    // The server's problems while the text it refused is unchanged, else
    // the browser's own.
    let diagnostics = Memo::new(move |_| match save.value().get() {
        Some(Ok(CatalogSaveOutcome::Invalid(d)))
            if submitted.with(|s| s.as_deref() == Some(text.get().as_str())) =>
        {
            d
        }
        _ => local.get(),
    });
    Effect::new(move |_| {
        if let Some(Ok(CatalogSaveOutcome::Saved(s))) = save.value().get() {
            running_id.set(Some(s.revision.id));
            history_version.update(|v| *v += 1);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(CatalogSaveOutcome::Saved(s))) = restore.value().get() {
            running_id.set(Some(s.revision.id));
            history_version.update(|v| *v += 1);
            // The editor takes the restored content, so a later save
            // starts from it.
            leptos::task::spawn_local(async move {
                if let Ok(view) = load_catalog().await {
                    text.set(view.content.clone());
                    checked_text.set(view.content);
                    editor_epoch.update(|e| *e += 1);
                }
            });
        }
    });

    let do_save = move || {
        if save.pending().get_untracked() {
            return;
        }
        let content = text.get_untracked();
        if checked_text.get_untracked() != content {
            checked_text.set(content.clone());
        }
        submitted.set(Some(content.clone()));
        save.dispatch(SaveCatalog { content });
    };
    let on_submit = Callback::new(move |()| do_save());
    let problem_count = Signal::derive(move || diagnostics.with(Vec::len));

    view! {
        <p class="muted small" data-testid="running-revision" data-id=move || running_id.get().map(|id| id.to_string()).unwrap_or_default()>
            {move || match running_id.get() {
                Some(id) => format!("Running revision {id}."),
                None => "No catalog saved yet.".to_string(),
            }}
        </p>
        <form
            class="catalog"
            on:submit=move |ev| {
                ev.prevent_default();
                do_save();
            }
        >
            <section class="card editor-card">
                {move || {
                    editor_epoch.track();
                    view! { <ConfigEditor text=text diagnostics=diagnostics on_submit=on_submit label="Catalog (YAML)"/> }
                }}
                <ConfigProblems diagnostics=diagnostics/>
            </section>
            <div class="catalog-actions">
                <p class="num" data-testid="catalog-check" data-valid=move || (problem_count.get() == 0).to_string()>
                    {move || match problem_count.get() {
                        0 => view! { <span class="ok">"Valid"</span> }.into_any(),
                        n => view! { <strong class="error">{count(n, "problem", "problems")}</strong> }.into_any(),
                    }}
                </p>
                <button type="submit" class="primary" data-testid="catalog-save" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save" }}
                </button>
                <span class="muted small">"or press " <kbd>"Ctrl"</kbd> "+" <kbd>"Enter"</kbd></span>
                <SaveResultLine result=Signal::derive(move || save.value().get()) testid="catalog-save-result" verb="save"/>
            </div>
        </form>
        <RevisionHistory running_id=running_id version=history_version restore=restore/>
    }
    .into_any()
}

/// What the last save or restore did.
#[component]
fn SaveResultLine(
    #[prop(into)] result: Signal<Option<Result<CatalogSaveOutcome, UiError>>>,
    testid: &'static str,
    verb: &'static str,
) -> impl IntoView {
    move || {
        result.get().map(|r| match r {
            Ok(CatalogSaveOutcome::Saved(CatalogSaved { revision, created: true })) => view! {
                <p class="ok" role="status" data-testid=testid data-outcome="created">
                    {format!("Saved as revision {}. ", revision.id)}
                    <a href="/launch">"Launch a task"</a>
                </p>
            }
            .into_any(),
            Ok(CatalogSaveOutcome::Saved(CatalogSaved { revision, created: false })) => view! {
                <p class="muted" role="status" data-testid=testid data-outcome="unchanged">
                    {format!("No change: this is the running revision {}, so no revision was created.", revision.id)}
                </p>
            }
            .into_any(),
            Ok(CatalogSaveOutcome::Invalid(d)) => view! {
                <p class="error" role="alert" data-testid=testid data-outcome="refused">
                    {format!(
                        "Refused: the server found {}, marked in the editor. The running catalog is unchanged.",
                        count(d.len(), "problem", "problems")
                    )}
                </p>
            }
            .into_any(),
            Err(e) => view! {
                <p class="error" role="alert" data-testid=testid data-outcome="error">
                    {format!("Could not {verb}: {e}")}
                </p>
            }
            .into_any(),
        })
    }
}

#[component]
fn RevisionHistory(
    running_id: RwSignal<Option<i64>>,
    version: RwSignal<u32>,
    restore: RestoreAction,
) -> impl IntoView {
    let revisions = LocalResource::new(move || {
        version.track();
        catalog_revisions()
    });
    let shown = RwSignal::new(None::<Shown>);
    let rows = move || {
        revisions.get().map(|r| match r {
            Ok(list) if list.is_empty() => view! { <p class="muted small">"No revisions yet: save a catalog."</p> }.into_any(),
            Ok(list) => view! {
                <div class="table-scroll">
                    <table class="data" data-testid="catalog-revisions">
                        <thead>
                            <tr>
                                <th scope="col" class="num">"#"</th>
                                <th scope="col">"Saved by"</th>
                                <th scope="col">"Source"</th>
                                <th scope="col">"When"</th>
                                <th scope="col" class="num">"Size"</th>
                                <th scope="col"></th>
                            </tr>
                        </thead>
                        <tbody>
                            {list.into_iter().map(|r| view! { <RevisionRow r=r running_id=running_id shown=shown restore=restore/> }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }
            .into_any(),
            Err(e) => view! { <p class="error small" role="alert">{e.to_string()}</p> }.into_any(),
        })
    };
    view! {
        <section class="card catalog-history">
            <header class="card-head">
                <h2>"Revisions"</h2>
            </header>
            {rows}
            <SaveResultLine result=Signal::derive(move || restore.value().get()) testid="catalog-restore-result" verb="restore"/>
            {move || shown.get().map(|s| {
                let running = running_id.get_untracked();
                view! {
                    <Suspense fallback=|| view! { <p class="muted small">"Loading…"</p> }>
                        {move || Suspend::new(shown_revision_view(s, running))}
                    </Suspense>
                }
            })}
        </section>
    }
    .into_any()
}

#[component]
fn RevisionRow(
    r: CatalogRevision,
    running_id: RwSignal<Option<i64>>,
    shown: RwSignal<Option<Shown>>,
    restore: RestoreAction,
) -> impl IntoView {
    let id = r.id;
    let is_running = move || running_id.get() == Some(id);
    view! {
        <tr data-testid="revision-row" data-id=id data-running=move || is_running().to_string()>
            <td class="num">{id}</td>
            <td>{r.saved_by}</td>
            <td class="muted small">{r.source}</td>
            <td><RelativeTime ms=r.created_ms/></td>
            <td class="num">{format!("{} B", r.bytes)}</td>
            <td class="row-actions">
                {move || is_running().then(|| view! { <span class="badge">"running"</span> })}
                <button type="button" data-testid="revision-view" on:click=move |_| shown.set(Some(Shown::Content(id)))>"View"</button>
                <button type="button" data-testid="revision-diff" disabled=is_running on:click=move |_| shown.set(Some(Shown::DiffToRunning(id)))>"Diff"</button>
                <button
                    type="button"
                    data-testid="revision-restore"
                    disabled=move || is_running() || restore.pending().get()
                    on:click=move |_| {
                        restore.dispatch(RestoreCatalog { id });
                    }
                >
                    "Restore"
                </button>
            </td>
        </tr>
    }
}

/// The revision viewer, from its own chunk the first time a revision is
/// viewed or compared: most visits to the page only edit and save.
#[lazy]
fn shown_revision_view(shown: Shown, running_id: Option<i64>) -> AnyView {
    view! { <ShownRevision shown=shown running_id=running_id/> }.into_any()
}

/// One revision's content, or its diff to the running revision.
#[component]
fn ShownRevision(shown: Shown, running_id: Option<i64>) -> impl IntoView {
    match shown {
        Shown::Content(id) => {
            let content = load(move || id, load_catalog_revision);
            view! {
                <h3>{format!("Revision {id}")}</h3>
                <Suspense fallback=|| view! { <p class="muted small">"Loading…"</p> }>
                    {move || content.get().map(|r| match r {
                        Ok(content) => view! { <pre class="config-view" data-testid="revision-content" data-id=id>{content}</pre> }.into_any(),
                        Err(e) => view! { <p class="error small" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Suspense>
            }
            .into_any()
        }
        Shown::DiffToRunning(id) => {
            let Some(to) = running_id else {
                return view! { <p class="muted small">"No running revision to compare with."</p> }
                    .into_any();
            };
            let diff = load(move || (id, to), |(from, to)| diff_catalog(from, to));
            view! {
                <h3 data-testid="revision-diff-title">{format!("Revision {id} → running revision {to}")}</h3>
                <Suspense fallback=|| view! { <p class="muted small">"Comparing…"</p> }>
                    {move || diff.get().map(|r| match r {
                        Ok(d) => view! { <UnifiedDiff unified=d.unified/> }.into_any(),
                        Err(e) => view! { <p class="error small" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Suspense>
            }
            .into_any()
        }
    }
}
