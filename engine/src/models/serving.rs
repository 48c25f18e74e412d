//! Serving a model's stage (issue 14, "Serve it"). A deployment is a row
//! (`model_serving`) plus an ordinary job, so placement, leases, the live
//! log, cancel and the restart after a lost agent are the scheduler's. The
//! job's assignment carries a [`ServeSpec`] (attached here when an agent
//! polls): the agent fetches the bundle, fills `{model_dir}` and `{port}`,
//! starts the command, probes the health path and reports the endpoint.
//!
//! Rules: the job has [`SERVING_RETRIES`] retries, which only lost attempts
//! (a dead agent, an expired lease) use; a command that exits, even with
//! code 0, fails the deployment with its last output lines and is not
//! restarted. Serving a stage that already serves stops the old job first,
//! then starts the stage's current LATEST (a gap, not a blue/green swap).

use std::sync::Arc;

use trainyard_core::models::Stage;
use trainyard_core::serving::{
    parse_serve_command, serve_url, validate_health_path, ServeRequest, ServingState, ServingView,
    DEFAULT_HEALTH_PATH, DEFAULT_SERVE_COMMAND,
};
use trainyard_core::work::{AttemptRef, PollResponse, ServeSpec};
use trainyard_core::{JobStatus, JobView, SubmitOptions};

use super::{check_model_name, Models};
use crate::error::EngineError;
use crate::events::{BusEvent, EventBus};
use crate::jobs::{PreparedSweep, Scheduler};
use crate::store::ServingRow;

/// Restarts a serving job gets after lost attempts.
pub const SERVING_RETRIES: u32 = 1_000;
/// The project serving jobs are listed under.
pub const SERVING_PROJECT: &str = "serving";
/// How much of a failed server's output its view carries.
const TAIL_BYTES: u64 = 4_096;
const TAIL_LINES: usize = 20;

/// Where the proxy should send a request for a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServingTarget {
    /// Healthy at `address:port`.
    Ready { address: String, port: u16 },
    /// Not healthy yet; why, for a human.
    Starting(String),
    /// Failed; why.
    Failed(String),
}

impl Models {
    /// Starts serving the stage's LATEST (stopping what served it before).
    pub async fn serve(
        &self,
        name: &str,
        stage: &str,
        req: &ServeRequest,
        jobs: &Scheduler,
        bus: &EventBus,
    ) -> Result<ServingView, EngineError> {
        check_model_name(name)?;
        let stage_parsed: Stage = stage.parse().map_err(EngineError::StageNotFound)?;
        let invalid = |field: &str, message: String| EngineError::ModelInvalid {
            field: field.into(),
            message,
        };
        let health_path = req
            .health_path
            .clone()
            .unwrap_or_else(|| DEFAULT_HEALTH_PATH.into());
        validate_health_path(&health_path).map_err(|m| invalid("health_path", m))?;
        let command = match &req.command {
            Some(c) => c.clone(),
            None => self
                .store
                .last_serving_command(name)
                .await?
                .unwrap_or_else(|| DEFAULT_SERVE_COMMAND.into()),
        };
        let argv = parse_serve_command(&command).map_err(|m| invalid("command", m))?;
        let bundle = self
            .bundle(name, stage, trainyard_core::models::LATEST)
            .await?;
        let gpus = req.gpus.unwrap_or(0);

        // Held until the row names the job, so a poll that hands the job
        // out waits for it in `attach_serve_specs`.
        let _serving = self.serving_lock.lock().await;
        let live = self.store.live_serving(name, stage_parsed.as_str()).await?;
        if let Some(old) = &live {
            cancel_quietly(jobs, old.job_id).await?;
        }
        let run_name = format!("{name}-{stage_parsed}-{}", bundle.version);
        let config_yaml = format!(
            "serve:\n  model: {name}\n  stage: {stage_parsed}\n  version: {}\n  health_path: {health_path:?}\n",
            bundle.version
        );
        let source_yaml = config_yaml.clone();
        let submitted = jobs
            .submit_prepared(
                PreparedSweep {
                    project: SERVING_PROJECT,
                    source_yaml: &source_yaml,
                    workdir: None,
                    runs: vec![trainyard_core::catalog::LaunchRun {
                        name: run_name,
                        argv,
                        values: Vec::new(),
                        params: vec![
                            ("model".into(), name.into()),
                            ("stage".into(), stage_parsed.as_str().into()),
                            ("version".into(), bundle.version.clone()),
                        ],
                        config_yaml,
                    }],
                    launch: None,
                    retries: SERVING_RETRIES,
                },
                SubmitOptions {
                    gpus: Some(gpus),
                    host: req.host.clone(),
                    ..SubmitOptions::default()
                },
            )
            .await?;
        let Some(job) = submitted.jobs.first() else {
            return Err(EngineError::BadOption(
                "the serving job was not queued".into(),
            ));
        };
        let mut row = ServingRow {
            id: 0,
            model: name.into(),
            stage: stage_parsed.as_str().into(),
            version: bundle.version.clone(),
            command,
            health_path,
            gpus,
            host_pin: req.host.clone().filter(|h| !h.is_empty()),
            job_id: job.id,
            created_ms: self.clock.now_ms(),
            endpoint_attempt: None,
            endpoint_address: None,
            endpoint_port: None,
            healthy_ms: None,
            stopped_ms: None,
        };
        match self
            .store
            .insert_serving(&row, live.as_ref().map(|l| l.id))
            .await
        {
            Ok(id) => row.id = id,
            Err(e) => {
                cancel_quietly(jobs, job.id).await?;
                return Err(e);
            }
        }
        tracing::info!(model = name, stage, version = %row.version, job = job.id, "serving");
        let view = self.view(row, job.clone(), jobs).await;
        bus.publish(BusEvent::Serving(Arc::new(view.clone())));
        Ok(view)
    }

