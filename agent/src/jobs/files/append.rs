//! Append files (CSV, logs, JSONL…): whatever accumulated after the
//! server's end goes out in chunks at that offset. A file that was
//! rewritten rather than grown is sent whole, and appends go on after it.

use trainyard_core::sync::{hex64, AppendQuery};
use xxhash_rust::xxh3::xxh3_64;

use super::compress::encode;
use super::fingerprint::Window;
use super::pass::{FileResult, Halt, Pass};
use super::read::blocking;
use super::scan::LocalFile;
use super::tracked::{AppendState, Tracked};
use super::upload::{self, Upload};
use crate::http::response::Verdict;
use crate::jobs::api::{Refusal, Reply};

/// Largest append chunk (uncompressed).
pub(super) const APPEND_CHUNK: u64 = 1024 * 1024;
/// While the job runs, a file's new bytes wait until there are this many
/// or [`MAX_BATCH_DELAY`] passed since its last append: each request costs
/// some 600 bytes of headers and acknowledgement, so a slow trickle sent
/// every second would pay more in overhead than it carries. The last pass
/// sends everything at once.
const MIN_BATCH: u64 = 16 * 1024;
const MAX_BATCH_DELAY: std::time::Duration = std::time::Duration::from_secs(3);
/// Surprises (offset corrections, odd acknowledgements, rewrites) one
/// call accepts before it backs off instead of going round in circles.
const MAX_SURPRISES: u32 = 4;

/// What one step of the cursor came to.
enum Step {
    /// The cursor moved (`sent`: past bytes the server acknowledged); look again.
    Again { sent: bool },
    /// Done for this pass.
    End(FileResult),
}

/// Brings the server's copy of an append file in step with `file`.
pub(super) async fn sync_append(
    pass: &Pass<'_>,
    file: &LocalFile,
    tracked: &mut Tracked,
) -> Result<FileResult, Halt> {
    let mut sent = false;
    let mut surprises = 0;
    loop {
        let before = tracked.cursor;
        let step = match before {
            AppendState::Unverified => verify(file, tracked).await,
            AppendState::Rewritten => rewrite(pass, file, tracked).await?,
            AppendState::At { .. } => append(pass, file, tracked).await?,
        };
        match step {
            Step::End(FileResult::Idle) if sent => return Ok(FileResult::Sent),
            Step::End(result) => return Ok(result),
            Step::Again { sent: moved } => sent |= moved,
        }
        if is_surprise(before, tracked.cursor) {
            surprises += 1;
            if surprises > MAX_SURPRISES {
                return Ok(FileResult::Later(
                    "the server's copy keeps moving away from the local file".into(),
                ));
            }
        }
    }
}

/// A step that went back (to a rewrite, or to an unknown fingerprint)
/// rather than forward.
fn is_surprise(before: AppendState, after: AppendState) -> bool {
    matches!(after, AppendState::Rewritten)
        || matches!(
            (before, after),
            (
                AppendState::At { .. },
                AppendState::At {
                    fingerprint: None,
                    ..
                }
            )
        )
}

/// Compares the local file with the server's copy: the server's bytes
/// must be the local file's first bytes, else it is sent whole.
async fn verify(file: &LocalFile, tracked: &mut Tracked) -> Step {
    let at = |acked| AppendState::At {
        acked,
        fingerprint: None,
        checked: None,
    };
    let copy = match tracked.server {
        None => {
            tracked.cursor = at(0);
            return Step::Again { sent: false };
        }
        Some(copy) if copy.size == 0 => {
            tracked.cursor = at(0);
            return Step::Again { sent: false };
        }
        Some(copy) => copy,
    };
    if copy.size > file.stamp.size {
        tracked.cursor = AppendState::Rewritten;
        return Step::Again { sent: false };
    }
    match tracked.prefix_hash(file, copy.size).await {
        Ok(Some(hash)) if Some(hash) == copy.xxh3 => tracked.cursor = at(copy.size),
        Ok(_) => tracked.cursor = AppendState::Rewritten,
        Err(e) => return Step::End(FileResult::Unreadable(e)),
    }
    Step::Again { sent: false }
}

