//! The config's problems as a list under the editor: position, the field
//! path when there is one, the message.

use leptos::prelude::*;

use crate::experiment::Diagnostic;

#[component]
pub fn ConfigProblems(#[prop(into)] diagnostics: Signal<Vec<Diagnostic>>) -> impl IntoView {
    view! {
        <Show when=move || diagnostics.with(|d| !d.is_empty())>
            <ul class="problems" data-testid="config-problems" role="alert">
                {move || {
                    diagnostics
                        .get()
                        .into_iter()
                        .map(|d| {
                            let position = d.position();
                            let field = d.field.filter(|f| !f.is_empty());
                            view! {
                                <li data-line=d.line>
                                    <span class="problem-at num">{position}</span>
                                    {field.map(|f| view! { <code class="problem-field">{f}</code> })}
                                    <span>{d.message}</span>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </Show>
    }
    .into_any()
}
