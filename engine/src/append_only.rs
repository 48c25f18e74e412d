//! Offset-checked appends, the one rule behind job logs (`jobs/logs.rs`)
//! and append run files (`files/disk.rs`): bytes land only at the file's
//! current end; a retry of bytes already there is acknowledged without
//! writing; a gap or an overlap is refused with the current size, so the
//! sender resends from there. Duplicated or missing bytes are impossible by
//! construction.

use std::path::Path;

use tokio::io::AsyncWriteExt;

/// What to do with `len` bytes sent for `offset` of a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// They continue the file: write them.
    Append,
    /// The file already holds them (a retry): acknowledge, write nothing.
    AlreadyHeld,
    /// A gap or an overlap: refuse with the file's size.
    Mismatch,
}

pub(crate) fn place(size: u64, offset: u64, len: u64) -> Placement {
    if offset == size {
        Placement::Append
    } else if offset < size && offset + len <= size {
        Placement::AlreadyHeld
    } else {
        Placement::Mismatch
    }
}

/// The file's size, 0 when it does not exist yet.
pub(crate) async fn size_on_disk(path: &Path) -> u64 {
    tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .unwrap_or(0)
}

/// Appends `data` to `path`, creating it and its directory if needed.
pub(crate) async fn append_to(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(data).await?;
    file.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_end_is_written_and_retries_are_recognised() {
        assert_eq!(place(6, 6, 5), Placement::Append);
        assert_eq!(place(6, 0, 6), Placement::AlreadyHeld);
        assert_eq!(place(6, 2, 3), Placement::AlreadyHeld);
        assert_eq!(place(6, 3, 10), Placement::Mismatch);
        assert_eq!(place(6, 10, 1), Placement::Mismatch);
        assert_eq!(place(0, 0, 0), Placement::Append);
    }
}
