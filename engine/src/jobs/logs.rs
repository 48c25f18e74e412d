//! Job output as the server keeps it: one file per attempt under
//! `<data dir>/logs/<job>/attempt-<n>.log`, appended only at its current end.
//!
//! Appends follow the offset rule of `trainyard_core::sync::place`.

use std::collections::HashMap;
use std::io::SeekFrom;
use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::{broadcast, Mutex};
use trainyard_core::sync::{place, Placement};
use trainyard_core::work::AttemptRef;

use crate::append_only::{append_to, size_on_disk};
use crate::error::EngineError;

/// Largest log kept per attempt; appends past it are refused.
pub const MAX_LOG_BYTES: u64 = 1 << 30;

/// Sent after every append, so followers read the new bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogAppended {
    pub attempt: AttemptRef,
    pub size: u64,
}

pub(crate) struct LogStore {
    root: PathBuf,
    /// Known sizes; the file is the truth, this saves a stat per append.
    sizes: Mutex<HashMap<AttemptRef, u64>>,
    appended: broadcast::Sender<LogAppended>,
}

/// A piece of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSlice {
    pub offset: u64,
    pub data: Vec<u8>,
    /// The whole log's size when read.
    pub size: u64,
}

impl LogStore {
    pub fn new(root: PathBuf) -> LogStore {
        let (appended, _) = broadcast::channel(4096);
        LogStore {
            root,
            sizes: Mutex::new(HashMap::new()),
            appended,
        }
    }

    /// The directory of every attempt's output of job `job_id`.
    pub(crate) fn job_dir(&self, job_id: i64) -> PathBuf {
        self.root.join(job_id.to_string())
    }

    pub(crate) fn path(&self, at: AttemptRef) -> PathBuf {
        self.root
            .join(at.job_id.to_string())
            .join(format!("attempt-{}.log", at.attempt))
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LogAppended> {
        self.appended.subscribe()
    }

    /// Appends `data` at `offset`. Returns the log size afterwards.
    #[cfg(test)]
    pub async fn append(
        &self,
        at: AttemptRef,
        offset: u64,
        data: &[u8],
    ) -> Result<u64, EngineError> {
        self.append_then(at, offset, data, |_, _| {}).await
    }

    /// Appends `data` at `offset`, calling `written(offset, data)` (still
    /// under the lock, so in file order) only if the bytes were written now,
    /// not for a retry. Returns the log size afterwards.
    pub async fn append_then(
        &self,
        at: AttemptRef,
        offset: u64,
        data: &[u8],
        written: impl FnOnce(u64, &[u8]),
    ) -> Result<u64, EngineError> {
        let mut sizes = self.sizes.lock().await;
        let size = match sizes.get(&at) {
            Some(size) => *size,
            None => size_on_disk(&self.path(at)).await,
        };
        let len = data.len() as u64;
        match place(size, offset, len) {
            Placement::Append => {
                if size + len > MAX_LOG_BYTES {
                    return Err(EngineError::LogTooLarge {
                        limit: MAX_LOG_BYTES,
                    });
                }
                if !data.is_empty() {
                    let path = self.path(at);
                    if let Err(source) = append_to(&path, data).await {
                        // The size on disk is unknown now; re-read it next time.
                        sizes.remove(&at);
                        return Err(EngineError::Io { path, source });
                    }
                    written(offset, data);
                }
                let new_size = size + len;
                sizes.insert(at, new_size);
                let _ = self.appended.send(LogAppended {
                    attempt: at,
                    size: new_size,
                });
                Ok(new_size)
            }
            // The agent's chunks are immutable (append-only file), so equal
            // offsets mean equal bytes.
            Placement::AlreadyHeld => {
                sizes.insert(at, size);
                Ok(size)
            }
            Placement::Mismatch => {
                sizes.insert(at, size);
                Err(EngineError::LogOffsetMismatch { offset, size })
            }
        }
    }

    /// Up to `max` bytes from `offset`.
    pub async fn read(
        &self,
        at: AttemptRef,
        offset: u64,
        max: usize,
    ) -> Result<LogSlice, EngineError> {
        let path = self.path(at);
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(LogSlice {
                    offset,
                    data: Vec::new(),
                    size: 0,
                })
            }
            Err(source) => return Err(EngineError::Io { path, source }),
        };
        let io = |source| EngineError::Io {
            path: path.clone(),
            source,
        };
        let size = file.metadata().await.map_err(io)?.len();
        if offset >= size {
            return Ok(LogSlice {
                offset,
                data: Vec::new(),
                size,
            });
        }
        file.seek(SeekFrom::Start(offset)).await.map_err(io)?;
        let want = usize::try_from(size - offset)
            .unwrap_or(usize::MAX)
            .min(max);
        let mut data = vec![0; want];
        file.read_exact(&mut data).await.map_err(io)?;
        Ok(LogSlice { offset, data, size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> AttemptRef {
        AttemptRef {
            job_id: 1,
            attempt: 1,
        }
    }

    #[tokio::test]
    async fn appends_only_at_the_end_and_retries_are_harmless() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let logs = LogStore::new(dir.path().to_path_buf());
        assert_eq!(
            logs.append(at(), 0, b"hello ")
                .await
                .expect("the log store answers"),
            6
        );
        assert_eq!(
            logs.append(at(), 0, b"hello ")
                .await
                .expect("the log store answers"),
            6,
            "retry acknowledged"
        );
        match logs.append(at(), 10, b"gap").await {
            Err(EngineError::LogOffsetMismatch { size: 6, .. }) => {}
            other => panic!("expected a mismatch, got {other:?}"),
        }
        match logs.append(at(), 3, b"overlapping").await {
            Err(EngineError::LogOffsetMismatch { size: 6, .. }) => {}
            other => panic!("expected a mismatch, got {other:?}"),
        }
        assert_eq!(
            logs.append(at(), 6, b"world")
                .await
                .expect("the log store answers"),
            11
        );
        let all = logs
            .read(at(), 0, 1 << 20)
            .await
            .expect("the log store answers");
        assert_eq!(all.data, b"hello world");
        let tail = logs.read(at(), 6, 3).await.expect("the log store answers");
        assert_eq!((tail.data.as_slice(), tail.size), (&b"wor"[..], 11));
    }

    #[tokio::test]
    async fn sizes_survive_a_new_store_on_the_same_dir() {
        let dir = tempfile::tempdir().expect("a temp dir");
        LogStore::new(dir.path().to_path_buf())
            .append(at(), 0, b"abc")
            .await
            .expect("the log store answers");
        let reopened = LogStore::new(dir.path().to_path_buf());
        assert_eq!(
            reopened
                .append(at(), 3, b"d")
                .await
                .expect("the log store answers"),
            4
        );
    }
}
