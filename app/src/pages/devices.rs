//! Devices: which GPUs are free right now, host by host, live.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::device_card::DeviceCard;
use crate::components::with_fleet::WithFleet;
use crate::format::count;
use crate::state::fleet::Fleet;

#[component]
pub fn DevicesPage() -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let summary = Memo::new(move |_| fleet.summary());
    view! {
        <Title text="Devices"/>
        <div class="page-head">
            <h1>"Devices"</h1>
            <p class="muted num" data-testid="devices-summary">
                {move || {
                    let s = summary.get();
                    format!(
                        "{} of {} free · {} online, {} stale, {} disconnected",
                        s.gpus_free,
                        count(s.gpus_total, "GPU", "GPUs"),
                        count(s.healthy, "host", "hosts"),
                        s.stale,
                        s.disconnected
                    )
                }}
            </p>
        </div>
        <WithFleet>
            <Show
                when=move || !fleet.ids().is_empty()
                fallback=|| view! {
                    <div class="empty" data-testid="empty-hosts">
                        <h2>"No hosts yet"</h2>
                        <p>"Start an agent on each GPU machine; it appears here within one heartbeat:"</p>
                        <pre><code>"trainyard-agent --url http://<this server>:3000 --host-id gpu-01"</code></pre>
                        <p class="muted">"Add --token <key> if the server was started with an API key."</p>
                    </div>
                }
            >
                <div class="host-grid">
                    <For each=move || fleet.ids() key=|id| id.clone() let:id>
                        {fleet.host(&id).map(|host| view! { <DeviceCard host=host/> })}
                    </For>
                </div>
            </Show>
        </WithFleet>
    }
}
