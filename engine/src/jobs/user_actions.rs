//! What users do with jobs: submit, list, inspect, cancel, re-prioritize,
//! re-run, read output.

use std::sync::Arc;

use trainyard_core::config::{parse_experiment, Scheduling, SweepLimits};
use trainyard_core::work::AttemptRef;
use trainyard_core::{
    validate_host_id, JobDetail, JobStatus, JobView, Priority, SubmitOptions, SubmitResult,
};

use super::job::Job;
use super::lifecycle::rerun_of;
use super::logs::{LogAppended, LogSlice};
use super::queue::JobQueue;
use super::waiting::explain_queued;
use super::{JobFilter, Scheduler};
use crate::error::EngineError;
use crate::events::BusEvent;
use crate::hosts::Hosts;
use crate::store::{JobRow, NewSweep};

/// Most GPUs one job may ask for.
pub const MAX_GPUS_PER_JOB: u32 = 64;
/// Project of a config without `project`.
pub const DEFAULT_PROJECT: &str = "default";

/// Runs with their argv built, for `Scheduler::submit_prepared`.
pub struct PreparedSweep<'a> {
    pub project: &'a str,
    pub source_yaml: &'a str,
    pub workdir: Option<String>,
    pub runs: Vec<trainyard_core::catalog::LaunchRun>,
    pub launch: Option<&'a crate::store::NewLaunch>,
    /// Extra attempts after a lost lease (a serving job's restarts).
    pub retries: u32,
}

/// A piece of a job's output and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRead {
    /// The attempt that was read (the latest unless one was asked for).
    pub attempt: AttemptRef,
    pub slice: LogSlice,
    /// The job's status when it was read.
    pub status: JobStatus,
}

impl Scheduler {
    /// The sweep cap, for previews.
    pub fn sweep_limits(&self) -> SweepLimits {
        SweepLimits {
            max_runs: self.settings.max_sweep_size,
        }
    }

    /// Parses `yaml`, expands its grid and queues one job per point, all or
    /// nothing. Bad configs and options are refused before anything is stored.
    pub async fn submit(
        &self,
        yaml: &str,
        options: SubmitOptions,
    ) -> Result<SubmitResult, EngineError> {
        let experiment = parse_experiment(yaml)?;
        let runs = experiment.expand(&self.sweep_limits())?;
        let s = &experiment.scheduling;
        let command = s
            .command
            .clone()
            .or_else(|| self.settings.default_command.clone())
            .ok_or(EngineError::NoCommand)?;
        let gpus = options.gpus.unwrap_or(s.gpus);
        if gpus > MAX_GPUS_PER_JOB {
            return Err(EngineError::BadOption(format!(
                "gpus: {gpus} is more than the {MAX_GPUS_PER_JOB} one job may use"
            )));
        }
        let host_pin = options
            .host
            .clone()
            .or_else(|| s.host.clone())
            .filter(|h| !h.is_empty());
        if let Some(host) = &host_pin {
            validate_host_id(host).map_err(|e| EngineError::BadOption(format!("host: {e}")))?;
        }
        let (command, gpu_ids) = multi_gpu(s, command, gpus, host_pin.is_some())?;
        let project = s
            .project
            .clone()
            .unwrap_or_else(|| DEFAULT_PROJECT.to_string());
        let created_ms = self.clock.now_ms();
        let jobs = runs
            .into_iter()
            .map(|run| JobRow {
                view: JobView {
                    project: project.clone(),
                    name: run.name,
                    priority: options.priority.or(s.priority).unwrap_or_default(),
                    command: command.clone(),
                    workdir: s.workdir.clone(),
                    gpus,
                    host_pin: host_pin.clone(),
                    min_gpu_memory_mb: options.min_gpu_memory_mb.filter(|m| *m > 0),
                    gpu_ids: gpu_ids.clone(),
                    retries: s.retries,
                    timeout_secs: s.timeout_secs,
                    params: run.params,
                    created_ms,
                    ..JobView::default()
                },
                config_yaml: run.config_yaml,
            })
            .collect();
        let mut queue = self.queue.lock().await;
        let (sweep_id, rows) = self
            .store
            .insert_sweep(
                NewSweep {
                    launch: None,
                    project: &project,
                    source_yaml: yaml,
                    created_ms,
                },
                jobs,
            )
            .await?;
        let views = self.enqueue(&mut queue, rows);
        drop(queue);
        tracing::info!(sweep_id, jobs = views.len(), project = %project, "sweep queued");
        Ok(SubmitResult {
            sweep_id,
            jobs: views,
        })
    }

