//! Dashboard: what is happening. How many hosts and GPUs are up and is the
//! server well, in the first download; what runs and what waits, the recent
//! runs on a timeline and each host's GPU load over the last hour or day come
//! from their own chunk once the page is interactive
//! ([`super::dashboard_activity`]).

use leptos::prelude::*;
use leptos_meta::Title;

use super::lazy::DeferredDashboardActivity;
use crate::components::stat_card::StatCard;
use crate::components::with_fleet::WithFleet;
use crate::format::duration;
use crate::loaded::load;
use crate::server_fns::get_status;
use crate::state::fleet::Fleet;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let summary = Memo::new(move |_| fleet.summary());
    let status = load(|| (), |_| get_status());
    view! {
        <Title text="Dashboard"/>
        <h1>"Dashboard"</h1>
        <WithFleet>
            <div class="stats">
                <StatCard
                    title="Hosts online"
                    testid="stat-hosts-healthy"
                    value=Signal::derive(move || summary.get().healthy.to_string())
                    detail=Signal::derive(move || {
                        let s = summary.get();
                        format!("{} stale · {} disconnected", s.stale, s.disconnected)
                    })
                />
                <StatCard
                    title="GPUs free"
                    testid="stat-gpus-free"
                    value=Signal::derive(move || summary.get().gpus_free.to_string())
                    detail=Signal::derive(move || format!("of {} GPUs on healthy hosts", summary.get().gpus_total))
                />
                <StatCard
                    title="GPUs total"
                    testid="stat-gpus-total"
                    value=Signal::derive(move || summary.get().gpus_total.to_string())
                    detail=Signal::derive(|| "on healthy hosts".to_string())
                />
            </div>
            <Show when=move || fleet.summary().hosts() == 0>
                <p class="hint">
                    "No hosts yet — start an agent on a GPU machine: "
                    <code>"trainyard-agent --url http://<this server>:3000 --host-id gpu-01"</code>
                    ". It appears on the " <a href="/devices">"Devices"</a> " page within seconds."
                </p>
            </Show>
        </WithFleet>
        <DeferredDashboardActivity/>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                status.await.map(|s| view! {
                    <section class="card server-status">
                        <h2>"Server"</h2>
                        <dl class="facts">
                            <dt>"Status"</dt>
                            <dd data-testid="server-status">{s.status.clone()}</dd>
                            <dt>"Version"</dt>
                            <dd class="num">{s.version.clone()} " (protocol " {s.protocol_version} ")"</dd>
                            <dt>"Up for"</dt>
                            <dd class="num">{duration(s.uptime_secs)}</dd>
                            <dt>"Access"</dt>
                            <dd>{if s.auth_required { "API key required" } else { "open (loopback only)" }}</dd>
                        </dl>
                    </section>
                })
            })}
        </Suspense>
    }
}
