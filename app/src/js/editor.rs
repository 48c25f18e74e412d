//! The bridge to the CodeMirror config editor (`frontend/js/editor.mjs`,
//! bundled as `/assets/vendor/editor.js`, global `TrainyardEditor`).
//! The bundle is large next to the rest of the UI, so it is loaded on the
//! first page that needs it, not by the shell.

use wasm_bindgen::prelude::*;

use crate::experiment::Diagnostic;
use crate::js::script_loader::describe;

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

    #[wasm_bindgen(catch, js_namespace = TrainyardEditor, js_name = createViewer)]
    fn js_create_viewer(
        parent: &web_sys::Element,
        text: &str,
        label: &str,
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

/// A read-only code viewer. Dropping it removes it.
pub struct Viewer {
    view: JsValue,
}

impl Viewer {
    /// Loads the bundle if needed and shows `text` inside `parent`.
    pub async fn mount(
        parent: web_sys::Element,
        text: &str,
        label: &str,
    ) -> Result<Viewer, String> {
        load_bundle().await?;
        let view = js_create_viewer(&parent, text, label).map_err(describe)?;
        Ok(Viewer { view })
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        let _ = js_destroy(&self.view);
    }
}

async fn load_bundle() -> Result<(), String> {
    crate::js::script_loader::load_script(BUNDLE_URL, "TrainyardEditor").await
}
