//! Whole files (YAML, checkpoints, images…): sent once they are stable,
//! and only when their hash differs from the server's copy.

use super::pass::{FileResult, Halt, Pass};
use super::scan::LocalFile;
use super::tracked::Tracked;
use super::upload::{self, Upload};

/// Brings the server's copy of a whole file in step with `file`.
pub(super) async fn sync_whole(
    pass: &Pass<'_>,
    file: &LocalFile,
    tracked: &mut Tracked,
) -> Result<FileResult, Halt> {
    if !pass.last {
        if tracked.synced == Some(file.stamp) {
            return Ok(FileResult::Idle);
        }
        // A checkpoint being written is sent once, after the last write.
        if !tracked.stable(file.stamp) {
            return Ok(FileResult::Idle);
        }
    }
    let hashed = match tracked.hash(file).await {
        Ok(Some(hashed)) => hashed,
        Ok(None) => return Ok(pass.not_now("it changed while it was being hashed")),
        Err(e) => return Ok(FileResult::Unreadable(e)),
    };
    let size = file.stamp.size;
    if tracked
        .server
        .is_some_and(|copy| copy.size == size && copy.xxh3 == Some(hashed.full))
    {
        tracked.synced = Some(file.stamp);
        return Ok(FileResult::Idle);
    }
    let upload = Upload {
        file,
        size,
        xxh3: hashed.full,
        guard: Some(file.stamp),
    };
    let result = upload::send(pass, &upload, tracked).await?;
    if matches!(result, FileResult::Sent) {
        tracked.synced = Some(file.stamp);
    }
    Ok(result)
}
