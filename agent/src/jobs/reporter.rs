//! Ships one attempt's reports: `started`, the log in chunks as it grows,
//! then the rest of the log and, once the run files are synced too,
//! `finished`. Every step is retried with backoff until the server
//! acknowledges it; only a `superseded` answer ends the shipping early.

use std::io::SeekFrom;
use std::time::Duration;

use tokio::sync::watch;
use trainyard_core::work::{AttemptRef, FinishedReport, StartedReport};

use super::api::Reply;
use super::files::{FileTask, FilesEnd};
use super::retry::Retry;
use super::spool::{AttemptState, Spooled};
use super::JobContext;
use crate::http::response::Verdict;

/// Largest log chunk sent in one request.
pub(crate) const MAX_CHUNK: u64 = 256 * 1024;
/// How often the log is checked for new bytes while the job runs.
const SHIP_INTERVAL: Duration = Duration::from_millis(200);

/// How shipping ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The server has the whole log and the outcome.
    Delivered,
    /// The server refused the attempt as superseded; nothing more is sent.
    Superseded(String),
}

/// One step's result.
enum Step {
    /// Progress was made; go on at once.
    Progress,
    /// Nothing left to send right now.
    Idle,
    Superseded(String),
    Failed(Verdict),
}

/// Ships everything for `spooled` until delivered or superseded. The
/// attempt task sets `finished` once the process ended and its log is
/// complete; it is sent once `files` is done too. `send_started` is false
/// for an attempt recovered after a restart (its process is gone).
pub(crate) async fn deliver(
    ctx: &JobContext,
    spooled: &Spooled,
    send_started: bool,
    mut finished: watch::Receiver<Option<FinishedReport>>,
    files: &FileTask,
) -> Delivery {
    let attempt = spooled.read(AttemptState::attempt).await;
    let mut retry = Retry::new(ctx.backoff, attempt, "job reports");
    if send_started {
        loop {
            match send_started_report(ctx, spooled, attempt).await {
                Step::Superseded(message) => return Delivery::Superseded(message),
                Step::Failed(verdict) => retry.wait(verdict).await,
                Step::Progress | Step::Idle => break,
            }
        }
    }
    loop {
        let files_end = files.end();
        if let Some(FilesEnd::Superseded(message)) = files_end {
            return Delivery::Superseded(message);
        }
        let step = match ship_log_chunk(ctx, spooled, attempt).await {
            Step::Idle => {
                let report = finished.borrow().clone();
                match (report, files_end) {
                    (Some(report), Some(_)) => send_finished(ctx, spooled, attempt, report).await,
                    _ => Step::Idle,
                }
            }
            step => step,
        };
        match step {
            Step::Progress => retry.reset(),
            Step::Idle => {
                tokio::select! {
                    () = tokio::time::sleep(SHIP_INTERVAL) => {}
                    changed = finished.changed() => {
                        if changed.is_err() {
                            // The attempt task is gone; keep the pace anyway.
                            tokio::time::sleep(SHIP_INTERVAL).await;
                        }
                    }
                }
            }
            Step::Superseded(message) => return Delivery::Superseded(message),
            Step::Failed(verdict) => retry.wait(verdict).await,
        }
        if spooled.read(|s| s.reported).await {
            return Delivery::Delivered;
        }
    }
}

async fn send_started_report(ctx: &JobContext, spooled: &Spooled, attempt: AttemptRef) -> Step {
    let (started_reported, pid) = spooled.read(|s| (s.started_reported, s.pid)).await;
    if started_reported {
        return Step::Idle;
    }
    match ctx.api.started(attempt, &StartedReport { pid }).await {
        Reply::Done(()) => {
            spooled.update(|s| s.started_reported = true).await;
            Step::Progress
        }
        reply => other(reply),
    }
}

/// Sends the next unacknowledged piece of `output.log`, if any.
async fn ship_log_chunk(ctx: &JobContext, spooled: &Spooled, attempt: AttemptRef) -> Step {
    let offset = spooled.read(|s| s.log_acked).await;
    let chunk = match read_chunk(&spooled.dir().log(), offset).await {
        Ok(chunk) if chunk.is_empty() => return Step::Idle,
        Ok(chunk) => chunk,
        // No log (the run dir could not be created, or was deleted): nothing to ship.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Step::Idle,
        Err(e) => {
            tracing::warn!(?attempt, "cannot read the job's output.log: {e}");
            return Step::Idle;
        }
    };
    match ctx.api.append_log(attempt, offset, chunk).await {
        Reply::Done(ack) => {
            spooled.update(|s| s.log_acked = ack.size).await;
            Step::Progress
        }
        Reply::OffsetMismatch { size } if size == offset => Step::Failed(Verdict::Rejected(
            format!("the server refused log bytes at offset {offset}, its own size"),
        )),
        Reply::OffsetMismatch { size } => {
            tracing::debug!(
                ?attempt,
                offset,
                size,
                "log offset mismatch; resending from the server's size"
            );
            spooled.update(|s| s.log_acked = size).await;
            Step::Progress
        }
        reply => other(reply),
    }
}

/// Sends `finished` once every byte of the (now final) log is acknowledged.
async fn send_finished(
    ctx: &JobContext,
    spooled: &Spooled,
    attempt: AttemptRef,
    mut report: FinishedReport,
) -> Step {
    let log_size = match tokio::fs::metadata(spooled.dir().log()).await {
        Ok(metadata) => metadata.len(),
        Err(_) => 0,
    };
    if spooled.read(|s| s.log_acked).await < log_size {
        // Bytes arrived after the last look; ship them first.
        return Step::Progress;
    }
    report.log_size = log_size;
    match ctx.api.finished(attempt, &report).await {
        Reply::Done(()) => {
            spooled
                .update(|s| {
                    s.outcome = Some(report);
                    s.reported = true;
                })
                .await;
            Step::Progress
        }
        reply => other(reply),
    }
}

fn other<T>(reply: Reply<T>) -> Step {
    match reply {
        Reply::Done(_) => Step::Progress,
        Reply::Superseded(message) => Step::Superseded(message),
        Reply::OffsetMismatch { size } => Step::Failed(Verdict::Rejected(format!(
            "unexpected offset mismatch (server size {size})"
        ))),
        Reply::Refused(_, message) => Step::Failed(Verdict::Rejected(message)),
        Reply::Failed(verdict) => Step::Failed(verdict),
    }
}

/// Up to [`MAX_CHUNK`] bytes of `log` from `offset`, in one trip to the
/// blocking pool (open, seek and read were one trip each).
async fn read_chunk(log: &std::path::Path, offset: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let log = log.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(log)?;
        file.seek(SeekFrom::Start(offset))?;
        let mut chunk = Vec::new();
        file.take(MAX_CHUNK).read_to_end(&mut chunk)?;
        Ok(chunk)
    })
    .await
    .map_err(std::io::Error::other)?
}
