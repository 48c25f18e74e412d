//! The bell in the top bar: how many component conflicts wait for a person,
//! and a panel to answer them (upload the worker's change, download the
//! store's version, or keep it), each with the diff between the two.
//!
//! The bell and its count are in the shell; the panel, its answers and its
//! diff come from their own wasm chunk the first time the bell is opened:
//! most visits never open it.

use leptos::lazy;
use leptos::prelude::*;
use trainyard_core::components::{ConflictNotice, Resolution};

use super::code_diff::CodeDiff;
use crate::format::short_hash;
use crate::server_fns::answer_notice;
use crate::state::notices::NoticeStore;

#[component]
pub fn NoticeBell() -> impl IntoView {
    let notices = expect_context::<NoticeStore>();
    let open = RwSignal::new(false);
    let count = move || notices.count();
    view! {
        <div class="notice-bell">
            <button
                class="icon-button"
                data-testid="notice-bell"
                aria-label=move || format!("Notifications: {} waiting", count())
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                // Drawn, not an emoji: not every machine has a font with 🔔.
                <svg class="bell-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"
                    fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">
                    <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/>
                    <path d="M10 21a2 2 0 0 0 4 0"/>
                </svg>
                <Show when=move || { count() > 0 }>
                    <span class="badge" data-testid="notice-count">{count}</span>
                </Show>
            </button>
            <Show when=move || open.get()>
                <div class="notice-panel" role="dialog" aria-label="Notifications" data-testid="notice-panel">
                    <h2>"Component conflicts"</h2>
                    <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                        {move || Suspend::new(notice_list_view())}
                    </Suspense>
                </div>
            </Show>
        </div>
    }
}

/// The panel's contents, from their own chunk.
#[lazy]
fn notice_list_view() -> AnyView {
    view! { <NoticeList/> }.into_any()
}

/// The open conflicts, or a line saying there are none.
#[component]
fn NoticeList() -> impl IntoView {
    let notices = expect_context::<NoticeStore>();
    view! {
        <Show
            when=move || { notices.count() > 0 }
            fallback=|| view! { <p class="muted">"Nothing waits for you. A worker's local change to a component shows up here when it runs in interactive mode."</p> }
        >
            <ul class="notice-list">
                <For
                    each=move || notices.open()
                    key=|n| n.id
                    children=move |n| view! { <NoticeItem notice=n/> }
                />
            </ul>
        </Show>
    }
}

/// One conflict: where, which contents, the diff, and the three answers.
#[component]
fn NoticeItem(notice: ConflictNotice) -> impl IntoView {
    let notices = expect_context::<NoticeStore>();
    let id = notice.id;
    let answer = Action::new(move |choice: &Resolution| {
        let choice = *choice;
        async move { answer_notice(id, choice).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(answered)) = answer.value().get() {
            notices.apply(answered);
        }
    });
    let show_diff = RwSignal::new(false);
    let server = notice.server_hash.clone();
    let local = notice.local_hash.clone();
    let job = notice.job_id;
    view! {
        <li class="notice" data-testid="notice">
            <p>
                <strong>{notice.host_id.clone()}</strong>
                " changed "
                <code data-testid="notice-path">{notice.path.clone()}</code>
                {job.map(|j| view! { " (job " <a href=format!("/jobs/{j}")>{j}</a> ")" })}
            </p>
            <p class="small muted">
                "worker " <code title=local.clone()>{short_hash(&local)}</code>
                " · store " <code>{server.as_deref().map(short_hash).unwrap_or_else(|| "none".into())}</code>
            </p>
            <div class="notice-actions">
                <button data-testid="notice-upload" disabled=move || answer.pending().get()
                    on:click=move |_| { answer.dispatch(Resolution::Upload); }>"Upload to server"</button>
                <button data-testid="notice-download" disabled=move || answer.pending().get()
                    on:click=move |_| { answer.dispatch(Resolution::Download); }>"Download from server"</button>
                <button data-testid="notice-skip" disabled=move || answer.pending().get()
                    on:click=move |_| { answer.dispatch(Resolution::Skip); }>"Skip"</button>
                <button class="link" on:click=move |_| show_diff.update(|s| *s = !*s)>
                    {move || if show_diff.get() { "Hide diff" } else { "Show diff" }}
                </button>
            </div>
            {move || {
                answer.value().get().and_then(|r| r.err()).map(|e| view! {
                    <p class="error small" role="alert">{e.to_string()}</p>
                })
            }}
            {
                let server = server.clone();
                let local = local.clone();
                move || (show_diff.get()).then(|| match server.clone() {
                    Some(server) => view! { <CodeDiff from=server to=local.clone()/> }.into_any(),
                    None => view! { <p class="muted small">"The store has no version of this path."</p> }.into_any(),
                })
            }
        </li>
    }
}
