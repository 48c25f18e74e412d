//! Devices: which GPUs are free right now, host by host, live.
//!
//! One page of hosts at a time, searched, filtered and paged on the server;
//! the browser holds and follows only the hosts it shows (their own event
//! stream, `devices=<ids>`), so a fleet of 1,000 or 10,000 hosts costs it
//! what 24 cards do. The fleet's numbers stay live through `fleet` events;
//! when they move in a way that may change which hosts match, the page is
//! fetched again.

use leptos::prelude::*;
use leptos_meta::Title;
use trainyard_core::host_query::parse_health_list;
use trainyard_core::{FleetCounts, HostFilter, HostQuery, HostStart, HostsPage};

use crate::components::device_card::DeviceCard;
use crate::format::count;
use crate::loaded::load;
use crate::server_fns::{list_hosts_page, HostsView};
use crate::state::fleet::Fleet;

/// Hosts per page: 24 cards fill 1, 2, 3 or 4 columns evenly.
pub const PAGE_SIZE: usize = 24;

/// Where the shown hosts sit among those matching.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PageInfo {
    total: usize,
    offset: usize,
    shown: usize,
}

impl PageInfo {
    /// Whether every matching host is on the first page (no pager needed).
    fn fits_one_page(&self) -> bool {
        self.total <= PAGE_SIZE && self.offset == 0
    }

    /// The 0-based number of the last page that has hosts.
    fn last_page(&self) -> usize {
        self.total.saturating_sub(1) / PAGE_SIZE
    }

    fn of(page: &HostsPage) -> PageInfo {
        PageInfo {
            total: page.total,
            offset: page.offset,
            shown: page.hosts.len(),
        }
    }
}

/// The page's state, all `Copy` signals.
#[derive(Clone, Copy)]
struct Devices {
    fleet: Fleet,
    /// The search box as typed; `search` follows it once typing pauses.
    search_text: RwSignal<String>,
    search: RwSignal<String>,
    health: RwSignal<String>,
    free_only: RwSignal<bool>,
    /// 0-based page number.
    page: RwSignal<usize>,
    /// What to fetch (read by the browser's side only).
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    query: Memo<HostQuery>,
    info: RwSignal<PageInfo>,
    loading: RwSignal<bool>,
    error: RwSignal<Option<String>>,
}

impl Devices {
    fn new(fleet: Fleet) -> Devices {
        let search_text = RwSignal::new(String::new());
        let search = RwSignal::new(String::new());
        let health = RwSignal::new(String::new());
        let free_only = RwSignal::new(false);
        let page = RwSignal::new(0usize);
        let filter = Memo::new(move |_| HostFilter {
            // The select only offers valid states.
            health: parse_health_list(&health.get()).unwrap_or_default(),
            search: search.get().trim().to_string(),
            min_free_gpus: u32::from(free_only.get()),
        });
        // A new filter starts again at the first page.
        Effect::new(move |first: Option<()>| {
            // Read, not just tracked: a memo nobody has read yet has no
            // sources, so `track()` alone would never fire.
            filter.with(|_| ());
            if first.is_some() {
                page.set(0);
            }
        });
        let query = Memo::new(move |_| HostQuery {
            filter: filter.get(),
            start: HostStart::Offset(page.get() * PAGE_SIZE),
            limit: PAGE_SIZE,
        });
        Devices {
            fleet,
            search_text,
            search,
            health,
            free_only,
            page,
            query,
            info: RwSignal::new(PageInfo::default()),
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
        }
    }

    /// Shows a fetched page (or moves back to the last page that has hosts).
    fn adopt(self, view: HostsView) {
        let page = view.page;
        if page.hosts.is_empty() && page.total > 0 && self.page.get_untracked() > 0 {
            // Hosts went away under a later page: show the last one there is.
            self.page.set(PageInfo::of(&page).last_page());
            return;
        }
        self.fleet.show(&page.hosts);
        self.info.set(PageInfo::of(&page));
        self.error.set(None);
    }
}

