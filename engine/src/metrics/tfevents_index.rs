//! Indexes TensorBoard event files into metric series as they grow, like
//! CSV files (`csv_index.rs`): each file has a cursor (byte offset of the
//! next record, counts, problems) committed in the same transaction as the
//! points it produced, so a crash re-reads at most what was not committed
//! and no point is recorded twice. A truncated tail waits for the next
//! read; a corrupt record becomes a run problem and the rest is read.
//!
//! A file that shrank or was replaced (tensorboardX reopening a name in
//! the same second, an agent re-sending it whole) is read again from its
//! start, skipping as many records as were already indexed.
//!
//! Keys are the tags verbatim for event files at the top of a job's run
//! dir or of an imported run's directory, and `<dir>/<tag>` for files in a
//! job's subdirectories (`tb/val/accuracy`), so two writers never mix.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use trainyard_core::validate_metric_key;
use trainyard_core::work::AttemptRef;

use super::tfevents::{read_records, Skips, TfBatch, TfCursor};
use super::{MetricPoint, Metrics};
use crate::error::EngineError;
use crate::store::{CursorSave, CursorTable};

/// Bytes read per step; a bigger backlog (or a bigger record) takes more.
const READ_STEP: u64 = 8 << 20;

/// Where an event file is and how its keys are named.
pub(crate) struct TfSource<'a> {
    pub at: AttemptRef,
    /// Names the cursor and problems (relative path, or the imported file).
    pub name: &'a str,
    pub file: PathBuf,
    /// Put before every tag (`""` for tags as they are).
    pub key_prefix: String,
}

/// What indexing an event file did (this call) and has counted (in all).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TfIndexed {
    /// Points recorded by this call.
    pub points: usize,
    /// Problems found by this call.
    pub problems: usize,
    /// Non-scalar summaries counted and skipped by this call (histograms,
    /// images, audio, text, other plugins).
    pub skipped: u64,
    /// Records and scalars read, and what was skipped, since the first read.
    pub records: u64,
    pub scalars: u64,
    pub skips: Skips,
}

/// `a/b/events.out.tfevents.1` → `a/b/`; a top-level file → no prefix.
pub(crate) fn tfevents_key_prefix(path: &str) -> String {
    match path.rsplit_once('/') {
        None => String::new(),
        Some((dir, _)) => format!("{dir}/"),
    }
}

impl Metrics {
    pub(super) async fn index_tfevents_logged(&self, source: &TfSource<'_>, rewritten: bool) {
        if let Err(e) = self.index_tfevents(source, rewritten).await {
            tracing::warn!(
                job = source.at.job_id,
                file = source.name,
                "cannot index TensorBoard events: {e}"
            );
        }
    }

    /// Reads what is new in an event file into metric series. With
    /// `rewritten` (or when the file is shorter than what was read), the
    /// file is read from its start and the records already indexed skipped.
    pub async fn index_tfevents(
        &self,
        source: &TfSource<'_>,
        rewritten: bool,
    ) -> Result<TfIndexed, EngineError> {
        let _indexing = self.csv_lock.lock().await;
        let at = source.at;
        let saved: Option<TfCursor> = self
            .store
            .file_cursor(CursorTable::TfEvents, at.job_id, at.attempt, source.name)
            .await?
            .and_then(|json| serde_json::from_str(&json).ok());
        let io = |e| EngineError::Io {
            path: source.file.clone(),
            source: e,
        };
        let len = file_len(&source.file).await.map_err(io)?;
        let mut cursor = match saved {
            Some(saved) if rewritten || len < saved.offset => TfCursor {
                skip_records: saved.records,
                ..TfCursor::default()
            },
            Some(saved) => saved,
            None => TfCursor::default(),
        };
        let mut done = TfIndexed::default();
        let skipped_before = cursor.skips.summaries();
        let mut want = READ_STEP;
        loop {
            let (bytes, file_len) = read_window(&source.file, cursor.offset, want)
                .await
                .map_err(io)?;
            let before = cursor.offset;
            let batch = read_records(&mut cursor, &bytes, file_len);
            let need = batch.need;
            if cursor.offset != before {
                let (points, problems) = self.commit_tfevents_batch(source, &cursor, batch).await?;
                done.points += points;
                done.problems += problems;
            }
            match need {
                // A record bigger than the window: read it whole next time.
                Some(need) if need > want || cursor.offset != before => want = need.max(READ_STEP),
                Some(_) => break,
                None if cursor.offset == before || (bytes.len() as u64) < want => break,
                None => want = READ_STEP,
            }
        }
        done.records = cursor.records;
        done.scalars = cursor.scalars;
        done.skips = cursor.skips;
        done.skipped = cursor.skips.summaries() - skipped_before;
        Ok(done)
    }

