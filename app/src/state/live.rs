//! The browser's subscription to `GET /api/v1/events` (server-sent events).
//! On the server this does nothing: live updates start after hydration.
//!
//! This stream asks for no per-host events (`devices=none`): those grow
//! with the fleet. The fleet's numbers come as `fleet` events; the Devices
//! page opens a stream of its own for the hosts it shows.

use crate::state::fleet::Fleet;
use crate::state::jobs::JobStore;
use crate::state::notices::NoticeStore;

/// Starts the event stream and the one-second clock (browser only).
#[cfg(not(feature = "hydrate"))]
pub fn connect(_fleet: Fleet, _jobs: JobStore, _notices: NoticeStore) {}

#[cfg(feature = "hydrate")]
pub use browser::{read_event_field, sleep};

#[cfg(feature = "hydrate")]
pub fn connect(fleet: Fleet, jobs: JobStore, notices: NoticeStore) {
    use leptos::prelude::*;
    // Effects run only in the browser, once hydration is done.
    Effect::new(move |_| {
        set_interval(move || fleet.tick(), std::time::Duration::from_secs(1));
        // Before login the stream would only answer 401; logging in loads a
        // new page, which connects.
        if !browser::on_login_page() {
            leptos::task::spawn_local(browser::stream_forever(fleet, jobs, notices));
        }
    });
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::time::Duration;

    use futures::StreamExt;
    use gloo_net::eventsource::futures::EventSource;
    use gloo_net::eventsource::State;
    use leptos::prelude::*;
    use trainyard_core::event::{
        event_field, EVENT_FLEET, EVENT_HELLO, EVENT_JOB, EVENT_NOTICE, EVENT_PROGRESS,
        EVENT_RESYNC,
    };
    use trainyard_core::protocol::paths;

    use crate::state::fleet::Fleet;
    use crate::state::jobs::JobStore;
    use crate::state::notices::NoticeStore;

    pub fn on_login_page() -> bool {
        web_sys::window()
            .and_then(|w| w.location().pathname().ok())
            .is_some_and(|path| path == "/login")
    }

    /// Keeps a stream open for the life of the page. The browser reconnects
    /// a dropped stream by itself (sending `Last-Event-ID`); this loop only
    /// handles a stream the browser gave up on (e.g. a 401 after logout).
    pub async fn stream_forever(fleet: Fleet, jobs: JobStore, notices: NoticeStore) {
        let mut retry = Duration::from_secs(1);
        loop {
            match open(fleet, jobs, notices).await {
                Ok(()) => retry = Duration::from_secs(1),
                Err(e) => leptos::logging::warn!("live updates: {e}"),
            }
            fleet.connected.set(false);
            sleep(retry).await;
            retry = (retry * 2).min(Duration::from_secs(30));
        }
    }

    /// The event an `EventSource` fires when its connection drops.
    const DROPPED: &str = "error";

    async fn open(fleet: Fleet, jobs: JobStore, notices: NoticeStore) -> Result<(), String> {
        let url = format!("{}?devices=none", paths::events());
        let mut source = EventSource::new(&url).map_err(|e| e.to_string())?;
        let mut streams = Vec::new();
        for name in [
            EVENT_HELLO,
            EVENT_FLEET,
            EVENT_JOB,
            EVENT_PROGRESS,
            EVENT_NOTICE,
            EVENT_RESYNC,
        ] {
            streams.push(source.subscribe(name).map_err(|e| e.to_string())?);
        }
        // The browser's own `error` event: gloo's subscriptions report only
        // a stream the browser gave up on, not one it is reconnecting, which
        // left the indicator saying "live" through a whole outage.
        streams.push(source.subscribe(DROPPED).map_err(|e| e.to_string())?);
        let mut events = futures::stream::select_all(streams);
        while let Some(item) = events.next().await {
            match item {
                // Not a server event: the state check below shows the drop;
                // the `hello` of the reconnected stream shows the return.
                Ok((name, _)) if name == DROPPED => {}
                Ok((name, message)) => {
                    let data = message.data().as_string().unwrap_or_default();
                    if let Err(e) = apply(fleet, jobs, notices, &name, &data) {
                        leptos::logging::warn!(
                            "ignoring a `{name}` event this page cannot read: {e}"
                        )
                    }
                }
                Err(_) => break,
            }
            // The browser may be reconnecting; reflect that in the indicator.
            fleet.connected.set(source.state() == State::Open);
        }
        source.close();
        Ok(())
    }

    /// Applies one event this stream subscribed to, read by its name: only
    /// these events' types are read here, so the code to read hosts and
    /// deployments stays with the pages that show them.
    fn apply(
        fleet: Fleet,
        jobs: JobStore,
        notices: NoticeStore,
        name: &str,
        data: &str,
    ) -> Result<(), serde_json::Error> {
        match name {
            EVENT_HELLO => {
                fleet.sync_clock(read_event_field(data, "server_time_ms")?);
                fleet.connected.set(true);
                crate::state::notices::reload(notices);
            }
            EVENT_FLEET => fleet.set_counts(read_event_field(data, "counts")?),
            EVENT_JOB => jobs.upsert(read_event_field(data, "job")?),
            EVENT_PROGRESS => jobs.set_progress(read_event_field(data, "progress")?),
            EVENT_NOTICE => notices.apply(read_event_field(data, "notice")?),
            EVENT_RESYNC => {
                fleet.resync.update(|n| *n += 1);
                crate::state::notices::reload(notices);
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads field `key` of one event's whole `data:` line: the event's
    /// name says which field and type ([`event_field`]).
    pub fn read_event_field<T: serde::de::DeserializeOwned>(
        data: &str,
        key: &'static str,
    ) -> Result<T, serde_json::Error> {
        let mut line = crate::loaded::json_reader(data);
        let value = event_field(&mut line, key)?;
        line.end()?;
        Ok(value)
    }

    /// Waits without blocking the page.
    pub async fn sleep(duration: Duration) {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        set_timeout(
            move || {
                let _ = tx.send(());
            },
            duration,
        );
        let _ = rx.await;
    }
}