/// Whether the fleet's numbers moved in a way that may change which hosts
/// match `filter` (a host came or went, changed health, GPUs freed up).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn membership_may_have_moved(before: &FleetCounts, now: &FleetCounts, filter: &HostFilter) -> bool {
    let health = |c: &FleetCounts| (c.healthy, c.stale, c.disconnected);
    let gpus = |c: &FleetCounts| (c.gpus_free, c.gpus_total);
    before.hosts() != now.hosts()
        || (!filter.health.is_empty() && health(before) != health(now))
        || (filter.min_free_gpus > 0
            && (gpus(before) != gpus(now) || health(before) != health(now)))
}

#[component]
pub fn DevicesPage() -> impl IntoView {
    let fleet = expect_context::<Fleet>();
    let summary = Memo::new(move |_| fleet.summary());
    let devices = Devices::new(fleet);
    // The first page is rendered on the server; later ones are fetched by
    // the browser (`live::keep_current`), updating the cards in place.
    let first = load(
        || (),
        |_| {
            list_hosts_page(HostQuery {
                limit: PAGE_SIZE,
                ..Default::default()
            })
        },
    );
    live::keep_current(devices);
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
        <Transition fallback=|| view! { <p class="muted">"Loading hosts…"</p> }>
            {move || Suspend::new(async move {
                match first.await {
                    Ok(view) => {
                        fleet.sync_clock(view.fleet.server_time_ms);
                        fleet.set_counts(view.fleet.counts);
                        devices.adopt(view);
                        view! { <DevicesBody devices=devices/> }.into_any()
                    }
                    Err(e) => view! {
                        <p class="error" role="alert">
                            "Could not load hosts: " {e.to_string()} ". Reload the page to try again."
                        </p>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn DevicesBody(devices: Devices) -> impl IntoView {
    let fleet = devices.fleet;
    let no_hosts = move || fleet.summary().hosts() == 0 && devices.info.with(|i| i.total == 0);
    view! {
        <Show
            when=move || !no_hosts()
            fallback=|| view! {
                <div class="empty" data-testid="empty-hosts">
                    <h2>"No hosts yet"</h2>
                    <p>"Start an agent on each GPU machine; it appears here within one heartbeat:"</p>
                    <pre><code>"trainyard-agent --url http://<this server>:3000 --host-id gpu-01"</code></pre>
                    <p class="muted">"Add --token <key> if the server was started with an API key."</p>
                </div>
            }
        >
            <Filters devices=devices/>
            {move || devices.error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Show when=move || devices.info.with(|i| i.total == 0)>
                <p class="muted" data-testid="no-hosts-match">
                    "No host matches. Clear the search or the filters to see every host."
                </p>
            </Show>
            <div class="host-grid" data-testid="host-grid" aria-busy=move || devices.loading.get().to_string()>
                <For each=move || fleet.ids() key=|id| id.clone() let:id>
                    {fleet.host(&id).map(|host| view! { <DeviceCard host=host/> })}
                </For>
            </div>
            <Pager devices=devices/>
        </Show>
    }
    .into_any()
}

#[component]
fn Filters(devices: Devices) -> impl IntoView {
    view! {
        <div class="toolbar">
            <input type="search" placeholder="Host, hostname or GPU model" aria-label="Search hosts"
                data-testid="hosts-search"
                prop:value=move || devices.search_text.get()
                on:input=move |ev| devices.search_text.set(event_target_value(&ev))
                on:change=move |ev| {
                    // Enter or leaving the box applies at once.
                    let text = event_target_value(&ev);
                    devices.search_text.set(text.clone());
                    devices.search.set(text);
                }/>
            <select aria-label="Health" data-testid="hosts-health"
                prop:value=move || devices.health.get()
                on:change=move |ev| devices.health.set(event_target_value(&ev))>
                <option value="">"any health"</option>
                <option value="healthy">"healthy"</option>
                <option value="stale">"stale"</option>
                <option value="disconnected">"disconnected"</option>
            </select>
            <label class="check">
                <input type="checkbox" data-testid="hosts-free"
                    prop:checked=move || devices.free_only.get()
                    on:change=move |ev| devices.free_only.set(event_target_checked(&ev))/>
                " with a free GPU"
            </label>
        </div>
    }
}

#[component]
fn Pager(devices: Devices) -> impl IntoView {
    let info = devices.info;
    let range = move || {
        info.with(|i| match i.shown {
            0 => String::new(),
            n => format!(
                "{}–{} of {}",
                i.offset + 1,
                i.offset + n,
                count(i.total, "host", "hosts")
            ),
        })
    };
    view! {
        <div class="pager" hidden=move || info.with(PageInfo::fits_one_page)>
            <button type="button" class="small-button" data-testid="hosts-previous"
                disabled=move || devices.page.get() == 0
                on:click=move |_| devices.page.update(|p| *p = p.saturating_sub(1))>"← Previous"</button>
            <span class="muted small num" data-testid="hosts-range">{range}</span>
            <button type="button" class="small-button" data-testid="hosts-next"
                // (In braces: a bare `>=` would end the tag for the view macro.)
                disabled=move || { devices.page.get() >= info.with(PageInfo::last_page) }
                on:click=move |_| {
                    let last = info.with_untracked(PageInfo::last_page);
                    devices.page.update(|p| *p = (*p + 1).min(last));
                }>"Next →"</button>
        </div>
    }
}

/// The server renders the first page; the browser keeps it current.
#[cfg(not(feature = "hydrate"))]
mod live {
    pub(super) fn keep_current(_devices: super::Devices) {}
}

#[cfg(feature = "hydrate")]
mod live {
    use std::time::Duration;

    use futures::channel::oneshot;
    use futures::{FutureExt, StreamExt};
    use gloo_net::eventsource::futures::EventSource;
    use leptos::prelude::*;
    use leptos::task::spawn_local;
    use trainyard_core::event::{EVENT_DEVICE, EVENT_DEVICE_REMOVED, EVENT_RESYNC};
    use trainyard_core::protocol::paths;

    use super::{membership_may_have_moved, Devices};
    use crate::server_fns::list_hosts_page;
    use crate::state::live::{read_event_field, sleep};

    /// How long typing must pause before the search is applied.
    const SEARCH_PAUSE: Duration = Duration::from_millis(250);
    /// Refetches caused by the fleet's numbers are at most this frequent.
    const REFETCH_PAUSE: Duration = Duration::from_millis(500);

    pub(super) fn keep_current(devices: Devices) {
        let fetch = fetcher(devices);
        debounce_search(devices);
        // Another page or filter. The first run is the server's page.
        Effect::new(move |first: Option<()>| {
            // Read, not just tracked (see the filter effect in `Devices::new`).
            devices.query.with(|_| ());
            if first.is_some() {
                fetch.run(());
            }
        });
        // Missed events: what is shown may be out of date.
        Effect::new(move |first: Option<()>| {
            devices.fleet.resync.track();
            if first.is_some() {
                fetch.run(());
            }
        });
        // Hosts came, went, changed health or freed GPUs: refetch, at most
        // every REFETCH_PAUSE, when that may change what matches.
        let pending = StoredValue::new(false);
        Effect::new(move |before: Option<trainyard_core::FleetCounts>| {
            let now = devices.fleet.summary();
            let moved = before.is_some_and(|b| {
                devices
                    .query
                    .with_untracked(|q| membership_may_have_moved(&b, &now, &q.filter))
            });
            if moved && !pending.get_value() {
                pending.set_value(true);
                set_timeout(
                    move || {
                        pending.set_value(false);
                        fetch.run(());
                    },
                    REFETCH_PAUSE,
                );
            }
            now
        });
        follow_shown(devices, fetch);
    }

    /// Fetches the current query's page; only the newest answer is shown.
    fn fetcher(devices: Devices) -> Callback<()> {
        let latest = StoredValue::new(0u64);
        Callback::new(move |()| {
            let mine = latest.get_value() + 1;
            latest.set_value(mine);
            let query = devices.query.get_untracked();
            devices.loading.set(true);
            spawn_local(async move {
                let answer = list_hosts_page(query).await;
                if latest.try_get_value() != Some(mine) {
                    return;
                }
                devices.loading.set(false);
                match answer {
                    Ok(view) => devices.adopt(view),
                    Err(e) => devices
                        .error
                        .set(Some(format!("Could not load hosts: {e}"))),
                }
            });
        })
    }

    /// Applies the search once typing pauses.
    fn debounce_search(devices: Devices) {
        let generation = StoredValue::new(0u64);
        Effect::new(move |_| {
            let text = devices.search_text.get();
            let mine = generation.get_value() + 1;
            generation.set_value(mine);
            set_timeout(
                move || {
                    if generation.try_get_value() == Some(mine)
                        && devices.search.get_untracked() != text
                    {
                        devices.search.set(text);
                    }
                },
                SEARCH_PAUSE,
            );
        });
    }

    /// Follows the shown hosts' events on a stream of their own, reopened
    /// when the shown hosts change; closed when the page goes away.
    fn follow_shown(devices: Devices, fetch: Callback<()>) {
        let running = StoredValue::new_local(None::<oneshot::Sender<()>>);
        let stop = move || {
            if let Some(Some(tx)) = running.try_update_value(Option::take) {
                let _ = tx.send(());
            }
        };
        on_cleanup(stop);
        Effect::new(move |before: Option<Vec<String>>| {
            let ids = devices.fleet.ids();
            // A refetch that shows the same hosts keeps the stream open.
            if before.as_ref() == Some(&ids) {
                return ids;
            }
            stop();
            if !ids.is_empty() {
                let (tx, rx) = oneshot::channel::<()>();
                running.set_value(Some(tx));
                let followed = ids.clone();
                spawn_local(async move {
                    futures::select! {
                        () = stream_forever(devices, followed, fetch).fuse() => {},
                        _ = rx.fuse() => {},
                    }
                });
            }
            ids
        });
    }

    async fn stream_forever(devices: Devices, ids: Vec<String>, fetch: Callback<()>) {
        let url = format!("{}?devices={}", paths::events(), ids.join(","));
        let mut retry = Duration::from_secs(1);
        loop {
            match open(&url, devices, fetch).await {
                Ok(()) => retry = Duration::from_secs(1),
                Err(e) => leptos::logging::warn!("live host updates: {e}"),
            }
            sleep(retry).await;
            retry = (retry * 2).min(Duration::from_secs(30));
        }
    }

    async fn open(url: &str, devices: Devices, fetch: Callback<()>) -> Result<(), String> {
        let mut source = EventSource::new(url).map_err(|e| e.to_string())?;
        let mut streams = Vec::new();
        for name in [EVENT_DEVICE, EVENT_DEVICE_REMOVED, EVENT_RESYNC] {
            streams.push(source.subscribe(name).map_err(|e| e.to_string())?);
        }
        let mut events = futures::stream::select_all(streams);
        while let Some(Ok((name, message))) = events.next().await {
            let data = message.data().as_string().unwrap_or_default();
            let read = match name.as_str() {
                EVENT_DEVICE => {
                    read_event_field(&data, "host").map(|host| devices.fleet.update(host))
                }
                EVENT_DEVICE_REMOVED => {
                    read_event_field::<String>(&data, "host_id").map(|host_id| {
                        devices.fleet.remove(&host_id);
                        fetch.run(());
                    })
                }
                EVENT_RESYNC => {
                    fetch.run(());
                    Ok(())
                }
                _ => Ok(()),
            };
            if let Err(e) = read {
                leptos::logging::warn!("ignoring a `{name}` event this page cannot read: {e}");
            }
        }
        source.close();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use trainyard_core::HostHealth;

    use super::*;

    #[test]
    fn only_moves_that_can_change_the_matches_refetch() {
        let before = FleetCounts {
            healthy: 10,
            stale: 1,
            disconnected: 0,
            gpus_total: 80,
            gpus_free: 8,
        };
        let freed = FleetCounts {
            gpus_free: 9,
            ..before
        };
        let went_stale = FleetCounts {
            healthy: 9,
            stale: 2,
            gpus_total: 72,
            ..before
        };
        let new_host = FleetCounts {
            healthy: 11,
            gpus_total: 88,
            ..before
        };
        let any = HostFilter::default();
        let by_health = HostFilter {
            health: vec![HostHealth::Healthy],
            ..Default::default()
        };
        let free = HostFilter {
            min_free_gpus: 1,
            ..Default::default()
        };
        assert!(!membership_may_have_moved(&before, &before, &free));
        assert!(membership_may_have_moved(&before, &new_host, &any));
        assert!(!membership_may_have_moved(&before, &freed, &any));
        assert!(!membership_may_have_moved(&before, &went_stale, &any));
        assert!(membership_may_have_moved(&before, &went_stale, &by_health));
        assert!(!membership_may_have_moved(&before, &freed, &by_health));
        assert!(membership_may_have_moved(&before, &freed, &free));
    }
}