    async fn commit_tfevents_batch(
        &self,
        source: &TfSource<'_>,
        cursor: &TfCursor,
        batch: TfBatch,
    ) -> Result<(usize, usize), EngineError> {
        let at = source.at;
        let now = self.clock.now_ms();
        let keys: Vec<String> = batch
            .scalars
            .iter()
            .map(|s| format!("{}{}", source.key_prefix, s.tag))
            .collect();
        let mut problems: Vec<(Option<u64>, String)> = batch
            .problems
            .into_iter()
            .map(|p| (None, p.message))
            .collect();
        let mut bad_keys: Vec<&str> = Vec::new();
        let mut points = Vec::with_capacity(keys.len());
        for (scalar, key) in batch.scalars.iter().zip(&keys) {
            if validate_metric_key(key).is_err() {
                if !bad_keys.contains(&key.as_str()) {
                    bad_keys.push(key);
                }
                continue;
            }
            let time_ms = if scalar.wall_time > 0.0 {
                (scalar.wall_time * 1000.0).round() as i64
            } else {
                now
            };
            points.push(MetricPoint {
                key,
                step: scalar.step as f64,
                value: scalar.value,
                time_ms,
            });
        }
        for key in bad_keys {
            let shown: String = key.chars().take(80).collect();
            problems.push((
                None,
                format!("tag {shown:?} is not a valid metric key; its scalars were skipped"),
            ));
        }
        if !problems.is_empty() {
            for (_, message) in problems.iter().take(3) {
                tracing::info!(
                    job = at.job_id,
                    file = source.name,
                    "TensorBoard events: {message}"
                );
            }
            self.store
                .add_run_problems(at.job_id, source.name, &problems, now)
                .await?;
        }
        let save = CursorSave {
            table: CursorTable::TfEvents,
            job_id: at.job_id,
            attempt: at.attempt,
            path: source.name.to_string(),
            cursor_json: serde_json::to_string(cursor).map_err(|e| EngineError::Io {
                path: source.file.clone(),
                source: std::io::Error::other(e),
            })?,
        };
        let mut catalog = self.catalog.lock().await;
        let job = self.job_series(&mut catalog, at.job_id).await?;
        let recorded = self
            .append_points(at.job_id, job, &points, Some(&save))
            .await?;
        Ok((recorded, problems.len()))
    }
}

async fn file_len(file: &Path) -> std::io::Result<u64> {
    match tokio::fs::metadata(file).await {
        Ok(meta) => Ok(meta.len()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Up to `max` bytes of `file` from `offset` and the file's length (nothing
/// if the file is shorter or missing).
async fn read_window(file: &Path, offset: u64, max: u64) -> std::io::Result<(Vec<u8>, u64)> {
    let mut handle = match tokio::fs::File::open(file).await {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let len = handle.metadata().await?.len();
    if offset >= len {
        return Ok((Vec::new(), len));
    }
    handle.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut bytes = Vec::with_capacity(usize::try_from(max.min(len - offset)).unwrap_or(0));
    handle.take(max).read_to_end(&mut bytes).await?;
    Ok((bytes, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_prefixes_follow_the_directory() {
        assert_eq!(tfevents_key_prefix("events.out.tfevents.1.h"), "");
        assert_eq!(
            tfevents_key_prefix("tb/loss/train/events.out.tfevents.1.h"),
            "tb/loss/train/"
        );
    }
}
