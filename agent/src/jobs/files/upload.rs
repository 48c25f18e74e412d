//! Whole-file uploads in chunks, named by the file's final size and xxh3
//! and resumed where the server's staging file ends, so an interrupted
//! multi-GB checkpoint is not sent again from the start.

use trainyard_core::sync::{hex64, UploadQuery};
use xxhash_rust::xxh3::xxh3_64;

use super::compress::encode;
use super::pass::{FileResult, Halt, Pass};
use super::read::{blocking, read_range};
use super::scan::{LocalFile, Stamp};
use super::tracked::{Pending, ServerCopy, Tracked};
use crate::http::response::Verdict;
use crate::jobs::api::{Refusal, Reply};

/// Largest upload chunk (uncompressed).
pub(super) const UPLOAD_CHUNK: u64 = 4 * 1024 * 1024;
/// Offset corrections from the server one upload accepts before it backs
/// off: a server that keeps moving the offset is not making progress.
const MAX_OFFSET_MISMATCHES: u32 = 4;

/// The first `size` bytes of a file, hashing to `xxh3`.
pub(super) struct Upload<'a> {
    pub file: &'a LocalFile,
    pub size: u64,
    pub xxh3: u64,
    /// For whole files: the stamp the file must keep while it is read; a
    /// change means the job is writing it again. Append files need none:
    /// their first `size` bytes stay put while they grow.
    pub guard: Option<Stamp>,
}

/// Sends `upload` from where the server's unfinished copy ends (or 0).
/// On completion the server's copy is recorded in `tracked`.
pub(super) async fn send(
    pass: &Pass<'_>,
    upload: &Upload<'_>,
    tracked: &mut Tracked,
) -> Result<FileResult, Halt> {
    let (size, xxh3) = (upload.size, upload.xxh3);
    let mut offset = match tracked.upload {
        Some(p) if p.size == size && p.xxh3 == xxh3 => p.received.min(size),
        _ => 0,
    };
    let mut mismatches = 0;
    loop {
        if let Some(guard) = upload.guard {
            match tokio::fs::metadata(&upload.file.abs).await {
                Ok(metadata) if Stamp::of(&metadata) == guard => {}
                Ok(_) => return Ok(pass.not_now("it changed while it was being sent")),
                Err(e) => return Ok(FileResult::Unreadable(e)),
            }
        }
        let len = UPLOAD_CHUNK.min(size - offset);
        let path = upload.file.abs.clone();
        let read = blocking(move || {
            let raw = read_range(&path, offset, len)?;
            Ok((raw.len() as u64, xxh3_64(&raw), encode(raw)))
        })
        .await;
        let (chunk_xxh3, body) = match read {
            Ok((read, hash, body)) if read == len => (hash, body),
            Ok(_) => return Ok(pass.not_now("it became shorter while it was being sent")),
            Err(e) => return Ok(FileResult::Unreadable(e)),
        };
        let query = UploadQuery {
            size,
            xxh3: hex64(xxh3),
            offset,
            chunk_xxh3: hex64(chunk_xxh3),
        };
        let progress = |received| Pending {
            size,
            xxh3,
            received,
        };
        match pass
            .api
            .upload_chunk(pass.attempt, &upload.file.path, &query, body)
            .await
        {
            Reply::Done(ack) if ack.complete => {
                tracked.upload = None;
                tracked.server = Some(ServerCopy {
                    size,
                    xxh3: Some(xxh3),
                });
                return Ok(FileResult::Sent);
            }
            Reply::Done(ack) if ack.received > offset && ack.received < size => {
                offset = ack.received;
                tracked.upload = Some(progress(offset));
            }
            Reply::Done(ack) => {
                tracked.upload = None;
                return Ok(FileResult::Later(format!(
                    "the server acknowledged {} of {size} bytes after a chunk at {offset}",
                    ack.received
                )));
            }
            Reply::OffsetMismatch { size: received }
                if received != offset && received <= size && mismatches < MAX_OFFSET_MISMATCHES =>
            {
                mismatches += 1;
                offset = received;
                tracked.upload = Some(progress(offset));
            }
            Reply::OffsetMismatch { size: received } => {
                tracked.upload = None;
                return Ok(FileResult::Later(format!(
                    "the server expects offset {received} of a {size}-byte upload, not {offset}"
                )));
            }
            Reply::Refused(Refusal::HashMismatch, message) if offset + len >= size => {
                // The whole file did not hash as named: the server dropped
                // the staging file, and the local file may have changed.
                tracked.upload = None;
                tracked.forget_hash();
                return Ok(FileResult::Later(message));
            }
            Reply::Refused(Refusal::HashMismatch, message) => {
                tracked.upload = Some(progress(offset));
                return Ok(FileResult::Later(message));
            }
            Reply::Refused(_, message) | Reply::Failed(Verdict::Rejected(message)) => {
                return Ok(FileResult::Refused(message));
            }
            Reply::Superseded(message) => return Err(Halt::Superseded(message)),
            Reply::Failed(verdict) => {
                tracked.upload = Some(progress(offset));
                return Err(Halt::Outage(verdict));
            }
        }
    }
}