    /// Stops the stage's deployment (cancels its job); the stopped view.
    pub async fn stop_serving(
        &self,
        name: &str,
        stage: &str,
        jobs: &Scheduler,
        bus: &EventBus,
    ) -> Result<ServingView, EngineError> {
        let row = self.live(name, stage).await?;
        let _serving = self.serving_lock.lock().await;
        cancel_quietly(jobs, row.job_id).await?;
        let now = self.clock.now_ms();
        self.store.stop_serving(row.id, now).await?;
        let job = jobs.job_view(row.job_id).await?;
        let row = ServingRow {
            stopped_ms: Some(now),
            ..row
        };
        let view = self.view(row, job, jobs).await;
        bus.publish(BusEvent::Serving(Arc::new(view.clone())));
        Ok(view)
    }

    /// A model's live deployments and its recent stopped ones, newest first.
    pub async fn serving_views(
        &self,
        name: &str,
        jobs: &Scheduler,
    ) -> Result<Vec<ServingView>, EngineError> {
        let rows = self.store.model_serving(name, 10).await?;
        let mut views = Vec::with_capacity(rows.len());
        let mut stopped_shown = [false; 2];
        for row in rows {
            if row.stopped_ms.is_some() {
                // Only the newest stopped one per stage.
                let slot = usize::from(row.stage == Stage::Release.as_str());
                if std::mem::replace(&mut stopped_shown[slot], true) {
                    continue;
                }
            }
            let job = jobs.job_view(row.job_id).await?;
            views.push(self.view(row, job, jobs).await);
        }
        Ok(views)
    }

    /// An agent says `at` answers its health path on `address:port`.
    pub async fn serving_reported(
        &self,
        at: AttemptRef,
        address: &str,
        port: u16,
        jobs: &Scheduler,
        bus: &EventBus,
    ) -> Result<(), EngineError> {
        let row = self
            .store
            .serving_of_job(at.job_id)
            .await?
            .ok_or(EngineError::JobNotFound(at.job_id))?;
        let job = jobs.job_view(at.job_id).await?;
        if job.attempt != at.attempt || !job.status.is_active() || row.stopped_ms.is_some() {
            return Err(EngineError::Superseded(at));
        }
        self.store
            .set_serving_endpoint(row.id, at.attempt, address, port, self.clock.now_ms())
            .await?;
        tracing::info!(model = %row.model, stage = %row.stage, job = at.job_id,
            attempt = at.attempt, "serving at {address}:{port}");
        if let Some(row) = self.store.serving_of_job(at.job_id).await? {
            let view = self.view(row, job, jobs).await;
            bus.publish(BusEvent::Serving(Arc::new(view)));
        }
        Ok(())
    }

    /// Where a request for the stage goes now.
    pub async fn serving_target(
        &self,
        name: &str,
        stage: &str,
        jobs: &Scheduler,
    ) -> Result<ServingTarget, EngineError> {
        let row = self.live(name, stage).await?;
        let job = jobs.job_view(row.job_id).await?;
        let (state, reason) = state_of(&row, &job);
        Ok(match (state, &row.endpoint_address, row.endpoint_port) {
            (ServingState::Serving, Some(address), Some(port)) => ServingTarget::Ready {
                address: address.clone(),
                port,
            },
            (ServingState::Failed | ServingState::Stopped, _, _) => {
                ServingTarget::Failed(reason.unwrap_or_else(|| "the server ended".into()))
            }
            _ => ServingTarget::Starting(reason.unwrap_or_else(|| "starting".into())),
        })
    }

