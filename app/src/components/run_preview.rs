//! The runs a config expands to: a name and one column per sweep axis.

use leptos::prelude::*;

use crate::experiment::{Summary, PREVIEW_ROWS};

#[component]
pub fn RunPreview(#[prop(into)] summary: Signal<Option<Summary>>) -> impl IntoView {
    let axes = move || summary.with(|s| s.as_ref().map(|s| s.axes.clone()).unwrap_or_default());
    let rows = move || summary.with(|s| s.as_ref().map(|s| s.preview.clone()).unwrap_or_default());
    let total = move || summary.with(|s| s.as_ref().map_or(0, |s| s.run_count));
    view! {
        <section class="card run-preview">
            <header class="card-head">
                <h2>"Runs"</h2>
                <span class="muted small num" data-testid="preview-note">
                    {move || {
                        let total = total();
                        if total > PREVIEW_ROWS as u64 {
                            format!("showing {PREVIEW_ROWS} of {total}")
                        } else {
                            String::new()
                        }
                    }}
                </span>
            </header>
            <Show
                when=move || summary.with(Option::is_some)
                fallback=|| view! { <p class="muted small">"Fix the config to see its runs."</p> }
            >
                <div class="table-scroll">
                    <table class="data" data-testid="run-preview">
                        <thead>
                            <tr>
                                <th scope="col" class="num">"#"</th>
                                <th scope="col">"Run name"</th>
                                {move || axes().into_iter().map(|key| view! { <th scope="col">{key}</th> }).collect_view()}
                            </tr>
                        </thead>
                        <tbody>
                            {move || {
                                rows()
                                    .into_iter()
                                    .map(|row| view! {
                                        <tr data-testid="preview-row">
                                            <td class="num muted">{row.index + 1}</td>
                                            <td class="mono">{row.name}</td>
                                            {row.values.into_iter().map(|v| view! { <td class="mono">{v}</td> }).collect_view()}
                                        </tr>
                                    })
                                    .collect_view()
                            }}
                        </tbody>
                    </table>
                </div>
            </Show>
        </section>
    }
    .into_any()
}
