//! The YAML editor of the Execute and Catalog pages. The server renders a plain textarea
//! (usable before the wasm loads); once hydrated, CodeMirror replaces it.

use leptos::html::Div;
use leptos::prelude::*;

use crate::experiment::Diagnostic;

#[component]
pub fn ConfigEditor(
    /// The config text; the editor writes every edit here.
    text: RwSignal<String>,
    /// Problems to mark in the editor.
    #[prop(into)]
    diagnostics: Signal<Vec<Diagnostic>>,
    /// Ctrl/Cmd-Enter in the editor.
    on_submit: Callback<()>,
    /// What the text is, for screen readers.
    #[prop(default = "Experiment config (YAML)")]
    label: &'static str,
) -> impl IntoView {
    let host = NodeRef::<Div>::new();
    let ready = RwSignal::new(false);
    let load_error = RwSignal::new(None::<String>);
    mount(host, text, diagnostics, on_submit, ready, load_error);
    let initial = text.get_untracked();
    view! {
        <div
            class={move || if ready.get() { "config-editor ready" } else { "config-editor" }}
            data-testid="config-editor"
            data-ready=move || ready.get().to_string()
        >
            <textarea
                class="config-fallback"
                aria-label=label
                spellcheck="false"
                rows="18"
                on:input=move |ev| text.set(event_target_value(&ev))
            >
                {initial}
            </textarea>
            <div class="config-host" node_ref=host></div>
            {move || load_error.get().map(|e| view! { <p class="error small" role="alert">{e}</p> })}
        </div>
    }
    .into_any()
}

/// The server renders the plain textarea; CodeMirror mounts once hydrated.
#[cfg(not(feature = "hydrate"))]
fn mount(
    _host: NodeRef<Div>,
    _text: RwSignal<String>,
    _diagnostics: Signal<Vec<Diagnostic>>,
    _on_submit: Callback<()>,
    _ready: RwSignal<bool>,
    _load_error: RwSignal<Option<String>>,
) {
}

#[cfg(feature = "hydrate")]
fn mount(
    host: NodeRef<Div>,
    text: RwSignal<String>,
    diagnostics: Signal<Vec<Diagnostic>>,
    on_submit: Callback<()>,
    ready: RwSignal<bool>,
    load_error: RwSignal<Option<String>>,
) {
    use crate::js::editor::Editor;

    // Dropped with the page, which removes the editor.
    let editor = StoredValue::new_local(None::<Editor>);
    let mut started = false;
    Effect::new(move |_| {
        let Some(parent) = host.get() else {
            return;
        };
        if std::mem::replace(&mut started, true) {
            return;
        }
        let parent: web_sys::Element = (*parent).clone().into();
        leptos::task::spawn_local(async move {
            let result = Editor::mount(
                parent,
                &text.get_untracked(),
                move |value| text.set(value),
                move || on_submit.run(()),
            )
            .await;
            match result {
                Ok(mounted) => {
                    if editor.try_set_value(Some(mounted)).is_none() {
                        ready.set(true);
                    }
                }
                Err(e) => {
                    load_error.try_set(Some(format!("{e}. The plain text box still works.")));
                }
            }
        });
    });
    // Markers follow the latest check; re-applied once the editor is up.
    Effect::new(move |_| {
        let items = diagnostics.get();
        if ready.get() {
            editor.try_with_value(|e| {
                if let Some(e) = e {
                    e.set_diagnostics(&items);
                }
            });
        }
    });
}
