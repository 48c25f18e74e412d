//! Whole-file uploads: chunks staged under `<data dir>/uploads/<job>/<attempt>/`
//! (a `.part` file and a `.meta` naming the target), checked against the
//! announced xxh3 when complete, then renamed over the run file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use trainyard_core::sync::{hex64, place, Placement, UploadAck, UploadProgress, UploadQuery};
use trainyard_core::work::AttemptRef;

use super::disk::{check_chunk, query_hash, RunFileStore};
use super::hashing::hash_file;
use crate::append_only::append_to;
use crate::error::EngineError;

/// The `.meta` file next to a staged `.part`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Staged {
    path: String,
    size: u64,
    xxh3: String,
}

/// What a chunk did.
pub(crate) struct ChunkResult {
    pub ack: UploadAck,
    /// The upload completed with this request (the run file was replaced).
    pub replaced: bool,
}

impl RunFileStore {
    fn staging_dir(&self, at: AttemptRef) -> PathBuf {
        self.uploads
            .join(at.job_id.to_string())
            .join(at.attempt.to_string())
    }

    /// Staging names come from the path's hash: the path itself may be deep.
    fn staging(&self, at: AttemptRef, path: &str) -> (PathBuf, PathBuf) {
        let base = self
            .staging_dir(at)
            .join(hex64(xxhash_rust::xxh3::xxh3_64(path.as_bytes())));
        (base.with_extension("part"), base.with_extension("meta"))
    }

    /// Receives bytes `q.offset..` of the file `path` whose complete size and
    /// hash are `q.size` and `q.xxh3`.
    pub async fn upload_chunk(
        &self,
        at: AttemptRef,
        path: &str,
        q: &UploadQuery,
        data: &[u8],
    ) -> Result<ChunkResult, EngineError> {
        let target = self.file_path(at, path)?;
        let whole_hash = query_hash("xxh3", &q.xxh3)?;
        let chunk_hash = query_hash("chunk_xxh3", &q.chunk_xxh3)?;
        let limit = self.settings.max_file_bytes;
        if q.size > limit {
            return Err(EngineError::FileTooLarge {
                path: path.to_string(),
                size: q.size,
                limit,
            });
        }
        check_chunk(path, q.offset, data, chunk_hash)?;
        let mut sizes = self.lock().await;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EngineError::Io { path, source }
        };
        let wanted = Staged {
            path: path.to_string(),
            size: q.size,
            xxh3: hex64(whole_hash),
        };
        let (part, meta) = self.staging(at, path);
        let mut received = match read_meta(&meta).await {
            Some(staged) if staged == wanted => tokio::fs::metadata(&part)
                .await
                .map(|m| m.len())
                .unwrap_or(0),
            _ => {
                // Nothing staged for this version: the server may already have it.
                if self.holds(&target, q.size, whole_hash).await {
                    return Ok(ChunkResult {
                        ack: UploadAck {
                            received: q.size,
                            complete: true,
                        },
                        replaced: false,
                    });
                }
                if q.offset != 0 {
                    return Err(EngineError::FileOffsetMismatch {
                        path: path.to_string(),
                        offset: q.offset,
                        size: 0,
                    });
                }
                begin(&part, &meta, &wanted).await.map_err(io(&part))?;
                0
            }
        };
        let len = data.len() as u64;
        match place(received, q.offset, len) {
            Placement::Append => {}
            // A retried chunk we already have.
            Placement::AlreadyHeld => {
                return Ok(ChunkResult {
                    ack: UploadAck {
                        received,
                        complete: false,
                    },
                    replaced: false,
                })
            }
            Placement::Mismatch => {
                return Err(EngineError::FileOffsetMismatch {
                    path: path.to_string(),
                    offset: q.offset,
                    size: received,
                })
            }
        }
        if received + len > q.size {
            return Err(EngineError::FileOffsetMismatch {
                path: path.to_string(),
                offset: q.offset + len,
                size: q.size,
            });
        }
        if !data.is_empty() {
            append_to(&part, data).await.map_err(io(&part))?;
            received += len;
        }
        if received < q.size {
            return Ok(ChunkResult {
                ack: UploadAck {
                    received,
                    complete: false,
                },
                replaced: false,
            });
        }
        let got = hash_file(part.clone()).await.map_err(io(&part))?;
        if got != whole_hash {
            discard(&part, &meta).await;
            return Err(EngineError::HashMismatch {
                path: path.to_string(),
                message: format!(
                    "the complete upload hashes to {} but {} was announced; the upload was discarded, send it again from offset 0",
                    hex64(got),
                    hex64(whole_hash)
                ),
            });
        }
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io(dir))?;
        }
        tokio::fs::rename(&part, &target)
            .await
            .map_err(io(&target))?;
        let _ = tokio::fs::remove_file(&meta).await;
        self.hashes.remember(&target, whole_hash);
        RunFileStore::forget_size(&mut sizes, at, path);
        Ok(ChunkResult {
            ack: UploadAck {
                received,
                complete: true,
            },
            replaced: true,
        })
    }

    /// Unfinished uploads of the attempt.
    pub async fn uploads_in_progress(&self, at: AttemptRef) -> Vec<UploadProgress> {
        let _sizes = self.lock().await;
        let dir = self.staging_dir(at);
        let mut found = Vec::new();
        let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
            return found;
        };
        while let Ok(Some(entry)) = entries.next_entry().await {
            let meta = entry.path();
            if meta.extension().is_none_or(|e| e != "meta") {
                continue;
            }
            let Some(staged) = read_meta(&meta).await else {
                continue;
            };
            let received = tokio::fs::metadata(meta.with_extension("part"))
                .await
                .map(|m| m.len())
                .unwrap_or(0);
            found.push(UploadProgress {
                path: staged.path,
                size: staged.size,
                xxh3: staged.xxh3,
                received,
            });
        }
        found.sort_by(|a, b| a.path.cmp(&b.path));
        found
    }

    async fn holds(&self, target: &Path, size: u64, hash: u64) -> bool {
        let Ok(meta) = tokio::fs::metadata(target).await else {
            return false;
        };
        if meta.len() != size {
            return false;
        }
        let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        self.hashes
            .hash(target, size, modified)
            .await
            .is_ok_and(|h| h == hash)
    }
}

async fn read_meta(meta: &Path) -> Option<Staged> {
    let text = tokio::fs::read(meta).await.ok()?;
    serde_json::from_slice(&text).ok()
}

/// Starts a new staged upload, replacing any other version of the path.
async fn begin(part: &Path, meta: &Path, staged: &Staged) -> std::io::Result<()> {
    if let Some(dir) = part.parent() {
        tokio::fs::create_dir_all(dir).await?;
    }
    tokio::fs::write(part, b"").await?;
    let json = serde_json::to_vec(staged).map_err(std::io::Error::other)?;
    tokio::fs::write(meta, json).await
}

async fn discard(part: &Path, meta: &Path) {
    let _ = tokio::fs::remove_file(part).await;
    let _ = tokio::fs::remove_file(meta).await;
}
