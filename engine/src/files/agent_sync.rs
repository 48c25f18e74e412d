//! What agents call to copy run files: status, appends, upload chunks.
//! Every call is refused for an attempt that is not current and renews the
//! lease of one that is (through the scheduler); CSV files that change are
//! handed to the metric store to index.

use trainyard_core::sync::{AppendQuery, SyncStatus, UploadAck, UploadQuery};
use trainyard_core::work::AttemptRef;

use super::disk::query_hash;
use super::RunFileStore;
use crate::error::EngineError;
use crate::jobs::Scheduler;
use crate::metrics::Metrics;

impl RunFileStore {
    /// Every file and unfinished upload the server has of the attempt.
    pub async fn sync_status(
        &self,
        at: AttemptRef,
        scheduler: &Scheduler,
    ) -> Result<SyncStatus, EngineError> {
        scheduler.renew_current(at).await?;
        let files = self.list(at).await?;
        let uploads = self.uploads_in_progress(at).await;
        Ok(SyncStatus { files, uploads })
    }

    /// Appends a chunk to an append file; returns the file's size after.
    pub async fn append_from_agent(
        &self,
        at: AttemptRef,
        path: &str,
        q: &AppendQuery,
        data: &[u8],
        scheduler: &Scheduler,
        metrics: &Metrics,
    ) -> Result<u64, EngineError> {
        let chunk_hash = query_hash("xxh3", &q.xxh3)?;
        scheduler.renew_current(at).await?;
        let appended = self.append(at, path, q.offset, chunk_hash, data).await?;
        if appended.written {
            let file = self.file_path(at, path)?;
            metrics.run_file_changed(at, path, file, false).await;
        }
        Ok(appended.size)
    }

    /// Receives one chunk of a whole-file upload.
    pub async fn upload_from_agent(
        &self,
        at: AttemptRef,
        path: &str,
        q: &UploadQuery,
        data: &[u8],
        scheduler: &Scheduler,
        metrics: &Metrics,
    ) -> Result<UploadAck, EngineError> {
        scheduler.renew_current(at).await?;
        let result = self.upload_chunk(at, path, q, data).await?;
        if result.replaced {
            let file = self.file_path(at, path)?;
            metrics.run_file_changed(at, path, file, true).await;
        }
        Ok(result.ack)
    }
}
