//! Whether this page is receiving live updates from the server.

use leptos::prelude::*;

use crate::state::fleet::Fleet;

#[component]
pub fn LiveStatus() -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let connected = move || fleet.connected.get();
    view! {
        <span
            class={move || if connected() { "live-status on" } else { "live-status" }}
            data-testid="live-status"
            data-connected=move || connected().to_string()
            title={move || if connected() { "Receiving live updates" } else { "Not connected: updates resume when the server is reachable" }}
        >
            <span class="dot" aria-hidden="true"></span>
            {move || if connected() { "live" } else { "offline" }}
        </span>
    }
}
