//! What agents do: long-poll for work (which also renews their leases and
//! carries stop orders), and report a start, output and the end of each
//! attempt. Reports from an attempt that is no longer current are refused
//! as superseded.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use trainyard_core::work::{
    Assignment, AttemptRef, FinishedReport, Outcome, PollRequest, PollResponse, StartedReport,
    StopOrder, StopReason, MAX_POLL_WAIT_MS,
};
use trainyard_core::{validate_host_id, HostHealth, JobStatus};

use super::dispatch::{pick, Capacity, FreeGpu};
use super::table::{JobTable, Live};
use super::{attempt_row, Change};
use crate::clock::now_ms;
use crate::engine::Engine;
use crate::error::EngineError;

/// How often a poll from a host that is not (yet) healthy looks again.
const UNREADY_HOST_RECHECK: Duration = Duration::from_millis(200);

impl Engine {
    /// Answers a poll at once when there is work or a stop order for the
    /// host, else waits (up to `wait_ms`, capped) until there is.
    pub async fn poll(&self, req: PollRequest) -> Result<PollResponse, EngineError> {
        EngineError::check_protocol(req.protocol_version)?;
        validate_host_id(&req.host_id).map_err(|e| EngineError::BadOption(e.to_string()))?;
        // A held poll renews nothing, so it must end well inside a lease.
        let lease_ms = u64::try_from(self.config().jobs.lease.as_millis()).unwrap_or(u64::MAX);
        let wait = req.wait_ms.min(MAX_POLL_WAIT_MS).min(lease_ms / 3);
        let deadline = Instant::now() + Duration::from_millis(wait);
        let state = self.jobs_state();
        let generation = state.begin_poll(&req.host_id);
        loop {
            if state.poll_is_stale(&req.host_id, generation) {
                return Ok(PollResponse::default());
            }
            let woken = state.work.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let response = self.dispatch_once(&req, generation).await?;
            if !response.assign.is_empty()
                || !response.stop.is_empty()
                || Instant::now() >= deadline
                || state.is_closing()
            {
                return Ok(response);
            }
            // A host whose first heartbeat has not arrived yet (or that is
            // stale) gets no work; nothing would wake this poll when it
            // becomes healthy, so look again shortly instead.
            let host_ready = self
                .host_view(&req.host_id)
                .is_some_and(|(_, health)| health == HostHealth::Healthy);
            let until = if host_ready {
                deadline
            } else {
                deadline.min(Instant::now() + UNREADY_HOST_RECHECK)
            };
            tokio::select! {
                () = &mut woken => {}
                () = tokio::time::sleep_until(until.into()) => {}
            }
        }
    }

