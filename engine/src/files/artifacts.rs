//! Whole files written by the server itself on a client's behalf (MLflow
//! artifacts): streamed to a staging file, then renamed into place, so a
//! reader sees the old version or the complete new one, never half.

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWriteExt};
use trainyard_core::sync::{hex64, validate_run_path};
use trainyard_core::work::AttemptRef;

use super::disk::RunFileStore;
use crate::error::EngineError;

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub is_dir: bool,
    /// Files only.
    pub size: Option<u64>,
}

impl RunFileStore {
    /// Writes `body` as run file `path` of attempt `at`, replacing any
    /// previous version once complete. Returns the size written. Refuses a
    /// body over the file limit, leaving the old version in place.
    pub async fn write_whole(
        &self,
        at: AttemptRef,
        path: &str,
        mut body: impl AsyncRead + Unpin + Send,
    ) -> Result<u64, EngineError> {
        let target = self.file_path(at, path)?;
        let staging_dir = self.uploads.join("server");
        let io = |path: &PathBuf| {
            let path = path.clone();
            move |source| EngineError::Io { path, source }
        };
        tokio::fs::create_dir_all(&staging_dir)
            .await
            .map_err(io(&staging_dir))?;
        let unique = format!(
            "{}-{}-{}.part",
            at.job_id,
            hex64(xxhash_rust::xxh3::xxh3_64(path.as_bytes())),
            self.next_stage_number()
        );
        let staged = staging_dir.join(unique);
        let result = async {
            let mut out = tokio::fs::File::create(&staged)
                .await
                .map_err(io(&staged))?;
            let limit = self.settings.max_file_bytes;
            let mut buf = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            loop {
                let n = tokio::io::AsyncReadExt::read(&mut body, &mut buf)
                    .await
                    .map_err(|e| {
                        EngineError::BadOption(format!("{path}: reading the body: {e}"))
                    })?;
                if n == 0 {
                    break;
                }
                size += n as u64;
                if size > limit {
                    return Err(EngineError::FileTooLarge {
                        path: path.to_string(),
                        size,
                        limit,
                    });
                }
                out.write_all(&buf[..n]).await.map_err(io(&staged))?;
            }
            out.flush().await.map_err(io(&staged))?;
            out.sync_data().await.map_err(io(&staged))?;
            if let Some(parent) = target.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(io(&parent.to_path_buf()))?;
            }
            // A directory already at the target's place is not replaced.
            if tokio::fs::metadata(&target).await.is_ok_and(|m| m.is_dir()) {
                return Err(EngineError::BadRunPath {
                    path: path.to_string(),
                    message: "a directory of that name exists".into(),
                });
            }
            tokio::fs::rename(&staged, &target)
                .await
                .map_err(io(&target))?;
            Ok(size)
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&staged).await;
        } else {
            let mut sizes = self.lock().await;
            RunFileStore::forget_size(&mut sizes, at, path);
        }
        result
    }

    /// The entries of directory `dir` (`""`: the attempt's root) of attempt
    /// `at`, sorted by name; `None` if it is not a directory.
    pub async fn list_dir(
        &self,
        at: AttemptRef,
        dir: &str,
    ) -> Result<Option<Vec<DirEntry>>, EngineError> {
        let full = if dir.is_empty() {
            self.attempt_dir(at)
        } else {
            validate_run_path(dir).map_err(|e| EngineError::BadRunPath {
                path: dir.chars().take(200).collect(),
                message: e.to_string(),
            })?;
            self.file_path(at, dir)?
        };
        let listed =
            tokio::task::spawn_blocking(move || -> std::io::Result<Option<Vec<DirEntry>>> {
                let entries = match std::fs::read_dir(&full) {
                    Ok(entries) => entries,
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                        ) =>
                    {
                        return Ok(None)
                    }
                    Err(e) => return Err(e),
                };
                let mut out = Vec::new();
                for entry in entries {
                    let entry = entry?;
                    let kind = entry.file_type()?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if kind.is_dir() {
                        out.push(DirEntry {
                            name,
                            is_dir: true,
                            size: None,
                        });
                    } else if kind.is_file() {
                        let size = entry.metadata()?.len();
                        out.push(DirEntry {
                            name,
                            is_dir: false,
                            size: Some(size),
                        });
                    }
                }
                out.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(Some(out))
            })
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r)
            .map_err(|source| EngineError::Io {
                path: self.attempt_dir(at),
                source,
            })?;
        Ok(listed)
    }
}
