//! The Dashboard's activity: running and queued jobs at a glance, recent
//! runs on a timeline, and each host's GPU load over the last hour or day.
//!
//! Loaded from its own wasm chunk after the Dashboard is interactive (see
//! [`super::lazy::DeferredDashboardActivity`]): its charts and job tables
//! would otherwise weigh on every first visit, whatever page it opens.

use leptos::prelude::*;

use crate::components::fleet_load::FleetLoad;
use crate::components::jobs_at_a_glance::JobsAtAGlance;
use crate::components::run_timeline::RunTimeline;
use crate::loaded::load;
use crate::server_fns::get_dashboard_jobs;
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
pub fn DashboardActivity() -> impl IntoView {
    let jobs = expect_context::<JobStore>();
    let version = Memo::new(move |_| jobs.status_version());
    let asked = RwSignal::new(version.get_untracked());
    #[cfg(feature = "hydrate")]
    settle(version, asked);
    let glance = load(move || asked.get(), |_| get_dashboard_jobs(None));
    view! {
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
    }
}
