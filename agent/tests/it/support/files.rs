//! The fake server's run-file side, by the rules of docs/agent-protocol.md:
//! appends and upload chunks placed by the real server's rule
//! (`trainyard_core::sync::place`: only at the copy's size, a retry of bytes
//! it has is acknowledged, anything else is 409 with the size), 422 on a bad hash,
//! uploads staged and swapped in on a matching hash, resumable, gzip
//! bodies inflated. Plus the knobs tests turn.

use std::collections::HashMap;
use std::io::Read;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use trainyard_core::protocol::codes::{
    BAD_BODY, BAD_PATH, BAD_QUERY, HASH_MISMATCH, INTERNAL, TOO_LARGE,
};
use trainyard_core::sync::{
    parse_hex64, place, validate_run_path, AppendAck, AppendQuery, FileEntry, Placement, SyncKind,
    SyncStatus, UploadAck, UploadProgress, UploadQuery,
};
use trainyard_core::work::AttemptRef;
use xxhash_rust::xxh3::xxh3_64;

use super::work::{attempt_ref, current_attempt_request, superseded, Work};
use super::{error, offset_mismatch, Shared, SharedState};

/// Largest body after inflating, as on the real server.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Which endpoint a request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Append,
    Upload,
}

/// One append or upload chunk as the server saw it.
#[derive(Debug, Clone)]
pub struct FileRequest {
    pub op: Op,
    pub path: String,
    pub offset: u64,
    /// Uncompressed bytes.
    pub len: u64,
    pub gzip: bool,
    pub status: StatusCode,
}

/// An upload in progress.
struct Staged {
    size: u64,
    xxh3: u64,
    bytes: Vec<u8>,
}

/// The run files the server holds, and how it behaves.
#[derive(Default)]
pub struct Files {
    copies: HashMap<(AttemptRef, String), Vec<u8>>,
    staging: HashMap<(AttemptRef, String), Staged>,
    /// Every append and chunk answered while the server was up.
    pub requests: Vec<FileRequest>,
    pub status_requests: usize,
    /// The next this many appends or chunks are answered 422 unwritten.
    pub hash_failures: usize,
    /// The upload chunk of this path at this offset is answered 500, and
    /// the server goes down (`Work::down`) until the test brings it back.
    pub break_upload_at: Option<(String, u64)>,
    /// Files past this size are refused with 413.
    pub max_file_bytes: Option<u64>,
    /// The next this many appends or chunks are answered 200 with sizes
    /// past any file (`u64::MAX`), unwritten: a confused server.
    pub absurd_acks: usize,
}

impl Files {
    /// The server's copy of `path`.
    pub fn copy(&self, attempt: AttemptRef, path: &str) -> Option<&[u8]> {
        self.copies
            .get(&(attempt, path.to_string()))
            .map(Vec::as_slice)
    }

    /// Changes the server's copy, as if it had lost or mangled bytes.
    pub fn copy_mut(&mut self, attempt: AttemptRef, path: &str) -> Option<&mut Vec<u8>> {
        self.copies.get_mut(&(attempt, path.to_string()))
    }

