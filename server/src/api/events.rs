//! `GET /api/v1/events`: server-sent events with `Last-Event-ID` resume.
//!
//! `?devices=` narrows the per-host events (`device`, `device_removed`),
//! the only ones whose rate grows with the fleet: absent or `all` sends
//! every host's, `none` none (the `fleet` numbers still come), and a
//! comma-separated list of host ids only those hosts'. The Devices page
//! follows just the hosts it shows, so 10,000 hosts cost a browser what 24 do.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};
use trainyard_core::event::EVENT_RESYNC;
use trainyard_core::{validate_host_id, ServerEvent};
use trainyard_engine::PublishedEvent;

use super::error::ApiError;
use super::extract::ApiQuery;
use super::runs::bad_query;
use crate::state::AppState;

/// The most host ids `devices=` may list (a page of hosts, with room).
pub const MAX_FOLLOWED_HOSTS: usize = 1000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsParams {
    devices: Option<String>,
}

/// Which hosts' events a stream carries.
#[derive(Debug, Clone)]
enum Devices {
    All,
    Only(Arc<HashSet<String>>),
}

impl Devices {
    fn parse(raw: Option<&str>) -> Result<Devices, ApiError> {
        let raw = raw.map(str::trim).unwrap_or_default();
        match raw {
            "" | "all" => Ok(Devices::All),
            "none" => Ok(Devices::Only(Arc::default())),
            list => {
                let mut ids = HashSet::new();
                for id in list.split(',').map(str::trim).filter(|id| !id.is_empty()) {
                    validate_host_id(id)
                        .map_err(|e| bad_query("devices", format!("{id:?}: {e}")))?;
                    ids.insert(id.to_string());
                }
                if ids.len() > MAX_FOLLOWED_HOSTS {
                    return Err(bad_query(
                        "devices",
                        format!("at most {MAX_FOLLOWED_HOSTS} host ids (or all, or none)"),
                    ));
                }
                Ok(Devices::Only(Arc::new(ids)))
            }
        }
    }

    fn wants(&self, event: &PublishedEvent) -> bool {
        match (self, event.host_id()) {
            (Devices::Only(ids), Some(host)) => ids.contains(host),
            _ => true,
        }
    }
}

/// How long a browser waits before reconnecting a dropped stream.
const RETRY: Duration = Duration::from_secs(2);

pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<EventsParams>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let devices = Devices::parse(params.devices.as_deref())?;
    let last_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let sub = state.engine.events().subscribe(last_id);

    let resync = sub.needs_resync.then(|| resync_event(&sub.resume_id));
    let hello = ServerEvent::Hello {
        server_time_ms: state.engine.now_ms(),
    };
    let hello = Event::default()
        .retry(RETRY)
        .event(hello.name())
        .data(serde_json::to_string(&hello).unwrap_or_default());
    let first = stream::iter(
        std::iter::once(hello)
            .chain(resync)
            .chain(
                sub.replay
                    .iter()
                    .filter(|e| devices.wants(e))
                    .map(to_sse)
                    .collect::<Vec<_>>(),
            )
            .map(Ok),
    );
    let resume_id = sub.resume_id.clone();
    let live = BroadcastStream::new(sub.live).filter_map(move |item| {
        let event = match item {
            Ok(event) => devices.wants(&event).then(|| to_sse(&event)),
            // Too slow to keep up: tell the browser to refetch rather than
            // silently dropping updates.
            Err(BroadcastStreamRecvError::Lagged(_)) => Some(resync_event(&resume_id)),
        };
        futures::future::ready(event.map(Ok))
    });
    let shutdown = state.shutdown.clone();
    let stream = first
        .chain(live)
        .take_until(async move { shutdown.wait().await });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn to_sse(event: &Arc<PublishedEvent>) -> Event {
    Event::default()
        .id(event.id())
        .event(event.name)
        .data(event.data())
}

fn resync_event(resume_id: &str) -> Event {
    Event::default()
        .id(resume_id)
        .event(EVENT_RESYNC)
        .data(r#"{"type":"resync"}"#)
}
