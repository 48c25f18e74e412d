//! A horizontal bar for a percentage, with its label.

use leptos::prelude::*;

/// Bar filled to `percent` (0–100); turns warm above 80%.
#[component]
pub fn Meter(
    #[prop(into)] percent: Signal<f64>,
    #[prop(into)] label: Signal<String>,
) -> impl IntoView {
    view! {
        <span class="meter-wrap">
            <span
                class={move || if percent.get() >= 80.0 { "meter hot" } else { "meter" }}
                role="meter"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || format!("{:.0}", percent.get())
                style=move || format!("--frac: {:.3}", percent.get().clamp(0.0, 100.0) / 100.0)
            ></span>
            <span class="meter-label num">{move || label.get()}</span>
        </span>
    }
    .into_any()
}