/// Sends the file's current first bytes as a whole upload, which replaces
/// the server's copy; appends continue from its end.
async fn rewrite(pass: &Pass<'_>, file: &LocalFile, tracked: &mut Tracked) -> Result<Step, Halt> {
    let size = file.stamp.size;
    let xxh3 = match tracked.prefix_hash(file, size).await {
        Ok(Some(hash)) => hash,
        Ok(None) => {
            return Ok(Step::End(
                pass.not_now("it became shorter while it was being hashed"),
            ))
        }
        Err(e) => return Ok(Step::End(FileResult::Unreadable(e))),
    };
    let upload = Upload {
        file,
        size,
        xxh3,
        guard: None,
    };
    Ok(match upload::send(pass, &upload, tracked).await? {
        FileResult::Sent => {
            tracked.cursor = AppendState::At {
                acked: size,
                fingerprint: None,
                checked: None,
            };
            Step::Again { sent: true }
        }
        other => Step::End(other),
    })
}

/// Checks that the file still extends the server's copy, then sends one
/// chunk of what follows it.
async fn append(pass: &Pass<'_>, file: &LocalFile, tracked: &mut Tracked) -> Result<Step, Halt> {
    let AppendState::At {
        acked,
        fingerprint,
        checked,
    } = tracked.cursor
    else {
        return Ok(Step::Again { sent: false });
    };
    if file.stamp.size < acked {
        tracked.cursor = AppendState::Rewritten;
        return Ok(Step::Again { sent: false });
    }
    if fingerprint.is_some() && checked == Some(file.stamp) {
        return Ok(Step::End(FileResult::Idle));
    }
    let small = file.stamp.size - acked < MIN_BATCH;
    let recent = tracked
        .last_append
        .is_some_and(|at| at.elapsed() < MAX_BATCH_DELAY);
    if !pass.last && !pass.flush_appends && small && recent {
        return Ok(Step::End(FileResult::Idle));
    }
    let path = file.abs.clone();
    let window = match blocking(move || Window::read(&path, acked, APPEND_CHUNK)).await {
        Ok(window) => window,
        Err(e) => return Ok(Step::End(FileResult::Unreadable(e))),
    };
    let now = window.fingerprint(acked);
    if now.is_none() || fingerprint.is_some_and(|known| Some(known) != now) {
        tracked.cursor = AppendState::Rewritten;
        return Ok(Step::Again { sent: false });
    }
    let new = window.after(acked);
    if new.is_empty() {
        tracked.cursor = AppendState::At {
            acked,
            fingerprint: now,
            checked: (file.stamp.size == acked).then_some(file.stamp),
        };
        return Ok(Step::End(FileResult::Idle));
    }
    let end = acked + new.len() as u64;
    let query = AppendQuery {
        offset: acked,
        xxh3: hex64(xxh3_64(new)),
    };
    let raw = new.to_vec();
    let body = match blocking(move || Ok(encode(raw))).await {
        Ok(body) => body,
        Err(e) => return Ok(Step::End(FileResult::Unreadable(e))),
    };
    let moved_to = |acked, fingerprint| AppendState::At {
        acked,
        fingerprint,
        checked: None,
    };
    tracked.last_append = Some(tokio::time::Instant::now());
    match pass
        .api
        .append_file(pass.attempt, &file.path, &query, body)
        .await
    {
        Reply::Done(ack) if ack.size == end => {
            tracked.cursor = moved_to(end, window.fingerprint(end));
            if end >= file.stamp.size {
                return Ok(Step::End(FileResult::Sent));
            }
        }
        // The server had more (or less) than this chunk's end: go on from
        // its size, with the fingerprint taken from the file there.
        Reply::Done(ack) => tracked.cursor = moved_to(ack.size, None),
        Reply::OffsetMismatch { size } if size != acked => {
            tracked.cursor = moved_to(size, None);
            return Ok(Step::Again { sent: false });
        }
        Reply::OffsetMismatch { .. } => {
            return Ok(Step::End(FileResult::Later(format!(
                "the server refused bytes at offset {acked}, its own size"
            ))));
        }
        Reply::Refused(Refusal::HashMismatch, message) => {
            return Ok(Step::End(FileResult::Later(message)));
        }
        Reply::Refused(_, message) | Reply::Failed(Verdict::Rejected(message)) => {
            return Ok(Step::End(FileResult::Refused(message)));
        }
        Reply::Superseded(message) => return Err(Halt::Superseded(message)),
        Reply::Failed(verdict) => return Err(Halt::Outage(verdict)),
    }
    Ok(Step::Again { sent: true })
}
