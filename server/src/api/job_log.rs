//! A job's output: `GET /api/v1/jobs/{id}/log` (plain text, `follow=true`
//! keeps the response open until the job ends) and
//! `GET /api/v1/jobs/{id}/log/stream` (server-sent `log` and `end` events,
//! for the browser).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast;
use trainyard_core::LogStreamEvent;
use trainyard_engine::{Engine, LogAppended};

use super::error::ApiError;
use super::extract::{ApiQuery, JobIdPath};
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

/// `GET /api/v1/jobs/{id}/log`: the output as text; with `follow=true` the
/// answer stays open until the job ends.
pub async fn text(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Response, ApiError> {
    let headers = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    if !q.follow {
        let read = state
            .engine
            .read_log(id, q.attempt, q.offset, usize::MAX)
            .await?;
        return Ok((headers, read.slice.data).into_response());
    }
    let chunks = open_follow(&state, id, &q)
        .await?
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

/// `GET /api/v1/jobs/{id}/log/stream`: the output as server-sent
/// [`LogStreamEvent`]s, ending with `end`.
pub async fn sse(
    State(state): State<AppState>,
    JobIdPath(id): JobIdPath,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let engine = state.engine.clone();
    let events = open_follow(&state, id, &q).await?.map(move |item| {
        let event = match item {
            Followed::Chunk {
                attempt,
                offset,
                data,
                ..
            } => LogStreamEvent::Log {
                attempt,
                offset,
                text: String::from_utf8_lossy(&data).into_owned(),
                server_ms: engine.now_ms(),
            },
            Followed::End { status } => LogStreamEvent::End { status },
        };
        Ok(sse_event(&event))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn sse_event(event: &LogStreamEvent) -> Event {
    let data = serde_json::to_string(event).unwrap_or_else(|e| {
        tracing::error!("could not serialize a log event: {e}");
        String::from("{}")
    });
    Event::default().event(event.name()).data(data)
}

/// Checks the job and attempt exist (a 404 or bad attempt fails here,
/// before a streaming answer starts), then follows its output.
async fn open_follow(
    state: &AppState,
    id: i64,
    q: &LogQuery,
) -> Result<impl Stream<Item = Followed>, ApiError> {
    state.engine.read_log(id, q.attempt, q.offset, 0).await?;
    Ok(follow(
        state.engine.clone(),
        state.shutdown.clone(),
        id,
        q.attempt,
        q.offset,
    ))
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

/// Where a follower is in a job's output.
struct LogFollower {
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
    let follower = LogFollower {
        updates: engine.log_updates(),
        engine,
        shutdown,
        id,
        pinned_attempt: attempt,
        attempt,
        offset,
        done: false,
    };
    stream::unfold(follower, |mut f| async move {
        let item = f.next().await?;
        Some((item, f))
    })
}

impl LogFollower {
    /// The next chunk or the end; `None` once the end was sent or at shutdown.
    async fn next(&mut self) -> Option<Followed> {
        loop {
            if self.done {
                return None;
            }
            let read = self
                .engine
                .read_log(self.id, self.pinned_attempt, self.offset, CHUNK)
                .await;
            let Ok(read) = read else {
                self.done = true;
                return Some(Followed::End {
                    status: "unknown".into(),
                });
            };
            let (at, status) = (read.attempt, read.status);
            if self.attempt.is_some_and(|a| a != at.attempt) {
                self.offset = 0;
                self.attempt = Some(at.attempt);
                continue;
            }
            self.attempt = Some(at.attempt);
            let data = utf8_prefix(read.slice.data);
            if !data.is_empty() {
                let offset = self.offset;
                self.offset += data.len() as u64;
                let first_of_retry = offset == 0 && at.attempt > 1 && self.pinned_attempt.is_none();
                return Some(Followed::Chunk {
                    attempt: at.attempt,
                    offset,
                    data,
                    new_attempt: first_of_retry,
                });
            }
            if status.is_final() {
                self.done = true;
                return Some(Followed::End {
                    status: status.label().into(),
                });
            }
            if !self.wait_for_more().await {
                return None;
            }
        }
    }

    /// Waits for an append to this job (or a recheck tick); false at shutdown.
    async fn wait_for_more(&mut self) -> bool {
        let id = self.id;
        let updates = &mut self.updates;
        let wait_for_append = async {
            loop {
                match updates.recv().await {
                    Ok(update) if update.attempt.job_id == id => return,
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
                }
            }
        };
        tokio::select! {
            () = wait_for_append => true,
            () = tokio::time::sleep(RECHECK) => true,
            () = self.shutdown.wait() => false,
        }
    }
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