    /// Adds the serve section to assignments of serving jobs.
    pub async fn attach_serve_specs(&self, response: &mut PollResponse) -> Result<(), EngineError> {
        if response.assign.is_empty() {
            return Ok(());
        }
        let _serving = self.serving_lock.lock().await;
        for assignment in &mut response.assign {
            let Some(row) = self.store.serving_of_job(assignment.job_id).await? else {
                continue;
            };
            let bundle = self.bundle(&row.model, &row.stage, &row.version).await?;
            assignment.serve = Some(ServeSpec {
                model: row.model,
                stage: row.stage,
                version: row.version,
                bundle_xxh3: bundle.xxh3,
                bundle_bytes: bundle.size,
                health_path: row.health_path,
            });
        }
        Ok(())
    }

    async fn live(&self, name: &str, stage: &str) -> Result<ServingRow, EngineError> {
        check_model_name(name)?;
        let stage: Stage = stage.parse().map_err(EngineError::StageNotFound)?;
        self.require_model(name).await?;
        self.store
            .live_serving(name, stage.as_str())
            .await?
            .ok_or_else(|| EngineError::NotServing {
                model: name.into(),
                stage: stage.as_str().into(),
            })
    }

    async fn view(&self, row: ServingRow, job: JobView, jobs: &Scheduler) -> ServingView {
        let (state, reason) = state_of(&row, &job);
        let last_lines = if state == ServingState::Failed {
            tail(jobs, job.id).await
        } else {
            Vec::new()
        };
        let current = row.endpoint_attempt == Some(job.attempt);
        let stage = row.stage.parse().unwrap_or(Stage::Dev);
        ServingView {
            id: row.id,
            url: serve_url(&row.model, stage),
            model: row.model,
            stage,
            version: row.version,
            state,
            command: row.command,
            health_path: row.health_path,
            gpus: row.gpus,
            host_pin: row.host_pin,
            job_id: job.id,
            attempt: job.attempt,
            host: job.host_id.clone(),
            endpoint: match (current, row.endpoint_address, row.endpoint_port) {
                (true, Some(a), Some(p)) => Some(format!("{a}:{p}")),
                _ => None,
            },
            created_ms: row.created_ms,
            healthy_ms: row.healthy_ms.filter(|_| current),
            stopped_ms: row.stopped_ms,
            reason,
            last_lines,
        }
    }
}

/// The deployment's state from its row and its job's status.
fn state_of(row: &ServingRow, job: &JobView) -> (ServingState, Option<String>) {
    if row.stopped_ms.is_some() {
        return (ServingState::Stopped, None);
    }
    let healthy = row.endpoint_attempt == Some(job.attempt) && row.healthy_ms.is_some();
    match job.status {
        JobStatus::Running if healthy => (ServingState::Serving, None),
        JobStatus::Queued | JobStatus::Assigned | JobStatus::Running => (
            ServingState::Starting,
            job.reason
                .clone()
                .or_else(|| job.waiting.clone())
                .or_else(|| Some(format!("waiting for {} to answer 200", row.health_path))),
        ),
        JobStatus::Lost => (ServingState::Starting, job.reason.clone()),
        JobStatus::Succeeded => (
            ServingState::Failed,
            Some("the server exited (code 0); a serving command must keep running".into()),
        ),
        JobStatus::Failed => (
            ServingState::Failed,
            job.reason
                .clone()
                .or_else(|| Some("the server failed".into())),
        ),
        JobStatus::Cancelled => (ServingState::Stopped, job.reason.clone()),
    }
}

/// Cancels a job unless it already ended.
async fn cancel_quietly(jobs: &Scheduler, job_id: i64) -> Result<(), EngineError> {
    match jobs.cancel_job(job_id).await {
        Ok(_) | Err(EngineError::JobFinished { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// The last lines of a job's latest attempt's output.
async fn tail(jobs: &Scheduler, job_id: i64) -> Vec<String> {
    let Ok(head) = jobs.read_log(job_id, None, 0, 0).await else {
        return Vec::new();
    };
    let from = head.slice.size.saturating_sub(TAIL_BYTES);
    let Ok(read) = jobs
        .read_log(
            job_id,
            Some(head.attempt.attempt),
            from,
            TAIL_BYTES as usize,
        )
        .await
    else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&read.slice.data);
    let lines: Vec<&str> = text.lines().collect();
    let skip = lines.len().saturating_sub(TAIL_LINES);
    lines[skip..].iter().map(|l| (*l).to_string()).collect()
}
