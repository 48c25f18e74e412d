//! What users do with jobs: submit, list, inspect, cancel, re-prioritize,
//! re-run, read output.

use trainyard_core::config::{parse_experiment, SweepLimits};
use trainyard_core::work::AttemptRef;
use trainyard_core::{
    validate_host_id, JobDetail, JobStatus, JobView, Priority, SubmitOptions, SubmitResult,
};

use super::logs::{LogAppended, LogSlice};
use super::table::Live;
use super::{Change, JobFilter};
use crate::clock::now_ms;
use crate::engine::Engine;
use crate::error::EngineError;
use crate::store::{JobRow, NewSweep};

/// Most GPUs one job may ask for.
pub const MAX_GPUS_PER_JOB: u32 = 64;
/// Project of a config without `project`.
pub const DEFAULT_PROJECT: &str = "default";

impl Engine {
    /// The sweep cap, for previews.
    pub fn sweep_limits(&self) -> SweepLimits {
        SweepLimits {
            max_runs: self.config().jobs.max_sweep_size,
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
            .or_else(|| self.config().jobs.default_command.clone())
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
        let project = s
            .project
            .clone()
            .unwrap_or_else(|| DEFAULT_PROJECT.to_string());
        let created_ms = now_ms();
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
                    retries: s.retries,
                    timeout_secs: s.timeout_secs,
                    params: run.params,
                    created_ms,
                    ..JobView::default()
                },
                config_yaml: run.config_yaml,
            })
            .collect();
        let mut table = self.job_table().await;
        let (sweep_id, rows) = self
            .store()
            .insert_sweep(
                NewSweep {
                    project: &project,
                    source_yaml: yaml,
                    created_ms,
                },
                jobs,
            )
            .await?;
        let views = self.enqueue(&mut table, rows);
        drop(table);
        tracing::info!(sweep_id, jobs = views.len(), project = %project, "sweep queued");
        Ok(SubmitResult {
            sweep_id,
            jobs: views,
        })
    }

    fn enqueue(&self, table: &mut super::table::JobTable, rows: Vec<JobRow>) -> Vec<JobView> {
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            views.push(row.view.clone());
            self.events()
                .publish(crate::events::BusEvent::Job(std::sync::Arc::new(
                    row.view.clone(),
                )));
            table.put(Live {
                row,
                lease_deadline: None,
            });
        }
        self.jobs_state().work.notify_waiters();
        views
    }

    /// Jobs matching `filter`, newest first; queued ones say why they wait.
    pub async fn jobs(&self, filter: JobFilter) -> Result<Vec<JobView>, EngineError> {
        let mut views = self.store().list_jobs(&filter).await?;
        if views.iter().any(|v| v.status == JobStatus::Queued) {
            let hosts = self.hosts();
            let fleet = super::waiting::FleetShape::of(&hosts);
            for view in views.iter_mut().filter(|v| v.status == JobStatus::Queued) {
                view.reason = Some(super::waiting::explain(view, &fleet));
            }
        }
        Ok(views)
    }

    /// One job with its config and attempts.
    pub async fn job(&self, id: i64) -> Result<JobDetail, EngineError> {
        let row = self
            .store()
            .job(id)
            .await?
            .ok_or(EngineError::JobNotFound(id))?;
        let attempts = self.store().attempts(id).await?;
        let mut job = row.view;
        if job.status == JobStatus::Queued {
            let hosts = self.hosts();
            job.reason = Some(super::waiting::explain(
                &job,
                &super::waiting::FleetShape::of(&hosts),
            ));
        }
        Ok(JobDetail {
            job,
            config_yaml: row.config_yaml,
            attempts,
        })
    }

    /// Cancels a job: a queued or lost one at once; an assigned or running
    /// one is marked and its agent told to stop it (TERM, then KILL).
    pub async fn cancel_job(&self, id: i64) -> Result<JobView, EngineError> {
        let mut table = self.job_table().await;
        let live = self.unfinished(&table, id, "cancel").await?;
        let mut next = live;
        let view = &mut next.row.view;
        let attempt = match view.status {
            JobStatus::Queued | JobStatus::Lost => {
                let was_lost = view.status == JobStatus::Lost;
                view.status = JobStatus::Cancelled;
                view.finished_ms = Some(now_ms());
                view.reason = Some(if was_lost {
                    "cancelled while its agent was unreachable".into()
                } else {
                    "cancelled before it started".into()
                });
                was_lost.then(|| super::attempt_row(view, 0))
            }
            _ => {
                if view.cancel_requested {
                    return Ok(view.clone());
                }
                view.cancel_requested = true;
                view.reason = Some("cancelling: waiting for the agent to stop it".into());
                None
            }
        };
        let result = next.row.view.clone();
        self.commit(
            &mut table,
            vec![Change {
                live: next,
                attempt,
            }],
        )
        .await?;
        self.jobs_state().work.notify_waiters();
        Ok(result)
    }

    /// The unfinished job `id`, or why `action` cannot apply to it (unknown,
    /// or already finished).
    async fn unfinished(
        &self,
        table: &super::table::JobTable,
        id: i64,
        action: &'static str,
    ) -> Result<Live, EngineError> {
        if let Some(live) = table.get(id) {
            return Ok(live.clone());
        }
        let row = self
            .store()
            .job(id)
            .await?
            .ok_or(EngineError::JobNotFound(id))?;
        Err(EngineError::JobFinished {
            id,
            status: row.view.status,
            action,
        })
    }

    /// Changes a queued job's priority.
    pub async fn set_priority(&self, id: i64, priority: Priority) -> Result<JobView, EngineError> {
        let mut table = self.job_table().await;
        let live = self
            .unfinished(&table, id, "change the priority of")
            .await?;
        if live.row.view.status != JobStatus::Queued {
            return Err(EngineError::JobNotQueued {
                id,
                status: live.row.view.status,
            });
        }
        let mut next = live;
        next.row.view.priority = priority;
        let result = next.row.view.clone();
        self.commit(
            &mut table,
            vec![Change {
                live: next,
                attempt: None,
            }],
        )
        .await?;
        Ok(result)
    }

    /// Queues a new job with a finished job's exact config and command.
    pub async fn rerun_job(&self, id: i64) -> Result<JobView, EngineError> {
        let row = self
            .store()
            .job(id)
            .await?
            .ok_or(EngineError::JobNotFound(id))?;
        if !(row.view.status.is_final() || row.view.status == JobStatus::Lost) {
            return Err(EngineError::JobNotFinished {
                id,
                status: row.view.status,
            });
        }
        if row.view.command.is_empty() {
            // An imported run without --default-command: nothing to run.
            return Err(EngineError::NoCommand);
        }
        let mut view = row.view;
        view.clear_run_state();
        view.id = 0;
        view.created_ms = now_ms();
        view.rerun_of = Some(id);
        let fresh = JobRow {
            view,
            config_yaml: row.config_yaml,
        };
        let mut table = self.job_table().await;
        let inserted = self.store().insert_job(fresh).await?;
        let mut views = self.enqueue(&mut table, vec![inserted]);
        views.pop().ok_or(EngineError::JobNotFound(id))
    }

    /// Up to `max` bytes of a job's output from `offset`, for `attempt` (the
    /// latest when `None`). Also says which attempt was read.
    pub async fn read_log(
        &self,
        id: i64,
        attempt: Option<u32>,
        offset: u64,
        max: usize,
    ) -> Result<(AttemptRef, LogSlice, JobStatus), EngineError> {
        let row = self
            .store()
            .job(id)
            .await?
            .ok_or(EngineError::JobNotFound(id))?;
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
        let slice = self.jobs_state().logs.read(at, offset, max).await?;
        Ok((at, slice, row.view.status))
    }

    /// Told after every log append anywhere; followers filter by attempt.
    pub fn log_updates(&self) -> tokio::sync::broadcast::Receiver<LogAppended> {
        self.jobs_state().logs.subscribe()
    }
}
