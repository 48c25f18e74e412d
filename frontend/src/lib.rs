//! Browser entry point: hydrates the server-rendered page.

// Hydrating asynchronously nests the app's deep view type inside a future;
// computing that future's layout needs more than the default 128 levels.
#![recursion_limit = "512"]

use leptos::prelude::document;

mod split_data_slack;

/// The Performance API mark set once the page is hydrated and clickable;
/// the first-load benchmark and anyone profiling in DevTools read it.
const HYDRATED_MARK: &str = "trainyard:hydrated";

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Hydration is async: a lazy route's chunk is loaded before hydration
    // walks its part of the page. `hydrate_from_async` sets up Leptos's
    // executor on its first poll.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = document().body() else {
            leptos::logging::error!("no <body> to hydrate");
            return;
        };
        let app = leptos::mount::hydrate_from_async(body, trainyard_app::App).await;
        mark_hydrated();
        trainyard_app::prefetch_after_hydration();
        app.forget();
    });
}

fn mark_hydrated() {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        _ = performance.mark(HYDRATED_MARK);
    }
}
