//! The bridge to the uPlot charts (`frontend/js/charts.mjs`, bundled as
//! `/assets/vendor/charts.js`, global `TrainyardCharts`), loaded by the
//! pages that draw charts, on first use.

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::components::metric_chart::Line;
use crate::js::script_loader::{describe, load_script, load_stylesheet};

const BUNDLE_URL: &str = "/assets/vendor/charts.js";
const STYLE_URL: &str = "/assets/vendor/charts.css";
const GLOBAL: &str = "TrainyardCharts";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = TrainyardCharts, js_name = create)]
    fn js_create(
        parent: &web_sys::Element,
        on_zoom: &Closure<dyn FnMut(JsValue, JsValue)>,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(catch, js_namespace = TrainyardCharts, js_name = setSeries)]
    fn js_set_series(handle: &JsValue, series: &JsValue) -> Result<(), JsValue>;

    #[wasm_bindgen(catch, js_namespace = TrainyardCharts, js_name = toPNG)]
    fn js_to_png(handle: &JsValue, filename: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(catch, js_namespace = TrainyardCharts, js_name = downloadText)]
    fn js_download_text(filename: &str, text: &str, mime: &str) -> Result<(), JsValue>;

    #[wasm_bindgen(catch, js_namespace = TrainyardCharts, js_name = destroy)]
    fn js_destroy(handle: &JsValue) -> Result<(), JsValue>;
}

/// A live chart. Dropping it removes the chart and frees its callback.
pub struct Chart {
    handle: JsValue,
    _on_zoom: Closure<dyn FnMut(JsValue, JsValue)>,
}

impl Chart {
    /// Loads the bundle if needed and makes a chart inside `parent`;
    /// `on_zoom(Some((from, to)))` after a drag, `on_zoom(None)` on reset.
    pub async fn mount(
        parent: web_sys::Element,
        mut on_zoom: impl FnMut(Option<(f64, f64)>) + 'static,
    ) -> Result<Chart, String> {
        load_bundle().await?;
        let on_zoom = Closure::new(move |from: JsValue, to: JsValue| {
            on_zoom(from.as_f64().zip(to.as_f64()));
        });
        let handle = js_create(&parent, &on_zoom).map_err(describe)?;
        Ok(Chart {
            handle,
            _on_zoom: on_zoom,
        })
    }

    /// Redraws with `lines`.
    pub fn set_lines(&self, lines: &[Line]) {
        if let Some(value) = to_js(lines) {
            if let Err(e) = js_set_series(&self.handle, &value) {
                leptos::logging::warn!("chart: {}", describe(e));
            }
        }
    }

    /// Saves the chart as `filename` (PNG).
    pub fn save_png(&self, filename: &str) {
        let _ = js_to_png(&self.handle, filename);
    }
}

impl Drop for Chart {
    fn drop(&mut self) {
        let _ = js_destroy(&self.handle);
    }
}

/// Saves `text` as a download named `filename`.
pub async fn download_text(filename: &str, text: &str, mime: &str) -> Result<(), String> {
    load_bundle().await?;
    js_download_text(filename, text, mime).map_err(describe)
}

async fn load_bundle() -> Result<(), String> {
    load_stylesheet(STYLE_URL);
    load_script(BUNDLE_URL, GLOBAL).await
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> Option<JsValue> {
    let json = serde_json::to_string(value).ok()?;
    js_sys::JSON::parse(&json).ok()
}
