//! File IO behind offset-checked appends. The rule itself (append at the
//! end, acknowledge a retry, refuse a gap or an overlap) is
//! `trainyard_core::sync::place`, shared with the agent's tests; job logs
//! (`jobs/logs.rs`), append run files (`files/disk.rs`) and upload staging
//! (`files/uploads.rs`) all apply it through these helpers.

use std::path::Path;

use tokio::io::AsyncWriteExt;

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
