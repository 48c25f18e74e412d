//! What agents report about an attempt: its start, its output, its end.
//! Any report proves the agent alive and renews the lease; a report from an
//! attempt that is no longer current is refused as superseded.

use trainyard_core::work::{AttemptRef, FinishedReport, StartedReport};

use super::job::Job;
use super::queue::JobQueue;
use super::Scheduler;
use crate::error::EngineError;
use crate::metrics::{Metrics, MAX_LINE_BYTES};

impl Scheduler {
    /// The job if `at` is its current attempt, else `Superseded`.
    fn current(queue: &JobQueue, at: AttemptRef) -> Result<&Job, EngineError> {
        queue
            .get(at.job_id)
            .filter(|job| job.is_current(at))
            .ok_or(EngineError::Superseded(at))
    }

    /// Refuses a report from an attempt that is not current; renews the
    /// lease of one that is. Run-file sync calls this too.
    pub async fn renew_current(&self, at: AttemptRef) -> Result<(), EngineError> {
        let mut queue = self.queue.lock().await;
        Self::current(&queue, at)?;
        queue.renew(at.job_id, self.clock.now() + self.settings.lease);
        Ok(())
    }

    /// The agent started the process.
    pub async fn attempt_started(
        &self,
        at: AttemptRef,
        report: StartedReport,
    ) -> Result<(), EngineError> {
        let mut queue = self.queue.lock().await;
        let job = Self::current(&queue, at)?;
        let lease_until = self.clock.now() + self.settings.lease;
        let Some(change) = job.start(lease_until, self.clock.now_ms()) else {
            return Ok(());
        };
        tracing::info!(job = at.job_id, attempt = at.attempt, pid = ?report.pid, "job started");
        self.commit(&mut queue, vec![change]).await
    }

    /// Appends output at `offset` (see `logs.rs` for the rules) and feeds
    /// the metric lines it completes to `metrics`.
    pub async fn append_log(
        &self,
        at: AttemptRef,
        offset: u64,
        data: &[u8],
        metrics: &Metrics,
    ) -> Result<u64, EngineError> {
        self.renew_current(at).await?;
        self.seed_metric_tap(at, offset, metrics).await;
        let mut lines = Vec::new();
        let size = self
            .logs
            .append_then(at, offset, data, |offset, written| {
                lines = metrics.tap(at, offset, written);
            })
            .await?;
        metrics.record_lines(at.job_id, lines).await;
        Ok(size)
    }

    /// Before an append at `offset`: an attempt the metric tap has not seen
    /// since this server started (a restart) learns the unfinished line its
    /// log ends with.
    async fn seed_metric_tap(&self, at: AttemptRef, offset: u64, metrics: &Metrics) {
        if offset == 0 || metrics.tap_knows(at) {
            return;
        }
        let start = offset.saturating_sub(MAX_LINE_BYTES as u64);
        let len = usize::try_from(offset - start).unwrap_or(MAX_LINE_BYTES);
        let Ok(slice) = self.logs.read(at, start, len).await else {
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
        metrics.seed_tap(at, tail);
    }

    /// The attempt ended. Idempotent: a repeated report is acknowledged.
    pub async fn attempt_finished(
        &self,
        at: AttemptRef,
        report: FinishedReport,
        metrics: &Metrics,
    ) -> Result<(), EngineError> {
        metrics.end_tap(at).await;
        let mut queue = self.queue.lock().await;
        let job = match Self::current(&queue, at) {
            Ok(job) => job,
            Err(superseded) => {
                let stored = self.store.job(at.job_id).await?;
                return match stored {
                    Some(row) if row.view.attempt == at.attempt && row.view.status.is_final() => {
                        Ok(())
                    }
                    _ => Err(superseded),
                };
            }
        };
        let change = job.finish(&report, self.clock.now_ms());
        tracing::info!(job = at.job_id, attempt = at.attempt, status = %change.job.status(), "job finished");
        self.commit(&mut queue, vec![change]).await
    }
}