    /// One pass for one host: renew its attempts, find stop orders, hand
    /// out work that fits.
    async fn dispatch_once(
        &self,
        req: &PollRequest,
        generation: u64,
    ) -> Result<PollResponse, EngineError> {
        let host = req.host_id.as_str();
        let now = Instant::now();
        let now_wall = now_ms();
        let lease = self.config().jobs.lease;
        let listed: HashSet<AttemptRef> = req.running.iter().copied().collect();
        let mut response = PollResponse::default();
        let mut changes = Vec::new();
        let mut table = self.job_table().await;
        // Checked under the lock: once a newer poll exists, this one hands
        // out nothing (its agent is no longer listening).
        if self.jobs_state().poll_is_stale(host, generation) {
            return Ok(response);
        }

        // The host's own jobs, as the server sees them.
        let mut server_used: HashSet<u32> = HashSet::new();
        let mut renewed = Vec::new();
        for live in table.active_on(host) {
            let view = &live.row.view;
            let at = AttemptRef {
                job_id: view.id,
                attempt: view.attempt,
            };
            if listed.contains(&at) {
                server_used.extend(view.gpu_indices.iter().copied());
                if view.cancel_requested {
                    response.stop.push(StopOrder {
                        attempt: at,
                        reason: StopReason::Cancelled,
                    });
                }
                // Renewal lives in memory only: after a restart every lease
                // starts afresh anyway.
                renewed.push(view.id);
            } else if view.status == JobStatus::Assigned {
                // An agent lists every attempt it received; one missing here
                // never arrived (its answer was lost), so it goes back to the
                // queue without using a retry.
                let mut next = live.clone();
                next.row.view.status = JobStatus::Queued;
                next.row.view.reason = None;
                next.lease_deadline = None;
                let mut row = attempt_row(&live.row.view, now_wall);
                row.status = JobStatus::Lost;
                row.reason = Some("the agent never received this assignment".into());
                next.row.view.host_id = None;
                next.row.view.gpu_indices.clear();
                changes.push(Change {
                    live: next,
                    attempt: Some(row),
                });
            } else {
                // Running here, but the agent no longer knows it (it restarted
                // and lost its spool): the process is gone.
                changes.push(self.lose(live, now_wall, "the agent on this host no longer runs it"));
            }
        }
        // Attempts the agent runs that are no longer current: stop them.
        for at in &req.running {
            let current = table.get(at.job_id).is_some_and(|l| {
                l.row.view.attempt == at.attempt
                    && l.row.view.host_id.as_deref() == Some(host)
                    && (l.row.view.status.is_active() || l.row.view.status == JobStatus::Lost)
            });
            if !current {
                response.stop.push(StopOrder {
                    attempt: *at,
                    reason: StopReason::Superseded,
                });
            } else if let Some(live) = table
                .get(at.job_id)
                .filter(|l| l.row.view.status == JobStatus::Lost)
            {
                // Lost with no retries left, and the agent is back: it still runs.
                let mut next = live.clone();
                next.row.view.status = JobStatus::Running;
                next.row.view.reason = None;
                next.lease_deadline = Some(now + lease);
                changes.push(Change::with_attempt(next, now_wall));
            }
        }
        for id in renewed {
            table.renew(id, now + lease);
        }
        self.commit(&mut table, changes).await?;

        if let Some(capacity) = self.capacity_of(req, &server_used) {
            let mut capacity = capacity;
            let queue = table.queued().map(|l| &l.row.view);
            let picked = pick(queue, host, &mut capacity);
            let mut assigned = Vec::with_capacity(picked.len());
            for (job_id, gpus) in picked {
                let Some(live) = table.get(job_id) else {
                    continue;
                };
                let mut next = live.clone();
                let view = &mut next.row.view;
                view.status = JobStatus::Assigned;
                view.attempt += 1;
                view.host_id = Some(host.to_string());
                view.gpu_indices = gpus;
                view.started_ms = None;
                view.finished_ms = None;
                view.exit_code = None;
                view.reason = None;
                next.lease_deadline = Some(now + lease);
                response.assign.push(Assignment {
                    job_id,
                    attempt: view.attempt,
                    project: view.project.clone(),
                    name: view.name.clone(),
                    command: view.command.clone(),
                    workdir: view.workdir.clone(),
                    config_yaml: next.row.config_yaml.clone(),
                    gpu_indices: view.gpu_indices.clone(),
                    timeout_secs: view.timeout_secs,
                    lease_ms: u64::try_from(lease.as_millis()).unwrap_or(u64::MAX),
                    fence: view.attempt <= view.retries,
                });
                assigned.push(Change::with_attempt(next, now_wall));
            }
            if !assigned.is_empty() {
                tracing::debug!(host, jobs = assigned.len(), "assigned");
                self.commit(&mut table, assigned).await?;
            }
        }
        Ok(response)
    }

    /// Free slots of a healthy host: what the agent offers, less GPUs the
    /// server knows are taken. `None` if the host may not get work.
    fn capacity_of(&self, req: &PollRequest, server_used: &HashSet<u32>) -> Option<Capacity> {
        let (view, health) = self.host_view(&req.host_id)?;
        if health != HostHealth::Healthy {
            return None;
        }
        let gpus = view
            .gpus
            .iter()
            .filter(|g| req.free_gpus.contains(&g.index) && !server_used.contains(&g.index))
            .map(|g| FreeGpu {
                index: g.index,
                free_memory_mb: g.memory_total_bytes.saturating_sub(g.memory_used_bytes) >> 20,
            })
            .collect();
        Some(Capacity {
            gpus,
            cpu_slots: req.free_cpu_slots,
            job_slots: req.free_job_slots,
        })
    }

    /// The attempt's lease is gone: requeue while retries remain, else mark
    /// it lost and wait for the agent to report.
    pub(crate) fn lose(&self, live: &Live, now_wall: i64, why: &str) -> Change {
        let mut next = live.clone();
        let view = &mut next.row.view;
        let host = view.host_id.clone().unwrap_or_default();
        let mut row = attempt_row(view, now_wall);
        row.status = JobStatus::Lost;
        row.reason = Some(why.to_string());
        next.lease_deadline = None;
        if view.cancel_requested {
            view.status = JobStatus::Cancelled;
            view.finished_ms = Some(now_wall);
            view.reason = Some(format!("cancelled; {why}"));
        } else if view.attempt <= view.retries {
            view.status = JobStatus::Queued;
            view.reason = Some(format!(
                "attempt {} lost on {host} ({why}); requeued",
                view.attempt
            ));
            view.host_id = None;
            view.gpu_indices.clear();
        } else {
            view.status = JobStatus::Lost;
            view.reason = Some(format!(
                "lost on {host} ({why}); no retries left, waiting for its agent to report"
            ));
        }
        tracing::warn!(
            job = view.id,
            attempt = view.attempt,
            host,
            "attempt lost: {why}"
        );
        Change {
            live: next,
            attempt: Some(row),
        }
    }