    /// The requests for `path`, in order.
    pub fn requests_for(&self, path: &str) -> Vec<FileRequest> {
        self.requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

fn key(at: AttemptRef, path: &str) -> (AttemptRef, String) {
    (at, path.to_string())
}

pub async fn status(State(shared): SharedState, Path(at): Path<(i64, u32)>) -> Response {
    let at = attempt_ref(at);
    file_request(&shared, at, |work| {
        let files = &mut work.files;
        files.status_requests += 1;
        let mut status = SyncStatus::default();
        for ((attempt, path), bytes) in &files.copies {
            if *attempt == at {
                status.files.push(FileEntry {
                    path: path.clone(),
                    kind: SyncKind::of(path),
                    size: bytes.len() as u64,
                    xxh3: trainyard_core::sync::xxh3_hex(bytes),
                    modified_ms: 0,
                });
            }
        }
        for ((attempt, path), staged) in &files.staging {
            if *attempt == at {
                status.uploads.push(UploadProgress {
                    path: path.clone(),
                    size: staged.size,
                    xxh3: trainyard_core::sync::hex64(staged.xxh3),
                    received: staged.bytes.len() as u64,
                });
            }
        }
        Json(status).into_response()
    })
}

pub async fn append(
    State(shared): SharedState,
    Path((job_id, attempt, path)): Path<(i64, u32, String)>,
    Query(query): Query<AppendQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = attempt_ref((job_id, attempt));
    let chunk = Chunk {
        at,
        op: Op::Append,
        path,
        offset: query.offset,
    };
    chunk_request(&shared, chunk, &headers, &body, |work, path, bytes| {
        append_bytes(work, at, path, &query, &bytes)
    })
}

fn append_bytes(
    work: &mut Work,
    at: AttemptRef,
    path: &str,
    query: &AppendQuery,
    bytes: &[u8],
) -> (StatusCode, Response) {
    let files = &mut work.files;
    if files.absurd_acks > 0 {
        files.absurd_acks -= 1;
        return ok(AppendAck { size: u64::MAX });
    }
    if files.hash_failures > 0 || parse_hex64(&query.xxh3) != Some(xxh3_64(bytes)) {
        files.hash_failures = files.hash_failures.saturating_sub(1);
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, HASH_MISMATCH);
    }
    let max = files.max_file_bytes;
    let copy = files.copies.entry(key(at, path)).or_default();
    let size = copy.len() as u64;
    let len = bytes.len() as u64;
    match place(size, query.offset, len) {
        Placement::Append if max.is_some_and(|max| size + len > max) => {
            refuse(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE)
        }
        Placement::Append => {
            copy.extend_from_slice(bytes);
            ok(AppendAck { size: size + len })
        }
        Placement::AlreadyHeld => ok(AppendAck { size }),
        Placement::Mismatch => conflict(size, "this server has"),
    }
}

pub async fn upload(
    State(shared): SharedState,
    Path((job_id, attempt, path)): Path<(i64, u32, String)>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = attempt_ref((job_id, attempt));
    let chunk = Chunk {
        at,
        op: Op::Upload,
        path,
        offset: query.offset,
    };
    chunk_request(&shared, chunk, &headers, &body, |work, path, bytes| {
        upload_chunk(work, at, path, &query, bytes)
    })
}

fn upload_chunk(
    work: &mut Work,
    at: AttemptRef,
    path: &str,
    query: &UploadQuery,
    bytes: Vec<u8>,
) -> (StatusCode, Response) {
    let files = &mut work.files;
    if files.break_upload_at.as_ref() == Some(&(path.to_string(), query.offset)) {
        files.break_upload_at = None;
        work.down = true;
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL);
    }
    if files.absurd_acks > 0 {
        files.absurd_acks -= 1;
        return ok(UploadAck {
            received: u64::MAX,
            complete: false,
        });
    }
    if files.max_file_bytes.is_some_and(|max| query.size > max) {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE);
    }
    if files.hash_failures > 0 || parse_hex64(&query.chunk_xxh3) != Some(xxh3_64(&bytes)) {
        files.hash_failures = files.hash_failures.saturating_sub(1);
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, HASH_MISMATCH);
    }
    let Some(xxh3) = parse_hex64(&query.xxh3) else {
        return refuse(StatusCode::BAD_REQUEST, BAD_QUERY);
    };
    let key = key(at, path);
    let done = |size| {
        ok(UploadAck {
            received: size,
            complete: true,
        })
    };
    if files
        .copies
        .get(&key)
        .is_some_and(|copy| copy.len() as u64 == query.size && xxh3_64(copy) == xxh3)
    {
        return done(query.size);
    }
    let staged = files.staging.entry(key.clone()).or_insert(Staged {
        size: query.size,
        xxh3,
        bytes: Vec::new(),
    });
    if (staged.size, staged.xxh3) != (query.size, xxh3) {
        // Another version of the file: it replaces the unfinished one.
        *staged = Staged {
            size: query.size,
            xxh3,
            bytes: Vec::new(),
        };
    }
    let received = staged.bytes.len() as u64;
    match place(received, query.offset, bytes.len() as u64) {
        Placement::Append => {}
        // A retried chunk the staging file already holds, as on the real server.
        Placement::AlreadyHeld => {
            return ok(UploadAck {
                received,
                complete: false,
            })
        }
        Placement::Mismatch => return conflict(received, "this upload has"),
    }
    if received + bytes.len() as u64 > query.size {
        return refuse(StatusCode::BAD_REQUEST, "bad_chunk");
    }
    staged.bytes.extend_from_slice(&bytes);
    let received = staged.bytes.len() as u64;
    if received < query.size {
        return ok(UploadAck {
            received,
            complete: false,
        });
    }
    let Some(staged) = files.staging.remove(&key) else {
        return refuse(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL);
    };
    if xxh3_64(&staged.bytes) != xxh3 {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, HASH_MISMATCH);
    }
    files.copies.insert(key, staged.bytes);
    done(query.size)
}

