//! Settings: the server's configuration, read-only for now.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::server_fns::get_status;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_status());
    view! {
        <Title text="Settings"/>
        <h1>"Settings"</h1>
        <p class="muted">
            "Changing settings from this page is not built yet; they are set when the server starts ("
            <code>"trainyard serve --help"</code> " lists every flag and environment variable)."
        </p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match status.await {
                    Ok(s) => view! {
                        <section class="card">
                            <h2>"Host health"</h2>
                            <dl class="facts">
                                <dt>"Stale after"</dt>
                                <dd class="num">{s.stale_after_secs} " s without a heartbeat"</dd>
                                <dt>"Disconnected after"</dt>
                                <dd class="num">{s.disconnected_after_secs} " s without a heartbeat"</dd>
                            </dl>
                        </section>
                        <section class="card">
                            <h2>"Access"</h2>
                            {if s.auth_required {
                                view! {
                                    <p>"An API key is required for the API, agents and this UI."</p>
                                    <form method="post" action="/logout">
                                        <button type="submit">"Log out"</button>
                                    </form>
                                }.into_any()
                            } else {
                                view! {
                                    <p>"No API key: the server listens on loopback only. Start it with "
                                    <code>"--api-key"</code> " to accept agents from other machines."</p>
                                }.into_any()
                            }}
                        </section>
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">"Could not load settings: " {e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
