//! `GET /api/v1/events`: server-sent events with `Last-Event-ID` resume.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};
use trainyard_core::event::EVENT_RESYNC;
use trainyard_core::ServerEvent;
use trainyard_engine::PublishedEvent;

use crate::state::AppState;

/// How long a browser waits before reconnecting a dropped stream.
const RETRY: Duration = Duration::from_secs(2);

pub async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
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
            .chain(sub.replay.iter().map(to_sse).collect::<Vec<_>>())
            .map(Ok),
    );
    let resume_id = sub.resume_id.clone();
    let live = BroadcastStream::new(sub.live).map(move |item| {
        Ok(match item {
            Ok(event) => to_sse(&event),
            // Too slow to keep up: tell the browser to refetch rather than
            // silently dropping updates.
            Err(BroadcastStreamRecvError::Lagged(_)) => resync_event(&resume_id),
        })
    });
    let shutdown = state.shutdown.clone();
    let stream = first
        .chain(live)
        .take_until(async move { shutdown.wait().await });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
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