/// Like every attempt request, and refused as superseded once the
/// attempt's `finished` was accepted: files must come first.
fn file_request(
    shared: &Shared,
    at: AttemptRef,
    handle: impl FnOnce(&mut Work) -> Response,
) -> Response {
    current_attempt_request(shared, at, |work| {
        if work.finished.contains_key(&at) {
            return superseded();
        }
        handle(work)
    })
}

/// Where an append or upload chunk goes.
struct Chunk {
    at: AttemptRef,
    op: Op,
    path: String,
    offset: u64,
}

/// An append or upload chunk: the path checked and the body inflated
/// before `handle` sees it, and the request recorded however it went.
fn chunk_request(
    shared: &Shared,
    chunk: Chunk,
    headers: &HeaderMap,
    body: &[u8],
    handle: impl FnOnce(&mut Work, &str, Vec<u8>) -> (StatusCode, Response),
) -> Response {
    file_request(shared, chunk.at, |work| {
        let (status, response, len, gzip) = match checked_body(&chunk.path, headers, body) {
            Ok((bytes, gzip)) => {
                let len = bytes.len() as u64;
                let (status, response) = handle(work, &chunk.path, bytes);
                (status, response, len, gzip)
            }
            Err((status, code, message)) => (status, error(status, code, &message), 0, false),
        };
        work.files.requests.push(FileRequest {
            op: chunk.op,
            path: chunk.path,
            offset: chunk.offset,
            len,
            gzip,
            status,
        });
        response
    })
}

/// A refusal: status, code and message.
type Refusal = (StatusCode, &'static str, String);

/// The path checked and the body inflated (and whether it was gzipped).
fn checked_body(path: &str, headers: &HeaderMap, body: &[u8]) -> Result<(Vec<u8>, bool), Refusal> {
    if let Err(e) = validate_run_path(path) {
        return Err((StatusCode::BAD_REQUEST, BAD_PATH, e.to_string()));
    }
    let gzip = headers
        .get("content-encoding")
        .is_some_and(|value| value.as_bytes() == b"gzip");
    let bytes = if gzip {
        let mut inflated = Vec::new();
        let read = flate2::read::GzDecoder::new(body)
            .take(MAX_BODY as u64 + 1)
            .read_to_end(&mut inflated);
        if read.is_err() {
            return Err((StatusCode::BAD_REQUEST, BAD_BODY, "not gzip".into()));
        }
        inflated
    } else {
        body.to_vec()
    };
    if bytes.len() > MAX_BODY {
        return Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            TOO_LARGE,
            "body too large".into(),
        ));
    }
    Ok((bytes, gzip))
}

/// 409 `offset_mismatch`, with its status for the request record.
fn conflict(size: u64, whose: &str) -> (StatusCode, Response) {
    (StatusCode::CONFLICT, offset_mismatch(size, whose))
}

fn ok(ack: impl serde::Serialize) -> (StatusCode, Response) {
    (StatusCode::OK, Json(ack).into_response())
}

fn refuse(status: StatusCode, code: &str) -> (StatusCode, Response) {
    (status, error(status, code, "refused (test)"))
}
