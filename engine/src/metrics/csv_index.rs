//! Indexes CSV run files into metric series as they grow.
//!
//! Each file has a cursor (bytes, lines and rows read, and its header),
//! committed in the same transaction as the points it produced: a crash
//! re-reads at most what was not committed, so no row is indexed twice. A
//! file replaced by an upload (rewritten with a wider header) is read again
//! from its start, skipping the rows already indexed.
//!
//! Keys are the column names for CSV files at the top of the run dir, and
//! `<dir>/<file stem>/<column>` for nested ones.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use trainyard_core::work::AttemptRef;

use super::csv_rows::{read_rows, CsvBatch, CsvCursor};
use super::{MetricPoint, Metrics};
use crate::error::EngineError;
use crate::store::{CursorSave, CursorTable};

/// Bytes read per indexing step; a bigger backlog takes several steps.
const READ_STEP: u64 = 8 << 20;

/// Where a CSV file is and how its keys are named.
pub(crate) struct CsvSource<'a> {
    pub at: AttemptRef,
    /// Names the cursor and problems (relative path or import name).
    pub name: &'a str,
    pub file: PathBuf,
    pub key_prefix: String,
}

pub(crate) fn is_csv(path: &str) -> bool {
    path.rsplit('.')
        .next()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("csv"))
        && path.contains('.')
}

/// `a/b/c.csv` → `a/b/c/`; a top-level file → no prefix.
fn key_prefix(path: &str) -> String {
    match path.rsplit_once('/') {
        None => String::new(),
        Some(_) => format!("{}/", &path[..path.len() - 4]),
    }
}

impl Metrics {
    /// Run file `path` of attempt `at`, on disk at `file`, grew by an
    /// append (`rewritten: false`: index new CSV rows or event records) or was
    /// replaced whole (`true`: read it again, new rows only). Other files are
    /// ignored.
    pub async fn run_file_changed(
        &self,
        at: AttemptRef,
        path: &str,
        file: PathBuf,
        rewritten: bool,
    ) {
        if super::tfevents::is_event_file(path) {
            let source = super::TfSource {
                at,
                name: path,
                file,
                key_prefix: super::tfevents_index::tfevents_key_prefix(path),
            };
            self.index_tfevents_logged(&source, rewritten).await;
            return;
        }
        if !is_csv(path) {
            return;
        }
        let source = CsvSource {
            at,
            name: path,
            file,
            key_prefix: key_prefix(path),
        };
        self.index_csv_logged(&source, rewritten).await;
    }

    async fn index_csv_logged(&self, source: &CsvSource<'_>, rewritten: bool) {
        if let Err(e) = self.index_csv(source, rewritten).await {
            tracing::warn!(
                job = source.at.job_id,
                file = source.name,
                "cannot index CSV metrics: {e}"
            );
        }
    }

    /// Reads what is new in a CSV file into metric series. With `rewritten`,
    /// the file is read from its start and the rows already indexed skipped.
    pub async fn index_csv(
        &self,
        source: &CsvSource<'_>,
        rewritten: bool,
    ) -> Result<usize, EngineError> {
        // One indexer at a time: cursors and series move together.
        let _indexing = self.csv_lock.lock().await;
        let saved = self.saved_cursor(source).await?.unwrap_or_default();
        let (mut cursor, skip_rows) = if rewritten {
            (CsvCursor::default(), saved.rows)
        } else {
            (saved, 0)
        };
        let mut total = 0;
        loop {
            let bytes =
                read_from(&source.file, cursor.offset)
                    .await
                    .map_err(|e| EngineError::Io {
                        path: source.file.clone(),
                        source: e,
                    })?;
            if bytes.is_empty() {
                break;
            }
            let before = cursor.offset;
            let batch = read_rows(&mut cursor, &bytes, skip_rows, &source.key_prefix);
            if cursor.offset == before {
                // Only an unfinished line: wait for its newline.
                break;
            }
            total += self.commit_csv_batch(source, &cursor, batch).await?;
            if (bytes.len() as u64) < READ_STEP {
                break;
            }
        }
        Ok(total)
    }

    /// Whether a CSV file was rewritten since it was last indexed: it is
    /// shorter than what was read, or its header line changed.
    pub async fn csv_was_rewritten(&self, source: &CsvSource<'_>) -> Result<bool, EngineError> {
        let Some(cursor) = self.saved_cursor(source).await? else {
            return Ok(false);
        };
        let len = tokio::fs::metadata(&source.file)
            .await
            .map(|m| m.len())
            .unwrap_or(0);
        if len < cursor.offset {
            return Ok(true);
        }
        let head = read_from(&source.file, 0)
            .await
            .map_err(|e| EngineError::Io {
                path: source.file.clone(),
                source: e,
            })?;
        let mut fresh = CsvCursor::default();
        let first_line = head
            .iter()
            .position(|b| *b == b'\n')
            .map_or(&head[..0], |end| &head[..=end]);
        read_rows(&mut fresh, first_line, 0, "");
        Ok(fresh.header.is_some() && fresh.header != cursor.header)
    }

    /// Data rows indexed so far from a CSV file.
    pub async fn csv_rows_indexed(&self, source: &CsvSource<'_>) -> Result<u64, EngineError> {
        Ok(self.saved_cursor(source).await?.map_or(0, |c| c.rows))
    }

    async fn saved_cursor(&self, source: &CsvSource<'_>) -> Result<Option<CsvCursor>, EngineError> {
        let at = source.at;
        Ok(self
            .store
            .csv_cursor(at.job_id, at.attempt, source.name)
            .await?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    async fn commit_csv_batch(
        &self,
        source: &CsvSource<'_>,
        cursor: &CsvCursor,
        batch: CsvBatch,
    ) -> Result<usize, EngineError> {
        let at = source.at;
        let now = self.clock.now_ms();
        if !batch.problems.is_empty() {
            for problem in batch.problems.iter().take(3) {
                tracing::info!(
                    job = at.job_id,
                    file = source.name,
                    line = problem.line,
                    "CSV line skipped: {}",
                    problem.message
                );
            }
            let problems: Vec<(Option<u64>, String)> = batch
                .problems
                .into_iter()
                .map(|p| (Some(p.line), p.message))
                .collect();
            self.store
                .add_run_problems(at.job_id, source.name, &problems, now)
                .await?;
        }
        let points: Vec<MetricPoint<'_>> = batch
            .points
            .iter()
            .map(|p| MetricPoint {
                key: &p.key,
                step: p.step,
                value: p.value,
                time_ms: p.time_ms.unwrap_or(now),
            })
            .collect();
        let save = CursorSave {
            table: CursorTable::Csv,
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
        self.append_points(at.job_id, job, &points, Some(&save))
            .await
    }
}

/// Up to [`READ_STEP`] bytes of `file` from `offset` (nothing if the file is
/// shorter or missing).
async fn read_from(file: &Path, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut handle = match tokio::fs::File::open(file).await {
        Ok(handle) => handle,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let len = handle.metadata().await?.len();
    if offset >= len {
        return Ok(Vec::new());
    }
    handle.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut bytes = Vec::new();
    handle.take(READ_STEP).read_to_end(&mut bytes).await?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_names_and_key_prefixes() {
        assert!(is_csv("metrics.csv"));
        assert!(is_csv("a/B.CSV"));
        assert!(!is_csv("csv"));
        assert!(!is_csv("a.csv.gz"));
        assert_eq!(key_prefix("metrics.csv"), "");
        assert_eq!(key_prefix("eval/val.csv"), "eval/val/");
    }
}
