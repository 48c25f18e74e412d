//! The run-file store on disk: paths, offset-checked appends (the rule of
//! `crate::append_only`, plus a hash check and a size limit), listings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tokio::sync::{Mutex, MutexGuard};
use trainyard_core::sync::{
    hex64, parse_hex64, place, validate_run_path, FileEntry, Placement, SyncKind,
};
use trainyard_core::work::AttemptRef;

use super::hashing::HashCache;
use super::FileSettings;
use crate::append_only::{append_to, size_on_disk};
use crate::clock::unix_ms;
use crate::error::EngineError;

/// Known sizes of append files; the lock also orders every write.
pub(crate) type Sizes = HashMap<(AttemptRef, String), u64>;

/// The files domain: the run-file store on disk.
pub(crate) struct RunFileStore {
    runs: PathBuf,
    pub(super) uploads: PathBuf,
    pub(crate) settings: FileSettings,
    state: Mutex<Sizes>,
    pub(crate) hashes: HashCache,
    /// Numbers staging files of server-side writes apart.
    stage_numbers: std::sync::atomic::AtomicU64,
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Appended {
    /// The file's size afterwards.
    pub size: u64,
    /// The bytes were written now (false: a retry of bytes already there).
    pub written: bool,
}

impl RunFileStore {
    pub fn new(runs: PathBuf, uploads: PathBuf, settings: FileSettings) -> RunFileStore {
        RunFileStore {
            runs,
            uploads,
            settings,
            state: Mutex::new(HashMap::new()),
            hashes: HashCache::default(),
            stage_numbers: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub(super) fn next_stage_number(&self) -> u64 {
        self.stage_numbers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) async fn lock(&self) -> MutexGuard<'_, Sizes> {
        self.state.lock().await
    }

    /// Every directory holding job `job_id`'s files: its run files and
    /// staged uploads, for a purge.
    pub fn job_dirs(&self, job_id: i64) -> Vec<PathBuf> {
        vec![
            self.runs.join(job_id.to_string()),
            self.uploads.join(job_id.to_string()),
        ]
    }

    pub fn attempt_dir(&self, at: AttemptRef) -> PathBuf {
        self.runs
            .join(at.job_id.to_string())
            .join(at.attempt.to_string())
    }

    /// The file's place on disk, after checking the path from the network.
    pub fn file_path(&self, at: AttemptRef, path: &str) -> Result<PathBuf, EngineError> {
        let components = checked(path)?;
        let mut full = self.attempt_dir(at);
        full.extend(components);
        Ok(full)
    }

    /// Appends `data` at `offset` of `path` if `chunk_hash` matches; see
    /// docs/agent-protocol.md for the rules.
    pub async fn append(
        &self,
        at: AttemptRef,
        path: &str,
        offset: u64,
        chunk_hash: u64,
        data: &[u8],
    ) -> Result<Appended, EngineError> {
        let full = self.file_path(at, path)?;
        check_chunk(path, offset, data, chunk_hash)?;
        let mut sizes = self.lock().await;
        let key = (at, path.to_string());
        let size = match sizes.get(&key) {
            Some(size) => *size,
            None => size_on_disk(&full).await,
        };
        let len = data.len() as u64;
        match place(size, offset, len) {
            Placement::Append => {
                let limit = self.settings.max_file_bytes;
                if size + len > limit {
                    return Err(EngineError::FileTooLarge {
                        path: path.to_string(),
                        size: size + len,
                        limit,
                    });
                }
                if !data.is_empty() {
                    if let Err(source) = append_to(&full, data).await {
                        sizes.remove(&key);
                        return Err(EngineError::Io { path: full, source });
                    }
                }
                sizes.insert(key, size + len);
                Ok(Appended {
                    size: size + len,
                    written: !data.is_empty(),
                })
            }
            Placement::AlreadyHeld => {
                sizes.insert(key, size);
                Ok(Appended {
                    size,
                    written: false,
                })
            }
            Placement::Mismatch => {
                sizes.insert(key, size);
                Err(EngineError::FileOffsetMismatch {
                    path: path.to_string(),
                    offset,
                    size,
                })
            }
        }
    }

    /// Forgets the cached size of a file replaced by an upload.
    pub(super) fn forget_size(sizes: &mut Sizes, at: AttemptRef, path: &str) {
        sizes.remove(&(at, path.to_string()));
    }

    /// Every file of the attempt, sorted by path, with its size and hash.
    pub async fn list(&self, at: AttemptRef) -> Result<Vec<FileEntry>, EngineError> {
        let root = self.attempt_dir(at);
        let found = walk(root.clone()).await.map_err(|source| EngineError::Io {
            path: root.clone(),
            source,
        })?;
        let mut entries = Vec::with_capacity(found.len());
        for (relative, full, meta) in found {
            let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            entries.push(self.entry(relative, &full, meta.len(), modified).await?);
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }
}

impl RunFileStore {
    /// A listing entry for the file at `full`, shown as `path`; its hash
    /// comes from the cache while size and mtime are unchanged.
    pub(crate) async fn entry(
        &self,
        path: String,
        full: &Path,
        size: u64,
        modified: std::time::SystemTime,
    ) -> Result<FileEntry, EngineError> {
        let hash = self
            .hashes
            .hash(full, size, modified)
            .await
            .map_err(|source| EngineError::Io {
                path: full.to_path_buf(),
                source,
            })?;
        Ok(FileEntry {
            kind: SyncKind::of(&path),
            path,
            size,
            xxh3: hex64(hash),
            modified_ms: unix_ms(modified),
        })
    }
}

/// Refuses a chunk whose bytes do not hash to what the request named.
pub(super) fn check_chunk(
    path: &str,
    offset: u64,
    data: &[u8],
    expected: u64,
) -> Result<(), EngineError> {
    let actual = xxhash_rust::xxh3::xxh3_64(data);
    if actual == expected {
        return Ok(());
    }
    Err(EngineError::HashMismatch {
        path: path.to_string(),
        message: format!(
            "the {} bytes at offset {offset} hash to {} but the request named {}; resend them",
            data.len(),
            hex64(actual),
            hex64(expected)
        ),
    })
}

/// A hash from a request's query (`xxh3`, `chunk_xxh3`), or a refusal
/// naming the field.
pub(super) fn query_hash(field: &str, text: &str) -> Result<u64, EngineError> {
    parse_hex64(text).ok_or_else(|| {
        EngineError::BadOption(format!("{field} must be 1-16 hex digits, not {text:?}"))
    })
}

/// The path's components, or a 400-style error naming what is wrong.
pub(crate) fn checked(path: &str) -> Result<Vec<&str>, EngineError> {
    validate_run_path(path).map_err(|e| EngineError::BadRunPath {
        path: path.chars().take(200).collect(),
        message: e.to_string(),
    })
}

/// Regular files under `root` as (`a/b.csv`, full path, metadata); a
/// missing root is empty. Symlinks are not followed.
pub(crate) async fn walk(
    root: PathBuf,
) -> std::io::Result<Vec<(String, PathBuf, std::fs::Metadata)>> {
    tokio::task::spawn_blocking(move || {
        let mut found = Vec::new();
        let mut pending = vec![(root.clone(), String::new())];
        while let Some((dir, prefix)) = pending.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let relative = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    pending.push((entry.path(), relative));
                } else if kind.is_file() {
                    found.push((relative, entry.path(), entry.metadata()?));
                }
            }
        }
        Ok(found)
    })
    .await
    .map_err(std::io::Error::other)?
}
