//! Whole-file xxh3, streamed off the async runtime, cached by size and
//! modification time so a status request does not re-read unchanged
//! checkpoints.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use xxhash_rust::xxh3::Xxh3;

/// Reads `path` once and returns its xxh3-64.
pub(crate) fn hash_file_blocking(path: &Path) -> std::io::Result<u64> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hasher.digest());
        }
        hasher.update(&buffer[..n]);
    }
}

pub(crate) async fn hash_file(path: PathBuf) -> std::io::Result<u64> {
    tokio::task::spawn_blocking(move || hash_file_blocking(&path))
        .await
        .map_err(std::io::Error::other)?
}

/// Known hashes by path.
#[derive(Default)]
pub(crate) struct HashCache {
    known: Mutex<HashMap<PathBuf, (u64, SystemTime, u64)>>,
}

impl HashCache {
    /// The file's hash, from the cache when its size and mtime are unchanged.
    pub async fn hash(&self, path: &Path, len: u64, modified: SystemTime) -> std::io::Result<u64> {
        if let Some((known_len, known_time, hash)) = self.lock().get(path) {
            if *known_len == len && *known_time == modified {
                return Ok(*hash);
            }
        }
        let hash = hash_file(path.to_path_buf()).await?;
        self.lock()
            .insert(path.to_path_buf(), (len, modified, hash));
        Ok(hash)
    }

    /// Records a hash the caller just computed for the file as it is now.
    pub fn remember(&self, path: &Path, hash: u64) {
        if let Ok(meta) = std::fs::metadata(path) {
            if let Ok(modified) = meta.modified() {
                self.lock()
                    .insert(path.to_path_buf(), (meta.len(), modified, hash));
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, (u64, SystemTime, u64)>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
