//! Light/dark switch. The choice lives in localStorage and on `<html data-theme>`;
//! `app/src/theme_boot.js`, inlined in the page's `<head>`, applies it before
//! first paint.

use leptos::prelude::*;

/// localStorage key of the chosen theme.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const THEME_KEY: &str = "trainyard-theme";

#[component]
pub fn ThemeToggle() -> impl IntoView {
    view! {
        <button
            type="button"
            class="theme-toggle"
            data-testid="theme-toggle"
            title="Switch light/dark theme"
            aria-label="Switch light/dark theme"
            on:click=move |_| toggle_theme()
        >
            <span class="when-light" aria-hidden="true">"☾"</span>
            <span class="when-dark" aria-hidden="true">"☀"</span>
        </button>
    }
}

#[cfg(feature = "hydrate")]
fn toggle_theme() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(root) = window.document().and_then(|d| d.document_element()) else {
        return;
    };
    let next = if root.get_attribute("data-theme").as_deref() == Some("dark") {
        "light"
    } else {
        "dark"
    };
    let _ = root.set_attribute("data-theme", next);
    if let Ok(Some(storage)) = window.local_storage() {
        let _ = storage.set_item(THEME_KEY, next);
    }
}

#[cfg(not(feature = "hydrate"))]
fn toggle_theme() {}
