//! A later attempt's head start (a retry, a preempted job's return, a
//! *Resume*): before its process starts, the synced run files of the
//! newest earlier attempt are downloaded from the server, byte-exact
//! (each checked against its xxh3), into `<run dir>.resume/`, which
//! `TRAINYARD_RESUME_DIR` names. They come from the server, not from a
//! local run dir, so an attempt resumes on any host. The directory sits
//! beside the run dir, not in it, so the files are not synced again as the
//! new attempt's own.

use std::path::{Path, PathBuf};
use std::time::Duration;

use trainyard_core::protocol::paths::{self, AttemptAction};
use trainyard_core::sync::{validate_run_path, FileEntry};
use trainyard_core::work::{AttemptRef, ResumeFiles};

use super::api::{parse_json, save_download, Reply, WorkClient};
use super::attempt::append_line;
use super::files::with_file_path;
use super::JobContext;

/// Most bytes read of the listing.
const MAX_LISTING_BYTES: usize = 16 * 1024 * 1024;
/// One file's download; checkpoints can be large.
const FILE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Tries of the whole download before the job starts without it.
const TRIES: u32 = 3;

impl WorkClient {
    /// `GET …/resume`: what this attempt resumes from.
    async fn resume_files(&self, attempt: AttemptRef) -> Reply<ResumeFiles> {
        let builder = match self.url(&paths::attempt(attempt, AttemptAction::Resume)) {
            Ok(url) => self.http().get(url).timeout(Duration::from_secs(60)),
            Err(reply) => return reply,
        };
        self.send(builder, MAX_LISTING_BYTES, parse_json).await
    }
}

/// The resume dir of the attempt whose run dir is `run_dir`.
pub(crate) fn resume_dir(run_dir: &Path) -> PathBuf {
    let mut name = run_dir.file_name().unwrap_or_default().to_os_string();
    name.push(".resume");
    run_dir.with_file_name(name)
}

/// Downloads what attempt `at` resumes from; `Some(dir)` when there was
/// something. A failure is written to the job's `log` and the job starts
/// without it (from scratch), rather than not at all.
pub(crate) async fn fetch(
    ctx: &JobContext,
    at: AttemptRef,
    run_dir: &Path,
    log: &Path,
) -> Option<PathBuf> {
    let dir = resume_dir(run_dir);
    let mut last_error = String::new();
    for attempt in 1..=TRIES {
        match fetch_once(ctx, at, &dir).await {
            Ok(None) => return None,
            Ok(Some((from, files, bytes))) => {
                append_line(
                    log,
                    &format!(
                        "resuming from attempt {from}: {files} file(s), {bytes} bytes in {}",
                        dir.display()
                    ),
                )
                .await;
                return Some(dir);
            }
            Err(e) => {
                tracing::warn!(?at, attempt, "cannot fetch the files to resume from: {e}");
                last_error = e;
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
        }
    }
    append_line(
        log,
        &format!(
            "cannot fetch the previous attempt's files ({last_error}); \
             starting without TRAINYARD_RESUME_DIR"
        ),
    )
    .await;
    None
}

/// One try: (source attempt, files, bytes), or `None` when there is
/// nothing to resume from.
async fn fetch_once(
    ctx: &JobContext,
    at: AttemptRef,
    dir: &Path,
) -> Result<Option<(u32, usize, u64)>, String> {
    let listing = match ctx.api.resume_files(at).await {
        Reply::Done(listing) => listing,
        other => return Err(format!("{other:?}")),
    };
    let Some(from) = listing.from_attempt.filter(|_| !listing.files.is_empty()) else {
        return Ok(None);
    };
    // A leftover of an interrupted start is replaced as a whole.
    match tokio::fs::remove_dir_all(dir).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot clear {}: {e}", dir.display())),
    }
    let mut bytes = 0;
    for entry in &listing.files {
        bytes += download(ctx, at, dir, entry).await?;
    }
    Ok(Some((from, listing.files.len(), bytes)))
}

/// Downloads one file to `<dir>/<path>`, checked against its hash.
async fn download(
    ctx: &JobContext,
    at: AttemptRef,
    dir: &Path,
    entry: &FileEntry,
) -> Result<u64, String> {
    let parts = validate_run_path(&entry.path)
        .map_err(|e| format!("the server listed a bad path {:?}: {e}", entry.path))?;
    let mut target = dir.to_path_buf();
    target.extend(parts);
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let api_path = paths::attempt(at, AttemptAction::Resume);
    let base = ctx
        .api
        .url::<()>(&format!("{api_path}/"))
        .map_err(|_| format!("cannot build the URL for {api_path}"))?;
    let url = with_file_path(base, &entry.path)?;
    let response = ctx.api.download_url(url, &entry.path, FILE_TIMEOUT).await?;
    let part = target.with_file_name(format!(
        "{}.part",
        target.file_name().unwrap_or_default().to_string_lossy()
    ));
    let (written, hash) =
        save_download(response, &part, &format!("the download of {}", entry.path)).await?;
    if hash != entry.xxh3 || written != entry.size {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(format!(
            "{} arrived as {written} bytes hashing to {hash}, not {} bytes hashing to {}",
            entry.path, entry.size, entry.xxh3
        ));
    }
    tokio::fs::rename(&part, &target)
        .await
        .map_err(|e| format!("writing {}: {e}", part.display()))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resume_dir_sits_beside_the_run_dir() {
        assert_eq!(
            resume_dir(Path::new("/w/runs/12-3")),
            PathBuf::from("/w/runs/12-3.resume")
        );
    }
}
