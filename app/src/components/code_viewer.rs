//! Code, read-only: the server renders it as plain text; once hydrated,
//! CodeMirror shows it with line numbers and Python highlighting.

use leptos::html::Div;
use leptos::prelude::*;

#[component]
pub fn CodeViewer(
    text: String,
    /// What the viewer shows, for screen readers.
    label: String,
) -> impl IntoView {
    let host = NodeRef::<Div>::new();
    let ready = RwSignal::new(false);
    mount(host, text.clone(), label.clone(), ready);
    view! {
        <div class="code-viewer" data-testid="code-viewer" data-ready=move || ready.get().to_string()>
            <pre class="code-fallback" class:hidden=move || ready.get() aria-label=label>{text}</pre>
            <div class="code-host" node_ref=host></div>
        </div>
    }
}

#[cfg(not(feature = "hydrate"))]
fn mount(_host: NodeRef<Div>, _text: String, _label: String, _ready: RwSignal<bool>) {}

#[cfg(feature = "hydrate")]
fn mount(host: NodeRef<Div>, text: String, label: String, ready: RwSignal<bool>) {
    use crate::js::editor::Viewer;

    // Dropped with the component, which removes the viewer.
    let viewer = StoredValue::new_local(None::<Viewer>);
    let mut started = false;
    Effect::new(move |_| {
        let Some(parent) = host.get() else {
            return;
        };
        if std::mem::replace(&mut started, true) {
            return;
        }
        let parent: web_sys::Element = (*parent).clone().into();
        let (text, label) = (text.clone(), label.clone());
        leptos::task::spawn_local(async move {
            // Without the bundle the plain text stays: still readable.
            if let Ok(mounted) = Viewer::mount(parent, &text, &label).await {
                if viewer.try_set_value(Some(mounted)).is_none() {
                    ready.set(true);
                }
            }
        });
    });
}
