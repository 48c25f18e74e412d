//! Loads the fleet's numbers into the live fleet, then shows its children.
//! Refetches when the event stream says updates were missed; between
//! times the `fleet` event keeps the numbers live.

use leptos::prelude::*;

use crate::loaded::load;
use crate::server_fns::get_fleet_counts;
use crate::state::fleet::Fleet;

#[component]
pub fn WithFleet(children: ChildrenFn) -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let snapshot = load(move || fleet.resync.get(), |_| get_fleet_counts());
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading hosts…"</p> }>
            {move || {
                let children = children.clone();
                Suspend::new(async move {
                    match snapshot.await {
                        Ok(snapshot) => {
                            fleet.seed(&snapshot);
                            children().into_any()
                        }
                        Err(e) => view! {
                            <p class="error" role="alert">
                                "Could not load hosts: " {e.to_string()} ". Reload the page to try again."
                            </p>
                        }
                        .into_any(),
                    }
                })
            }}
        </Transition>
    }
}
