//! "3 s ago", with the absolute time on hover; ticks with the fleet clock.

use leptos::prelude::*;

use crate::format::{ago, utc};
use crate::state::fleet::Fleet;

#[component]
pub fn RelativeTime(#[prop(into)] ms: Signal<i64>) -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    view! {
        <time title=move || utc(ms.get())>{move || ago(fleet.now_ms.get() - ms.get())}</time>
    }
}

/// A `RelativeTime`, or a muted dash while there is no time yet.
#[component]
pub fn MaybeRelativeTime(#[prop(into)] ms: Signal<Option<i64>>) -> impl IntoView {
    move || match ms.get() {
        Some(ms) => view! { <RelativeTime ms=ms/> }.into_any(),
        None => view! { <span class="muted">"–"</span> }.into_any(),
    }
}
