//! The Components page: the lab's code by category, each path's version
//! history (who added it, which runs used it), the code of any version, a
//! diff between any two, Activate (rollback) on any version, Scan of the
//! components dir and an upload form. The chosen path and version live in
//! the URL (`?path=model/resnet.py&hash=…`), so they can be linked.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use trainyard_core::components::{ComponentSummary, ComponentVersion, CATEGORIES};

use crate::components::code_diff::CodeDiff;
use crate::components::code_viewer::CodeViewer;
use crate::components::relative_time::RelativeTime;
use crate::components::run_files::size_text;
use crate::format::{percent_encode, short_hash};
use crate::loaded::{load, Loaded};
use crate::server_fns::{
    activate_component, component_content, component_versions, list_components, scan_components,
    upload_component, UiError,
};

#[component]
pub fn ComponentsPage() -> impl IntoView {
    let query = use_query_map();
    let path = Memo::new(move |_| query.with(|q| q.get("path")));
    let hash = Memo::new(move |_| query.with(|q| q.get("hash")));
    // Bumped after a scan, an upload or an activation: lists refetch.
    let changed = RwSignal::new(0u32);
    let all = load(move || changed.get(), |_| list_components());
    view! {
        <Title text="Components"/>
        <div class="page-head">
            <h1>"Components"</h1>
            <ScanButton changed=changed/>
        </div>
        <div class="components-layout">
            <aside class="card component-tree" aria-label="Components by category">
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || all.get().map(|result| match result {
                        Ok(list) if list.is_empty() => view! {
                            <p class="muted" data-testid="components-empty">
                                "No components yet. Start the server with "
                                <code>"--components-dir <a CVLab-Kit tree>"</code>
                                " and press Scan, or upload one below."
                            </p>
                        }.into_any(),
                        Ok(list) => view! { <ComponentTree list=list selected=path/> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    })}
                </Transition>
            </aside>
            <div class="component-detail">
                {move || match path.get() {
                    Some(p) => view! { <VersionHistory path=p hash=hash changed=changed/> }.into_any(),
                    None => view! {
                        <p class="muted">"Pick a component to see its versions, read its code, compare versions and roll back."</p>
                    }.into_any(),
                }}
                <UploadForm changed=changed/>
            </div>
        </div>
    }
}

