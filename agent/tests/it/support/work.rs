//! The fake server's job side: long-polls, started/log/finished reports,
//! and the knobs tests turn (outages, superseded attempts, log trouble).
//! Run files are in `files.rs`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tokio::time::Instant;
use trainyard_core::protocol::codes::SUPERSEDED;
use trainyard_core::sync::{place, Placement};
use trainyard_core::work::{
    Assignment, AttemptRef, FinishedReport, LogAck, PollRequest, PollResponse, StartedReport,
    StopOrder, MAX_POLL_WAIT_MS,
};

use super::files::Files;
use super::{error, lock, offset_mismatch, unavailable, Shared, SharedState};

/// Everything the job endpoints saw, and how they behave.
#[derive(Default)]
pub struct Work {
    /// Handed out by the next poll.
    pub offers: Vec<Assignment>,
    pub stop_orders: Vec<StopOrder>,
    /// Assignments handed out, re-sent if the agent's next poll does not
    /// list them (that poll's answer was lost), as a real server should.
    delivered: Vec<Assignment>,
    pub polls: Vec<PollRequest>,
    /// Every `started` request, answered or refused.
    pub started: HashMap<AttemptRef, StartedReport>,
    pub logs: HashMap<AttemptRef, Vec<u8>>,
    pub finished: HashMap<AttemptRef, FinishedReport>,
    pub finished_count: usize,
    /// Log appends answered 409 offset_mismatch / acknowledged as repeats.
    pub mismatches: usize,
    pub repeats: usize,
    /// Every endpoint answers 503 (heartbeats too).
    pub down: bool,
    /// Reports for these attempts get 409 superseded.
    pub superseded: HashSet<AttemptRef>,
    /// Log appends to apply but answer with 503, as if the ack were lost.
    pub lose_log_acks: usize,
    /// Run files: copies, uploads and their knobs.
    pub files: Files,
}

impl Work {
    pub fn offer(&mut self, assignment: Assignment) {
        self.offers.push(assignment);
    }

    pub fn log_text(&self, attempt: AttemptRef) -> String {
        String::from_utf8_lossy(self.logs.get(&attempt).map_or(&[][..], Vec::as_slice)).into_owned()
    }
}

pub(super) fn attempt_ref((job_id, attempt): (i64, u32)) -> AttemptRef {
    AttemptRef { job_id, attempt }
}

pub(super) fn superseded() -> Response {
    error(
        StatusCode::CONFLICT,
        SUPERSEDED,
        "a newer attempt replaced this one",
    )
}

/// `{}`, the acknowledgement of `started` and `finished`.
fn empty_ack() -> Response {
    Json(serde_json::json!({})).into_response()
}

/// Holds the poll until there is work or a stop order, `wait_ms` passes,
/// or a newer poll from the agent replaces it.
pub async fn poll(State(shared): SharedState, Json(request): Json<PollRequest>) -> Response {
    let wait = Duration::from_millis(request.wait_ms.min(MAX_POLL_WAIT_MS));
    let deadline = Instant::now() + wait;
    let running: HashSet<AttemptRef> = request.running.iter().copied().collect();
    let seq = {
        let mut script = lock(&shared.script);
        if script.work.down {
            return unavailable();
        }
        script.work.polls.push(request);
        script.work.polls.len()
    };
    shared.wake.notify_waiters();
    loop {
        let woken = shared.wake.notified();
        {
            let mut script = lock(&shared.script);
            let work = &mut script.work;
            if work.down {
                return unavailable();
            }
            if work.polls.len() != seq {
                return Json(PollResponse::default()).into_response();
            }
            let finished = &work.finished;
            let superseded = &work.superseded;
            let mut assign: Vec<Assignment> = work
                .delivered
                .iter()
                .filter(|a| {
                    let at = attempt_ref((a.job_id, a.attempt));
                    !running.contains(&at)
                        && !finished.contains_key(&at)
                        && !superseded.contains(&at)
                })
                .cloned()
                .collect();
            let offers = std::mem::take(&mut work.offers);
            work.delivered.extend(offers.iter().cloned());
            assign.extend(offers);
            let stop = std::mem::take(&mut work.stop_orders);
            if !assign.is_empty() || !stop.is_empty() {
                return Json(PollResponse { assign, stop }).into_response();
            }
        }
        tokio::select! {
            () = woken => {}
            () = tokio::time::sleep_until(deadline) => {
                return Json(PollResponse::default()).into_response();
            }
        }
    }
}

pub async fn started(
    State(shared): SharedState,
    Path(at): Path<(i64, u32)>,
    Json(report): Json<StartedReport>,
) -> Response {
    let at = attempt_ref(at);
    report_request(&shared, |work| {
        work.started.insert(at, report);
        if work.superseded.contains(&at) {
            return superseded();
        }
        empty_ack()
    })
}

#[derive(Deserialize)]
pub struct OffsetQuery {
    offset: u64,
}

pub async fn append_log(
    State(shared): SharedState,
    Path(at): Path<(i64, u32)>,
    Query(OffsetQuery { offset }): Query<OffsetQuery>,
    body: Bytes,
) -> Response {
    let at = attempt_ref(at);
    current_attempt_request(&shared, at, |work| append(work, at, offset, &body))
}

fn append(work: &mut Work, at: AttemptRef, offset: u64, body: &[u8]) -> Response {
    let log = work.logs.entry(at).or_default();
    let size = log.len() as u64;
    match place(size, offset, body.len() as u64) {
        Placement::Append => {
            log.extend_from_slice(body);
            let size = log.len() as u64;
            if work.lose_log_acks > 0 {
                work.lose_log_acks -= 1;
                return unavailable();
            }
            Json(LogAck { size }).into_response()
        }
        Placement::AlreadyHeld => {
            work.repeats += 1;
            Json(LogAck { size }).into_response()
        }
        Placement::Mismatch => {
            work.mismatches += 1;
            offset_mismatch(size, "this server has")
        }
    }
}

pub async fn finished(
    State(shared): SharedState,
    Path(at): Path<(i64, u32)>,
    Json(report): Json<FinishedReport>,
) -> Response {
    let at = attempt_ref(at);
    current_attempt_request(&shared, at, |work| {
        work.finished.insert(at, report);
        work.finished_count += 1;
        empty_ack()
    })
}

/// Runs `handle` on the job state, unless the server is down (503).
fn report_request(shared: &Shared, handle: impl FnOnce(&mut Work) -> Response) -> Response {
    let mut script = lock(&shared.script);
    if script.work.down {
        return unavailable();
    }
    handle(&mut script.work)
}

/// Like [`report_request`], and a superseded attempt gets 409 before
/// `handle` sees anything.
pub(super) fn current_attempt_request(
    shared: &Shared,
    at: AttemptRef,
    handle: impl FnOnce(&mut Work) -> Response,
) -> Response {
    report_request(shared, |work| {
        if work.superseded.contains(&at) {
            return superseded();
        }
        handle(work)
    })
}
