//! A version being built: a staging directory that files are streamed into,
//! each hashed (xxh3) as it is written and fsynced. Dropped before its
//! commit, it removes itself.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use trainyard_core::models::{ModelFile, PAYLOAD_DIR};
use trainyard_core::sync::{hex64, validate_run_path};
use xxhash_rust::xxh3::Xxh3;

use super::Models;
use crate::error::EngineError;

const BUFFER: usize = 1 << 20;

static NEXT_DRAFT: AtomicU64 = AtomicU64::new(0);

/// Files of a version not yet committed.
pub struct ModelDraft {
    pub(super) dir: PathBuf,
    pub(super) id: String,
    pub(super) files: BTreeMap<String, ModelFile>,
    max_file_bytes: u64,
    pub(super) committed: bool,
}

impl Drop for ModelDraft {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EngineError {
    let path = path.to_path_buf();
    move |source| EngineError::Io { path, source }
}

impl Models {
    /// A new, empty draft in the staging directory.
    pub async fn draft(&self) -> Result<ModelDraft, EngineError> {
        let id = format!(
            "{:x}-{}-{}",
            self.clock.now_ms(),
            std::process::id(),
            NEXT_DRAFT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = self.staging().join(&id);
        tokio::fs::create_dir_all(dir.join(PAYLOAD_DIR))
            .await
            .map_err(io(&dir))?;
        Ok(ModelDraft {
            dir,
            id,
            files: BTreeMap::new(),
            max_file_bytes: self.max_file_bytes,
            committed: false,
        })
    }
}

impl ModelDraft {
    /// The files added so far, by path.
    pub fn files(&self) -> impl Iterator<Item = &ModelFile> {
        self.files.values()
    }

    /// Checks a payload path (`field` names it in errors) and that it is
    /// new; returns where it goes, its parents created.
    async fn target(&self, field: &str, path: &str) -> Result<PathBuf, EngineError> {
        let parts = validate_run_path(path).map_err(|e| EngineError::ModelInvalid {
            field: field.to_string(),
            message: format!("{:?}: {e}", path.chars().take(200).collect::<String>()),
        })?;
        if self.files.contains_key(path) {
            return Err(EngineError::ModelInvalid {
                field: field.to_string(),
                message: format!("{path:?} is given twice"),
            });
        }
        let mut target = self.dir.join(PAYLOAD_DIR);
        for part in parts {
            target.push(part);
        }
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io(parent))?;
        }
        Ok(target)
    }

    /// Streams `reader` into payload file `path`, hashing as it writes.
    pub async fn add_reader(
        &mut self,
        field: &str,
        path: &str,
        mut reader: impl AsyncRead + Unpin + Send,
    ) -> Result<&ModelFile, EngineError> {
        let target = self.target(field, path).await?;
        let mut out = tokio::fs::File::create(&target)
            .await
            .map_err(io(&target))?;
        let mut hasher = Xxh3::new();
        let mut buffer = vec![0u8; BUFFER];
        let mut bytes: u64 = 0;
        loop {
            let n = reader
                .read(&mut buffer)
                .await
                .map_err(|e| EngineError::ModelInvalid {
                    field: field.to_string(),
                    message: format!("{path:?}: the upload broke off: {e}"),
                })?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
            if bytes > self.max_file_bytes {
                return Err(EngineError::FileTooLarge {
                    path: path.to_string(),
                    size: bytes,
                    limit: self.max_file_bytes,
                });
            }
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n]).await.map_err(io(&target))?;
        }
        out.sync_all().await.map_err(io(&target))?;
        Ok(self.record(path, bytes, hasher.digest()))
    }

    /// Copies `source` into payload file `path`, hashing while copying,
    /// off the async runtime.
    pub(crate) async fn add_copy(
        &mut self,
        field: &str,
        path: &str,
        source: &Path,
    ) -> Result<&ModelFile, EngineError> {
        let target = self.target(field, path).await?;
        let from = source.to_path_buf();
        let limit = self.max_file_bytes;
        let shown = path.to_string();
        let copied = tokio::task::spawn_blocking(move || copy_hashing(&from, &target, limit))
            .await
            .map_err(|e| EngineError::Io {
                path: source.to_path_buf(),
                source: std::io::Error::other(e),
            })?;
        let (bytes, hash) = match copied {
            Ok(done) => done,
            Err(CopyError::TooLarge(size)) => {
                return Err(EngineError::FileTooLarge {
                    path: shown,
                    size,
                    limit,
                })
            }
            Err(CopyError::Io(p, e)) => return Err(io(&p)(e)),
        };
        Ok(self.record(path, bytes, hash))
    }

    /// Links (or, across file systems, copies) an immutable file of another
    /// version whose size and hash are known.
    pub(crate) async fn add_link(
        &mut self,
        path: &str,
        source: &Path,
        file: &ModelFile,
    ) -> Result<(), EngineError> {
        let target = self.target("files", path).await?;
        if tokio::fs::hard_link(source, &target).await.is_err() {
            self.add_copy("files", path, source).await?;
            return Ok(());
        }
        self.files.insert(
            path.to_string(),
            ModelFile {
                path: path.to_string(),
                bytes: file.bytes,
                xxh3: file.xxh3.clone(),
            },
        );
        Ok(())
    }

    /// Writes a small file (the resolved config) into the payload.
    pub(crate) async fn add_bytes(&mut self, path: &str, data: &[u8]) -> Result<(), EngineError> {
        self.add_reader("files", path, data).await?;
        Ok(())
    }

    fn record(&mut self, path: &str, bytes: u64, hash: u64) -> &ModelFile {
        let file = ModelFile {
            path: path.to_string(),
            bytes,
            xxh3: hex64(hash),
        };
        self.files.entry(path.to_string()).or_insert(file)
    }
}

enum CopyError {
    TooLarge(u64),
    Io(PathBuf, std::io::Error),
}

fn copy_hashing(from: &Path, to: &Path, limit: u64) -> Result<(u64, u64), CopyError> {
    let err = |p: &Path| {
        let p = p.to_path_buf();
        move |e| CopyError::Io(p, e)
    };
    let mut input = std::fs::File::open(from).map_err(err(from))?;
    let mut output = std::fs::File::create(to).map_err(err(to))?;
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; BUFFER];
    let mut bytes: u64 = 0;
    loop {
        let n = input.read(&mut buffer).map_err(err(from))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        if bytes > limit {
            return Err(CopyError::TooLarge(bytes));
        }
        hasher.update(&buffer[..n]);
        output.write_all(&buffer[..n]).map_err(err(to))?;
    }
    output.sync_all().map_err(err(to))?;
    Ok((bytes, hasher.digest()))
}
