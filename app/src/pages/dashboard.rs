//! Dashboard: what is happening. How many hosts and GPUs are up, what runs
//! and what waits, the recent runs on a timeline, each host's GPU load over
//! the last hour or day, and is the server well.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::fleet_load::FleetLoad;
use crate::components::jobs_at_a_glance::JobsAtAGlance;
use crate::components::run_timeline::RunTimeline;
use crate::components::stat_card::StatCard;
use crate::components::with_fleet::WithFleet;
use crate::format::duration;
use crate::server_fns::{get_dashboard_jobs, get_status};
use crate::state::fleet::Fleet;
use crate::state::jobs::JobStore;

/// Asks again at most once a second while jobs change (a sweep starting
/// changes hundreds at once): `asked` follows `version` when it settles.
#[cfg(feature = "hydrate")]
fn settle(version: Memo<u64>, asked: RwSignal<u64>) {
    let pending = StoredValue::new(false);
    Effect::new(move |_| {
        version.track();
        if pending.get_value() {
            return;
        }
        pending.set_value(true);
        leptos::task::spawn_local(async move {
            crate::state::live::sleep(std::time::Duration::from_secs(1)).await;
            pending.try_set_value(false);
            if let Some(v) = version.try_get_untracked() {
                if asked.try_get_untracked() != Some(v) {
                    asked.try_set(v);
                }
            }
        });
    });
}

#[component]
pub fn DashboardPage() -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let summary = Memo::new(move |_| fleet.summary());
    let status = Resource::new(|| (), |_| get_status());
    let jobs = expect_context::<JobStore>();
    let version = Memo::new(move |_| jobs.status_version());
    let asked = RwSignal::new(version.get_untracked());
    #[cfg(feature = "hydrate")]
    settle(version, asked);
    let glance = Resource::new(move || asked.get(), |_| get_dashboard_jobs(None));
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
        <Transition fallback=|| view! { <p class="muted">"Loading jobs…"</p> }>
            {move || Suspend::new(async move {
                match glance.await {
                    Ok(g) => {
                        let now = g.server_time_ms;
                        let recent = g.recent.clone();
                        view! {
                            <div class="glance-row">
                                <JobsAtAGlance jobs=g/>
                            </div>
                            <section class="card">
                                <h2>"Recent runs"</h2>
                                <RunTimeline runs=recent now_ms=now/>
                            </section>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <FleetLoad/>
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
