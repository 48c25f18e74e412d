//! A unified diff between two stored contents, lines coloured by what
//! happened to them.

use leptos::prelude::*;

use crate::loaded::load;
use crate::server_fns::diff_components;

#[component]
pub fn CodeDiff(
    /// The older content's hash.
    from: String,
    /// The newer content's hash.
    to: String,
) -> impl IntoView {
    let diff = load(
        move || (from.clone(), to.clone()),
        |(from, to)| async move { diff_components(from, to).await },
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted small">"Comparing…"</p> }>
            {move || diff.get().map(|result| match result {
                Ok(d) => view! { <UnifiedDiff unified=d.unified/> }.into_any(),
                Err(e) => view! { <p class="error small" role="alert">{e.to_string()}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// A unified diff's text, each line coloured (added, removed, hunk header),
/// or a note when it is empty.
#[component]
pub fn UnifiedDiff(unified: String) -> impl IntoView {
    if unified.is_empty() {
        return view! { <p class="muted small" data-testid="code-diff-same">"The two contents are identical."</p> }
            .into_any();
    }
    view! {
        <pre class="code-diff" data-testid="code-diff">
            {unified.lines().map(|line| {
                let class = match line.as_bytes().first() {
                    Some(b'+') if !line.starts_with("+++") => "add",
                    Some(b'-') if !line.starts_with("---") => "del",
                    Some(b'@') => "hunk",
                    _ => "same",
                };
                view! { <span class=class>{format!("{line}\n")}</span> }
            }).collect_view()}
        </pre>
    }
    .into_any()
}