/// Components by category, the chosen one marked.
#[component]
fn ComponentTree(list: Vec<ComponentSummary>, selected: Memo<Option<String>>) -> impl IntoView {
    CATEGORIES
        .iter()
        .filter_map(|category| {
            let items: Vec<ComponentSummary> =
                list.iter().filter(|c| c.category == *category).cloned().collect();
            (!items.is_empty()).then(|| {
                view! {
                    <h3 class="category">{*category}</h3>
                    <ul class="component-list">
                        {items.into_iter().map(|c| {
                            let href = format!("/components?path={}", percent_encode(&c.path, b"/"));
                            let here = c.path.clone();
                            view! {
                                <li class:selected=move || selected.get().as_deref() == Some(here.as_str())>
                                    <a href=href data-testid="component-link">{c.name.clone()}</a>
                                    <span class="muted small">{format!(" {} v", c.version_count)}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
            })
        })
        .collect_view()
}

/// One path's versions, the code of the chosen one, and a diff of two.
#[component]
fn VersionHistory(
    path: String,
    hash: Memo<Option<String>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    let for_fetch = path.clone();
    let versions = load(
        move || changed.get(),
        move |_| component_versions(for_fetch.clone()),
    );
    let code = load_shown_code(hash, changed, versions);
    // Two versions ticked for a diff: (older, newer) in list order.
    let picked = RwSignal::new(Vec::<String>::new());
    let diffing = RwSignal::new(None::<(String, String)>);
    let title = path.clone();
    view! {
        <section class="card" data-testid="version-history">
            <h2><code>{title}</code></h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {
                    let path = path.clone();
                    move || versions.get().map(|result| match result {
                        Ok(list) => {
                            let shown = hash.get().or_else(|| active_hash(&list));
                            view! {
                                <VersionTable path=path.clone() list=list shown=shown picked=picked changed=changed/>
                                <div class="row">
                                    <button
                                        data-testid="compare-versions"
                                        disabled=move || picked.with(|p| p.len() != 2)
                                        on:click=move |_| picked.with(|p| {
                                            if let [a, b] = p.as_slice() {
                                                diffing.set(Some((a.clone(), b.clone())));
                                            }
                                        })
                                    >"Compare the two ticked versions"</button>
                                </div>
                                {move || diffing.get().map(|(from, to)| view! { <CodeDiff from=from to=to/> })}
                            }.into_any()
                        }
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    })
                }
            </Transition>
            <VersionCode code=code/>
        </section>
    }
}

/// The hash of the path's active version, if it has one.
fn active_hash(list: &[ComponentVersion]) -> Option<String> {
    list.iter().find(|v| v.is_active).map(|v| v.hash.clone())
}

/// The shown version's hash and code, or `None` when there is none to show
/// (no `hash` in the URL and no active version).
type ShownCode = Result<Option<(String, String)>, UiError>;

/// Loads the code of the version the page shows: the URL's `hash`, else the
/// path's active version, read from `versions` once it has loaded. Made
/// beside `versions` rather than inside its Transition, so the server's
/// render makes it once (see "How pages render on the server" in
/// docs/architecture.md). It follows `changed` only when the active version
/// decides what is shown.
fn load_shown_code(
    hash: Memo<Option<String>>,
    changed: RwSignal<u32>,
    versions: Loaded<Result<Vec<ComponentVersion>, UiError>>,
) -> Loaded<ShownCode> {
    load(
        move || {
            let hash = hash.get();
            let round = if hash.is_none() { changed.get() } else { 0 };
            (hash, round)
        },
        move |(hash, _)| async move {
            let shown = match hash {
                Some(hash) => Some(hash),
                // A list that failed to load says so above; nothing to show here.
                None => versions.await.ok().and_then(|list| active_hash(&list)),
            };
            match shown {
                Some(hash) => Ok(Some((hash.clone(), component_content(hash).await?))),
                None => Ok(None),
            }
        },
    )
}

#[component]
fn VersionTable(
    path: String,
    list: Vec<ComponentVersion>,
    shown: Option<String>,
    picked: RwSignal<Vec<String>>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    view! {
        <table class="data" data-testid="versions-table">
            <thead><tr>
                <th>"Diff"</th><th>"Version"</th><th class="num">"Size"</th><th>"Added"</th><th>"By"</th><th>"Used by"</th><th></th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|v| {
                    let hash = v.hash.clone();
                    let tick = hash.clone();
                    let view_href = format!("/components?path={}&hash={}", percent_encode(&path, b"/"), v.hash);
                    let is_shown = shown.as_deref() == Some(v.hash.as_str());
                    view! {
                        <tr data-testid="version-row" data-active=v.is_active.to_string() class:shown=is_shown>
                            <td>
                                <input type="checkbox" aria-label=format!("Compare {}", short_hash(&v.hash))
                                    prop:checked=move || picked.with(|p| p.contains(&tick))
                                    on:change={
                                        let tick = hash.clone();
                                        move |_| picked.update(|p| {
                                            if let Some(i) = p.iter().position(|h| *h == tick) {
                                                p.remove(i);
                                            } else {
                                                p.push(tick.clone());
                                                if p.len() > 2 { p.remove(0); }
                                            }
                                        })
                                    }/>
                            </td>
                            <td><a href=view_href title=v.hash.clone()><code data-testid="version-hash">{short_hash(&v.hash)}</code></a></td>
                            <td class="num">{size_text(v.size)}</td>
                            <td><RelativeTime ms=v.created_ms/></td>
                            <td class="small">{v.added_by.clone()}</td>
                            <td class="small">
                                {if v.used_by.is_empty() { view! { <span class="muted">"–"</span> }.into_any() } else {
                                    v.used_by.iter().map(|j| view! { <a href=format!("/jobs/{j}")>{format!("#{j} ")}</a> }).collect_view().into_any()
                                }}
                            </td>
                            <td>
                                {if v.is_active {
                                    view! { <span class="badge ok" data-testid="active-badge">"active"</span> }.into_any()
                                } else {
                                    view! { <ActivateButton path=path.clone() hash=v.hash.clone() changed=changed/> }.into_any()
                                }}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn ActivateButton(path: String, hash: String, changed: RwSignal<u32>) -> impl IntoView {
    let activate = Action::new(move |_: &()| {
        let (path, hash) = (path.clone(), hash.clone());
        async move { activate_component(path, hash).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = activate.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <button data-testid="activate-version" disabled=move || activate.pending().get()
            on:click=move |_| { activate.dispatch(()); }>"Activate"</button>
        {move || activate.value().get().and_then(|r| r.err()).map(|e| view! {
            <span class="error small" role="alert">{e.to_string()}</span>
        })}
    }
}

/// The code of the shown version, read-only.
#[component]
fn VersionCode(code: Loaded<ShownCode>) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading code…"</p> }>
            {move || code.get().map(|result| match result {
                Ok(Some((hash, text))) => {
                    let label = format!("Code of version {}", short_hash(&hash));
                    view! {
                        <h3>"Code of " <code title=hash.clone()>{short_hash(&hash)}</code></h3>
                        <CodeViewer text=text label=label/>
                    }.into_any()
                }
                Ok(None) => ().into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ScanButton(changed: RwSignal<u32>) -> impl IntoView {
    let scan = Action::new(|_: &()| async move { scan_components().await });
    Effect::new(move |_| {
        if let Some(Ok(_)) = scan.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <div class="row">
            <button data-testid="scan-components" disabled=move || scan.pending().get()
                on:click=move |_| { scan.dispatch(()); }>"Scan"</button>
            {move || scan.value().get().map(|r| match r {
                Ok(report) => view! {
                    <span class="small" data-testid="scan-result">
                        {format!("{} files read, {} new versions", report.registered, report.new_versions)}
                        {(!report.skipped.is_empty()).then(|| format!("; {} left out: {}", report.skipped.len(), report.skipped.join("; ")))}
                    </span>
                }.into_any(),
                Err(e) => view! { <span class="error small" role="alert">{e.to_string()}</span> }.into_any(),
            })}
        </div>
    }
}

/// Adds a version from the browser (the path's new active version).
#[component]
fn UploadForm(changed: RwSignal<u32>) -> impl IntoView {
    let path = RwSignal::new(String::new());
    let content = RwSignal::new(String::new());
    let upload = Action::new(move |_: &()| {
        let (path, content) = (path.get_untracked(), content.get_untracked());
        async move { upload_component(path, content).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = upload.value().get() {
            changed.update(|n| *n += 1);
        }
    });
    view! {
        <section class="card upload-form">
            <h2>"Upload a version"</h2>
            <label>"Path "
                <input data-testid="upload-path" placeholder="model/resnet.py"
                    prop:value=move || path.get()
                    on:input=move |ev| path.set(event_target_value(&ev))/>
            </label>
            <textarea data-testid="upload-content" rows="8" spellcheck="false" aria-label="Code"
                prop:value=move || content.get()
                on:input=move |ev| content.set(event_target_value(&ev))></textarea>
            <button data-testid="upload-component" disabled=move || upload.pending().get()
                on:click=move |_| { upload.dispatch(()); }>"Upload"</button>
            {move || upload.value().get().map(|r| match r {
                Ok(done) => view! {
                    <p class="small" data-testid="upload-result">
                        {format!("{} {} ({})", done.path, short_hash(&done.hash), if done.is_new { "new version, active" } else { "already stored" })}
                    </p>
                }.into_any(),
                Err(e) => view! { <p class="error small" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </section>
    }
}
