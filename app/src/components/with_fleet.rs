//! Loads the host snapshot into the live fleet, then shows its children.
//! Refetches when the event stream says updates were missed.

use leptos::prelude::*;

use crate::server_fns::list_hosts;
use crate::state::fleet::Fleet;

#[component]
pub fn WithFleet(children: ChildrenFn) -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let snapshot = Resource::new(move || fleet.resync.get(), |_| list_hosts());
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
