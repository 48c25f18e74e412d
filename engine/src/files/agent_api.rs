//! What agents call to copy run files: status, appends, upload chunks.
//! Every call is refused for an attempt that is not current, and renews
//! the lease of one that is.

use trainyard_core::sync::{parse_hex64, AppendQuery, SyncStatus, UploadAck, UploadQuery};
use trainyard_core::work::AttemptRef;

use crate::engine::Engine;
use crate::error::EngineError;

impl Engine {
    /// Every file and unfinished upload the server has of the attempt.
    pub async fn sync_status(&self, at: AttemptRef) -> Result<SyncStatus, EngineError> {
        self.renew_current(at).await?;
        let files = self.run_files_store().list(at).await?;
        let uploads = self.run_files_store().uploads_in_progress(at).await;
        Ok(SyncStatus { files, uploads })
    }

    /// Appends a chunk to an append file; returns the file's size after.
    pub async fn append_run_file(
        &self,
        at: AttemptRef,
        path: &str,
        q: &AppendQuery,
        data: &[u8],
    ) -> Result<u64, EngineError> {
        let chunk_hash = parse_hex64(&q.xxh3).ok_or_else(|| {
            EngineError::BadOption(format!("xxh3 must be 1-16 hex digits, not {:?}", q.xxh3))
        })?;
        self.renew_current(at).await?;
        let appended = self
            .run_files_store()
            .append(at, path, q.offset, chunk_hash, data)
            .await?;
        if appended.written {
            self.run_file_grew(at, path).await;
        }
        Ok(appended.size)
    }

    /// Receives one chunk of a whole-file upload.
    pub async fn upload_run_file_chunk(
        &self,
        at: AttemptRef,
        path: &str,
        q: &UploadQuery,
        data: &[u8],
    ) -> Result<UploadAck, EngineError> {
        self.renew_current(at).await?;
        let result = self
            .run_files_store()
            .upload_chunk(at, path, q, data)
            .await?;
        if result.replaced {
            self.run_file_replaced(at, path).await;
        }
        Ok(result.ack)
    }
}
