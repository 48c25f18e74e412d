//! The link between job output and metrics: `Engine::append_log` calls
//! these around each append.

use trainyard_core::work::AttemptRef;

use super::tap::MAX_LINE_BYTES;
use super::MetricLine;
use crate::engine::Engine;

impl Engine {
    /// Before an append at `offset`: an attempt this server has not seen
    /// since it started (a restart) learns the unfinished line its log ends with.
    pub(crate) async fn prepare_metric_tap(&self, at: AttemptRef, offset: u64) {
        if offset == 0 || self.metrics().taps().knows(at) {
            return;
        }
        let start = offset.saturating_sub(MAX_LINE_BYTES as u64);
        let len = usize::try_from(offset - start).unwrap_or(MAX_LINE_BYTES);
        let Ok(slice) = self.jobs_state().logs.read(at, start, len).await else {
            return;
        };
        // Not the end of the log: this append is a retry or refused anyway.
        if slice.size != offset {
            return;
        }
        let tail = match slice.data.iter().rposition(|b| *b == b'\n') {
            Some(nl) => Some(slice.data[nl + 1..].to_vec()),
            None if start == 0 => Some(slice.data),
            None => None,
        };
        self.metrics().taps().seed(at, tail);
    }

    /// `data` was written to the log at `offset`; the metric lines it completed.
    pub(crate) fn tap_metrics(&self, at: AttemptRef, offset: u64, data: &[u8]) -> Vec<MetricLine> {
        self.metrics().taps().feed(at, offset, data)
    }

    /// Records lines from output. The output itself is already safe in the
    /// log, so a failure here is logged, not returned to the agent.
    pub(crate) async fn record_metric_lines(&self, job_id: i64, lines: Vec<MetricLine>) {
        self.note_progress(job_id, &lines);
        if let Err(e) = self.ingest_metric_lines(job_id, lines).await {
            tracing::error!(job = job_id, "recording metrics from output failed: {e}");
        }
    }

    /// The attempt ended: its last line counts even without a newline.
    pub(crate) async fn end_metric_tap(&self, at: AttemptRef) {
        let lines = self.metrics().taps().end(at);
        self.record_metric_lines(at.job_id, lines).await;
    }
}