    /// The job if `at` is its current attempt, else `Superseded`.
    fn current(table: &JobTable, at: AttemptRef) -> Result<&Live, EngineError> {
        table
            .get(at.job_id)
            .filter(|l| {
                l.row.view.attempt == at.attempt
                    && (l.row.view.status.is_active() || l.row.view.status == JobStatus::Lost)
            })
            .ok_or(EngineError::Superseded(at))
    }

    /// Refuses a report from an attempt that is not current; renews the
    /// lease of one that is (any report proves the agent is alive).
    pub(crate) async fn renew_current(&self, at: AttemptRef) -> Result<(), EngineError> {
        let mut table = self.job_table().await;
        Self::current(&table, at)?;
        table.renew(at.job_id, Instant::now() + self.config().jobs.lease);
        Ok(())
    }

    /// The agent started the process.
    pub async fn attempt_started(
        &self,
        at: AttemptRef,
        report: StartedReport,
    ) -> Result<(), EngineError> {
        let mut table = self.job_table().await;
        let live = Self::current(&table, at)?;
        if live.row.view.status == JobStatus::Running {
            return Ok(());
        }
        let mut next = live.clone();
        next.row.view.status = JobStatus::Running;
        next.row.view.started_ms = Some(now_ms());
        next.lease_deadline = Some(Instant::now() + self.config().jobs.lease);
        tracing::info!(job = at.job_id, attempt = at.attempt, pid = ?report.pid, "job started");
        self.commit(&mut table, vec![Change::with_attempt(next, now_ms())])
            .await
    }

    /// Appends output at `offset`; see `logs.rs` for the rules.
    pub async fn append_log(
        &self,
        at: AttemptRef,
        offset: u64,
        data: &[u8],
    ) -> Result<u64, EngineError> {
        self.renew_current(at).await?;
        self.prepare_metric_tap(at, offset).await;
        let mut lines = Vec::new();
        let size = self
            .jobs_state()
            .logs
            .append_then(at, offset, data, |offset, written| {
                lines = self.tap_metrics(at, offset, written);
            })
            .await?;
        self.record_metric_lines(at.job_id, lines).await;
        Ok(size)
    }

    /// The attempt ended. Idempotent: a repeated report is acknowledged.
    pub async fn attempt_finished(
        &self,
        at: AttemptRef,
        report: FinishedReport,
    ) -> Result<(), EngineError> {
        self.end_metric_tap(at).await;
        let mut table = self.job_table().await;
        let live = match Self::current(&table, at) {
            Ok(live) => live,
            Err(superseded) => {
                let stored = self.store().job(at.job_id).await?;
                return match stored {
                    Some(row) if row.view.attempt == at.attempt && row.view.status.is_final() => {
                        Ok(())
                    }
                    _ => Err(superseded),
                };
            }
        };
        let mut next = live.clone();
        let view = &mut next.row.view;
        let now = now_ms();
        view.status = match report.outcome {
            Outcome::Succeeded => JobStatus::Succeeded,
            Outcome::Cancelled => JobStatus::Cancelled,
            Outcome::Failed if view.cancel_requested => JobStatus::Cancelled,
            Outcome::Failed => JobStatus::Failed,
        };
        view.finished_ms = Some(now);
        view.duration_ms = Some(i64::try_from(report.duration_ms).unwrap_or(i64::MAX));
        view.exit_code = report.exit_code;
        view.reason = report
            .error
            .clone()
            .or_else(|| match (view.status, report.signal) {
                (JobStatus::Cancelled, _) => Some("cancelled".into()),
                (_, Some(signal)) => Some(format!("killed by signal {signal}")),
                (JobStatus::Failed, None) => {
                    report.exit_code.map(|c| format!("exited with code {c}"))
                }
                _ => None,
            });
        next.lease_deadline = None;
        tracing::info!(job = at.job_id, attempt = at.attempt, status = %view.status, "job finished");
        self.commit(&mut table, vec![Change::with_attempt(next, now)])
            .await
    }
}