    /// Queues runs whose argv is already built (a catalog launch), all or
    /// nothing, with the launch recorded per job in the same transaction.
    pub async fn submit_prepared(
        &self,
        sweep: PreparedSweep<'_>,
        options: SubmitOptions,
    ) -> Result<SubmitResult, EngineError> {
        let gpus = options.gpus.unwrap_or(1);
        if gpus > MAX_GPUS_PER_JOB {
            return Err(EngineError::BadOption(format!(
                "gpus: {gpus} is more than the {MAX_GPUS_PER_JOB} one job may use"
            )));
        }
        let host_pin = options.host.clone().filter(|h| !h.is_empty());
        if let Some(host) = &host_pin {
            validate_host_id(host).map_err(|e| EngineError::BadOption(format!("host: {e}")))?;
        }
        let created_ms = self.clock.now_ms();
        let jobs = sweep
            .runs
            .into_iter()
            .map(|run| JobRow {
                view: JobView {
                    project: sweep.project.to_string(),
                    name: run.name,
                    priority: options.priority.unwrap_or_default(),
                    command: run.argv,
                    workdir: sweep.workdir.clone(),
                    gpus,
                    host_pin: host_pin.clone(),
                    min_gpu_memory_mb: options.min_gpu_memory_mb.filter(|m| *m > 0),
                    params: run.params,
                    retries: sweep.retries,
                    created_ms,
                    ..JobView::default()
                },
                config_yaml: run.config_yaml,
            })
            .collect();
        let mut queue = self.queue.lock().await;
        let (sweep_id, rows) = self
            .store
            .insert_sweep(
                NewSweep {
                    launch: sweep.launch,
                    project: sweep.project,
                    source_yaml: sweep.source_yaml,
                    created_ms,
                },
                jobs,
            )
            .await?;
        let views = self.enqueue(&mut queue, rows);
        drop(queue);
        tracing::info!(sweep_id, jobs = views.len(), project = %sweep.project, "launch queued");
        Ok(SubmitResult {
            sweep_id,
            jobs: views,
        })
    }

