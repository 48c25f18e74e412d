//! Placeholder for pages that do not exist yet: says so plainly.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotBuiltPage(title: &'static str, what: &'static str) -> impl IntoView {
    view! {
        <Title text=title/>
        <h1>{title}</h1>
        <div class="empty">
            <p><strong>"This page is not built yet."</strong></p>
            <p class="muted">"When it is: " {what}</p>
        </div>
    }
}
