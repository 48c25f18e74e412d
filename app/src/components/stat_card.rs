//! A big number with a caption, for the Dashboard.

use leptos::prelude::*;

#[component]
pub fn StatCard(
    /// Caption above the number.
    title: &'static str,
    /// `data-testid` of the number.
    testid: &'static str,
    #[prop(into)] value: Signal<String>,
    /// Smaller line under the number.
    #[prop(into, optional)]
    detail: Signal<String>,
) -> impl IntoView {
    view! {
        <section class="card stat">
            <h2>{title}</h2>
            <p class="stat-value num" data-testid=testid>{move || value.get()}</p>
            <p class="muted">{move || detail.get()}</p>
        </section>
    }
}
