//! The bridge to the CodeMirror config editor (`frontend/js/editor.mjs`,
//! bundled as `/assets/vendor/editor.js`, global `TrainyardEditor`).
//! The bundle is large next to the rest of the UI, so it is loaded on the
//! first page that needs it, not by the shell.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::experiment::Diagnostic;

/// Where cargo-leptos serves the bundle from (copied from `public/`).
const BUNDLE_URL: &str = "/assets/vendor/editor.js";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = TrainyardEditor, js_name = create)]
    fn js_create(
        parent: &web_sys::Element,
        text: &str,
        on_change: &Closure<dyn FnMut(String)>,
        on_submit: &Closure<dyn FnMut()>,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = TrainyardEditor, js_name = setDiagnostics)]
    fn js_set_diagnostics(view: &JsValue, items: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(catch, js_namespace = TrainyardEditor, js_name = destroy)]
    fn js_destroy(view: &JsValue) -> Result<(), JsValue>;
}

/// A live editor. Dropping it removes the editor and frees its callbacks.
pub struct Editor {
    view: JsValue,
    _on_change: Closure<dyn FnMut(String)>,
    _on_submit: Closure<dyn FnMut()>,
}

impl Editor {
    /// Loads the bundle if needed and makes an editor inside `parent`.
    pub async fn mount(
        parent: web_sys::Element,
        text: &str,
        on_change: impl FnMut(String) + 'static,
        on_submit: impl FnMut() + 'static,
    ) -> Result<Editor, String> {
        load_bundle().await?;
        let on_change = Closure::new(on_change);
        let on_submit = Closure::new(on_submit);
        let view = js_create(&parent, text, &on_change, &on_submit).map_err(describe)?;
        Ok(Editor {
            view,
            _on_change: on_change,
            _on_submit: on_submit,
        })
    }

    /// Replaces the lint markers with `diagnostics`.
    pub fn set_diagnostics(&self, diagnostics: &[Diagnostic]) {
        let Ok(json) = serde_json::to_string(diagnostics) else {
            return;
        };
        if let Ok(items) = js_sys::JSON::parse(&json) {
            let _ = js_set_diagnostics(&self.view, &items);
        }
    }
}

impl Drop for Editor {
    fn drop(&mut self) {
        let _ = js_destroy(&self.view);
    }
}

/// Adds the bundle's `<script>` once per page and waits until it ran.
async fn load_bundle() -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    if js_sys::Reflect::has(&window, &JsValue::from_str("TrainyardEditor")).unwrap_or(false) {
        return Ok(());
    }
    let document = window.document().ok_or("no document")?;
    let script = match document.query_selector("script[data-trainyard-editor]") {
        Ok(Some(existing)) => existing,
        _ => {
            let script = document.create_element("script").map_err(describe)?;
            script.set_attribute("src", BUNDLE_URL).map_err(describe)?;
            script
                .set_attribute("data-trainyard-editor", "")
                .map_err(describe)?;
            document
                .head()
                .ok_or("no <head>")?
                .append_child(&script)
                .map_err(describe)?;
            script
        }
    };
    let (tx, rx) = futures::channel::oneshot::channel::<Result<(), String>>();
    let tx = Rc::new(RefCell::new(Some(tx)));
    let done = {
        let tx = tx.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(tx) = tx.borrow_mut().take() {
                let _ = tx.send(Ok(()));
            }
        })
    };
    let failed = Closure::<dyn FnMut()>::new(move || {
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(Err(format!(
                "could not load the editor ({BUNDLE_URL}); run scripts/build-js.sh and rebuild"
            )));
        }
    });
    let target: &web_sys::EventTarget = script.unchecked_ref();
    let _ = target.add_event_listener_with_callback("load", done.as_ref().unchecked_ref());
    let _ = target.add_event_listener_with_callback("error", failed.as_ref().unchecked_ref());
    // A script that finished loading between the check above and now.
    if js_sys::Reflect::has(&window, &JsValue::from_str("TrainyardEditor")).unwrap_or(false) {
        return Ok(());
    }
    rx.await
        .unwrap_or_else(|_| Err("editor loading was interrupted".into()))
}

fn describe(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|err| String::from(err.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}
