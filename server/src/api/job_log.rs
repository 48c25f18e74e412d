//! A job's output: `GET /api/v1/jobs/{id}/log` (plain text, `follow=true`
//! keeps the response open until the job ends) and
//! `GET /api/v1/jobs/{id}/log/stream` (server-sent `log` and `end` events,
//! for the browser).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast;
use trainyard_engine::{Engine, LogAppended};

use super::error::ApiError;
use super::jobs::job_id;
use crate::shutdown::Shutdown;
use crate::state::AppState;

/// Most bytes read per step.
const CHUNK: usize = 256 * 1024;
/// Re-check the job's status at least this often while following.
const RECHECK: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    offset: u64,
    attempt: Option<u32>,
    #[serde(default)]
    follow: bool,
}

pub async fn text(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let id = job_id(&id)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    let headers = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    if !q.follow {
        let (_, slice, _) = state
            .engine
            .read_log(id, q.attempt, q.offset, usize::MAX)
            .await?;
        return Ok((headers, slice.data).into_response());
    }
    // Fails early (404, bad attempt) before a streaming answer starts.
    state.engine.read_log(id, q.attempt, q.offset, 0).await?;
    let chunks = follow(
        state.engine.clone(),
        state.shutdown.clone(),
        id,
        q.attempt,
        q.offset,
    )
    .filter_map(|item| async move {
        match item {
            Followed::Chunk {
                data,
                new_attempt,
                attempt,
                ..
            } => {
                let mut bytes = Vec::new();
                if new_attempt {
                    bytes.extend(format!("--- attempt {attempt} ---\n").into_bytes());
                }
                bytes.extend(data);
                Some(Ok::<_, Infallible>(bytes))
            }
            Followed::End { .. } => None,
        }
    });
    Ok((headers, Body::from_stream(chunks)).into_response())
}

pub async fn sse(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = job_id(&id)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("bad_query", e.body_text()))?;
    state.engine.read_log(id, q.attempt, q.offset, 0).await?;
    let events = follow(
        state.engine.clone(),
        state.shutdown.clone(),
        id,
        q.attempt,
        q.offset,
    )
    .map(|item| {
        let event = match item {
            Followed::Chunk {
                attempt,
                offset,
                data,
                ..
            } => Event::default().event("log").data(
                serde_json::json!({
                    "attempt": attempt,
                    "offset": offset,
                    "text": String::from_utf8_lossy(&data),
                })
                .to_string(),
            ),
            Followed::End { status } => Event::default()
                .event("end")
                .data(serde_json::json!({ "status": status }).to_string()),
        };
        Ok(event)
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

enum Followed {
    Chunk {
        attempt: u32,
        offset: u64,
        data: Vec<u8>,
        /// The first chunk of a newer attempt (after a requeue).
        new_attempt: bool,
    },
    End {
        status: String,
    },
}

struct Cursor {
    engine: Arc<Engine>,
    shutdown: Shutdown,
    updates: broadcast::Receiver<LogAppended>,
    id: i64,
    pinned_attempt: Option<u32>,
    attempt: Option<u32>,
    offset: u64,
    done: bool,
}

/// Output of job `id` from `offset` as it grows, then one `End` when the
/// job is finished and everything was sent. Without a pinned attempt it
/// moves on to a newer attempt when the job is retried.
fn follow(
    engine: Arc<Engine>,
    shutdown: Shutdown,
    id: i64,
    attempt: Option<u32>,
    offset: u64,
) -> impl Stream<Item = Followed> {
    let updates = engine.log_updates();
    let cursor = Cursor {
        engine,
        shutdown,
        updates,
        id,
        pinned_attempt: attempt,
        attempt,
        offset,
        done: false,
    };
    stream::unfold(cursor, |mut c| async move {
        loop {
            if c.done {
                return None;
            }
            let read = c
                .engine
                .read_log(c.id, c.pinned_attempt, c.offset, CHUNK)
                .await;
            let Ok((at, slice, status)) = read else {
                c.done = true;
                return Some((
                    Followed::End {
                        status: "unknown".into(),
                    },
                    c,
                ));
            };
            let new_attempt = c.attempt.is_some_and(|a| a != at.attempt);
            if new_attempt {
                c.offset = 0;
                c.attempt = Some(at.attempt);
                continue;
            }
            c.attempt = Some(at.attempt);
            let data = utf8_prefix(slice.data);
            if !data.is_empty() {
                let offset = c.offset;
                c.offset += data.len() as u64;
                let first_of_retry = offset == 0 && at.attempt > 1 && c.pinned_attempt.is_none();
                return Some((
                    Followed::Chunk {
                        attempt: at.attempt,
                        offset,
                        data,
                        new_attempt: first_of_retry,
                    },
                    c,
                ));
            }
            if status.is_final() {
                c.done = true;
                return Some((
                    Followed::End {
                        status: status.label().into(),
                    },
                    c,
                ));
            }
            let id = c.id;
            let wait_for_append = async {
                loop {
                    match c.updates.recv().await {
                        Ok(update) if update.attempt.job_id == id => return,
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => return,
                        Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
                    }
                }
            };
            tokio::select! {
                () = wait_for_append => {}
                () = tokio::time::sleep(RECHECK) => {}
                () = c.shutdown.wait() => return None,
            }
        }
    })
}

/// The longest prefix that is whole UTF-8 (a multi-byte character split by
/// a chunk boundary waits for the next read), or everything if the bytes
/// are not text at all.
fn utf8_prefix(mut data: Vec<u8>) -> Vec<u8> {
    if let Err(e) = std::str::from_utf8(&data) {
        if e.error_len().is_none() && e.valid_up_to() > 0 {
            data.truncate(e.valid_up_to());
        }
    }
    data
}