    /// Puts freshly stored jobs in the queue and wakes waiting polls.
    fn enqueue(&self, queue: &mut JobQueue, rows: Vec<JobRow>) -> Vec<JobView> {
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            views.push(row.view.clone());
            self.bus.publish(BusEvent::Job(Arc::new(row.view.clone())));
            queue.put(Job::from_row(row, None));
        }
        self.work.notify_waiters();
        views
    }

    /// Jobs matching `filter`, newest first; queued ones say why they wait.
    pub async fn jobs(
        &self,
        filter: JobFilter,
        hosts: &Hosts,
    ) -> Result<Vec<JobView>, EngineError> {
        let mut views = self.store.list_jobs(&filter).await?;
        explain_queued(&mut views, hosts);
        Ok(views)
    }

    /// One job with its config and attempts.
    pub async fn job(&self, id: i64, hosts: &Hosts) -> Result<JobDetail, EngineError> {
        let row = self.stored(id).await?;
        let attempts = self.store.attempts(id).await?;
        let mut job = [row.view];
        explain_queued(&mut job, hosts);
        let [job] = job;
        Ok(JobDetail {
            job,
            config_yaml: row.config_yaml,
            attempts,
        })
    }

    /// One job as stored, without its waiting reason.
    pub async fn job_view(&self, id: i64) -> Result<JobView, EngineError> {
        Ok(self.stored(id).await?.view)
    }

    /// A stored job, or `JobNotFound`.
    async fn stored(&self, id: i64) -> Result<JobRow, EngineError> {
        self.store
            .job(id)
            .await?
            .ok_or(EngineError::JobNotFound(id))
    }

    /// Cancels a job: a queued or lost one at once; an assigned or running
    /// one is marked and its agent told to stop it (TERM, then KILL).
    pub async fn cancel_job(&self, id: i64) -> Result<JobView, EngineError> {
        let mut queue = self.queue.lock().await;
        let job = self.unfinished(&queue, id, "cancel").await?;
        let Some(change) = job.cancel(self.clock.now_ms()) else {
            return Ok(job.view());
        };
        let result = change.job.view();
        self.commit(&mut queue, vec![change]).await?;
        self.work.notify_waiters();
        Ok(result)
    }

    /// The unfinished job `id`, or why `action` cannot apply to it (unknown,
    /// or already finished).
    async fn unfinished(
        &self,
        queue: &JobQueue,
        id: i64,
        action: &'static str,
    ) -> Result<Job, EngineError> {
        if let Some(job) = queue.get(id) {
            return Ok(job.clone());
        }
        let row = self.stored(id).await?;
        Err(EngineError::JobFinished {
            id,
            status: row.view.status,
            action,
        })
    }

    /// Changes a queued job's priority.
    pub async fn set_priority(&self, id: i64, priority: Priority) -> Result<JobView, EngineError> {
        let mut queue = self.queue.lock().await;
        let job = self
            .unfinished(&queue, id, "change the priority of")
            .await?;
        let change = job.reprioritize(priority)?;
        let result = change.job.view();
        self.commit(&mut queue, vec![change]).await?;
        Ok(result)
    }

    /// Queues a new job with a finished job's exact config and command;
    /// with `exact_code`, pinned to the code it ran with (its manifest).
    pub async fn rerun_job(&self, id: i64, exact_code: bool) -> Result<JobView, EngineError> {
        let fresh = rerun_of(&self.stored(id).await?, self.clock.now_ms(), exact_code)?;
        let mut queue = self.queue.lock().await;
        let inserted = self.store.insert_job(fresh).await?;
        let view = inserted.view.clone();
        self.enqueue(&mut queue, vec![inserted]);
        Ok(view)
    }

    /// Queues a failed, cancelled or lost job again as its next attempt,
    /// which resumes from the newest attempt's synced files (the caller
    /// checked there are some) and uses no retry.
    pub async fn resume_job(&self, id: i64) -> Result<JobView, EngineError> {
        let mut queue = self.queue.lock().await;
        let job = match queue.get(id) {
            Some(job) => job.clone(),
            None => Job::from_row(self.stored(id).await?, None),
        };
        let change = job.resume(self.clock.now_ms())?;
        let view = change.job.view();
        self.commit(&mut queue, vec![change]).await?;
        drop(queue);
        tracing::info!(job = id, "job resumed");
        self.work.notify_waiters();
        Ok(view)
    }

    /// Up to `max` bytes of a job's output from `offset`, for `attempt` (the
    /// latest when `None`).
    pub async fn read_log(
        &self,
        id: i64,
        attempt: Option<u32>,
        offset: u64,
        max: usize,
    ) -> Result<LogRead, EngineError> {
        let row = self.stored(id).await?;
        let attempt = attempt.unwrap_or(row.view.attempt);
        if attempt > row.view.attempt {
            return Err(EngineError::BadOption(format!(
                "attempt: job {id} has {} attempt(s); there is no attempt {attempt}",
                row.view.attempt
            )));
        }
        let at = AttemptRef {
            job_id: id,
            attempt,
        };
        let slice = self.logs.read(at, offset, max).await?;
        Ok(LogRead {
            attempt: at,
            slice,
            status: row.view.status,
        })
    }

    /// Told after every log append anywhere; followers filter by attempt.
    pub fn log_updates(&self) -> tokio::sync::broadcast::Receiver<LogAppended> {
        self.logs.subscribe()
    }
}

/// What `device:` and `launcher:` make of a job: the argv started under the
/// launcher, and the exact GPU indices when the job is pinned to a host
/// (elsewhere a `device:` list only counts GPUs: indices name GPUs of one
/// host).
fn multi_gpu(
    s: &Scheduling,
    command: Vec<String>,
    gpus: u32,
    pinned: bool,
) -> Result<(Vec<String>, Vec<u32>), EngineError> {
    if !s.device.is_empty() && s.device.len() != gpus as usize {
        return Err(EngineError::BadOption(format!(
            "gpus: {gpus} disagrees with the config's `device:` list of {} GPU(s)",
            s.device.len()
        )));
    }
    let command = match s.launcher {
        Some(launcher) if gpus == 0 => {
            return Err(EngineError::BadOption(format!(
                "gpus: 0 leaves `launcher: {launcher}` no GPU to start a process on"
            )))
        }
        Some(launcher) => launcher.wrap(&command, gpus),
        None => command,
    };
    let gpu_ids = if pinned { s.device.clone() } else { Vec::new() };
    Ok((command, gpu_ids))
}
