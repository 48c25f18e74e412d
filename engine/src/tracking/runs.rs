//! Runs: created by a client (a job the scheduler never sees), read as
//! MLflow shows them, updated (status, end time, name).

use std::sync::Arc;

use trainyard_core::{JobStatus, JobView, Priority};

use super::{
    check_key, invalid, short, truncated, LatestMetric, TrackedRun, TrackedStatus, Tracking,
    MAX_TAG_VALUE_CHARS, RUN_NAME_TAG,
};
use crate::error::EngineError;
use crate::events::{BusEvent, EventBus};
use crate::metrics::Metrics;
use crate::store::{JobRow, NewSweep};

/// Longest run name.
const MAX_RUN_NAME_CHARS: usize = 250;

/// What `runs/create` asks for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRun {
    pub experiment_id: i64,
    pub name: Option<String>,
    pub user_id: String,
    /// Unix ms; 0 or absent: now.
    pub start_ms: i64,
    pub tags: Vec<(String, String)>,
}

/// What `runs/update` asks for; absent fields are kept.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunUpdate {
    pub status: Option<TrackedStatus>,
    pub end_ms: Option<i64>,
    pub name: Option<String>,
}

impl Tracking {
    /// Creates a run in experiment `new.experiment_id`.
    pub async fn create_run(
        &self,
        new: NewRun,
        bus: &Arc<EventBus>,
    ) -> Result<TrackedRun, EngineError> {
        let experiment = self.experiment_row(new.experiment_id).await?;
        if experiment.lifecycle_stage != "active" {
            return Err(invalid(
                "experiment_id",
                format!(
                    "experiment {} is deleted; restore it to add runs",
                    new.experiment_id
                ),
            ));
        }
        let mut tags = Vec::with_capacity(new.tags.len() + 1);
        for (key, value) in &new.tags {
            check_key("tags.key", key)?;
            tags.push((key.clone(), truncated(value, MAX_TAG_VALUE_CHARS)));
        }
        let now = self.clock.now_ms();
        let name = new
            .name
            .filter(|n| !n.is_empty())
            .or_else(|| {
                tags.iter()
                    .find(|(k, _)| k == RUN_NAME_TAG)
                    .map(|(_, v)| v.clone())
            })
            .map(|n| truncated(&n, MAX_RUN_NAME_CHARS))
            .unwrap_or_else(|| generated_name(now));
        tags.retain(|(k, _)| k != RUN_NAME_TAG);
        tags.push((RUN_NAME_TAG.to_string(), name.clone()));
        let start = if new.start_ms > 0 { new.start_ms } else { now };
        let view = JobView {
            project: experiment.project.clone(),
            name,
            status: JobStatus::Running,
            priority: Priority::Normal,
            attempt: 1,
            created_ms: start,
            started_ms: Some(start),
            reason: Some(trainyard_core::runs::MLFLOW_RUN_REASON.into()),
            ..JobView::default()
        };
        let job = JobRow {
            view,
            config_yaml: String::new(),
        };
        let job = self
            .store
            .insert_tracked_run(
                NewSweep {
                    launch: None,
                    project: &experiment.project,
                    source_yaml: "",
                    created_ms: start,
                },
                job,
                &new.user_id,
                &tags,
            )
            .await?;
        bus.publish(BusEvent::Job(Arc::new(job.view.clone())));
        Ok(TrackedRun {
            id: job.view.id,
            name: job.view.name,
            experiment_id: experiment.id,
            user_id: new.user_id,
            status: TrackedStatus::Running,
            start_ms: start,
            end_ms: None,
            lifecycle_stage: "active".into(),
            params: Vec::new(),
            tags,
            metrics: Vec::new(),
            client_created: true,
        })
    }

    /// The stored job behind run `id`.
    pub(super) async fn run_job(&self, id: i64) -> Result<JobRow, EngineError> {
        self.store
            .job(id)
            .await?
            .ok_or(EngineError::JobNotFound(id))
    }

    /// Run `id` as MLflow shows it (archived: `deleted`).
    pub async fn run(&self, id: i64, metrics: &Metrics) -> Result<TrackedRun, EngineError> {
        let job = self.run_job(id).await?;
        let deleted = self.store.is_archived(id).await?;
        self.tracked(job, metrics, deleted).await
    }

    pub(super) async fn tracked(
        &self,
        job: JobRow,
        metrics: &Metrics,
        deleted: bool,
    ) -> Result<TrackedRun, EngineError> {
        let view = job.view;
        let experiment = self
            .store
            .number_project(&view.project, self.clock.now_ms())
            .await?;
        let user = self.store.tracked_run_user(view.id).await?;
        let mut tags = self.store.run_tags(view.id).await?;
        if !tags.iter().any(|(k, _)| k == RUN_NAME_TAG) {
            tags.push((RUN_NAME_TAG.to_string(), view.name.clone()));
        }
        let latest = metrics
            .keys(view.id)
            .await?
            .into_iter()
            .map(|m| LatestMetric {
                key: m.key,
                value: m.last,
                step: m.last_step as i64,
                timestamp_ms: m.updated_ms,
            })
            .collect();
        Ok(TrackedRun {
            id: view.id,
            name: view.name,
            experiment_id: experiment.id,
            user_id: user.clone().unwrap_or_default(),
            status: TrackedStatus::of_job(view.status),
            start_ms: view.started_ms.unwrap_or(view.created_ms),
            end_ms: view.finished_ms,
            lifecycle_stage: if deleted { "deleted" } else { "active" }.into(),
            params: view.params,
            tags,
            metrics: latest,
            client_created: user.is_some(),
        })
    }

    /// Updates run `id`. Status and end time apply to runs a client
    /// created; a job the queue runs keeps the status its agent reports
    /// (a script's `end_run` must not finish a job that is still running).
    pub async fn update_run(
        &self,
        id: i64,
        update: RunUpdate,
        bus: &Arc<EventBus>,
    ) -> Result<(), EngineError> {
        let _writing = self.writes.lock().await;
        let mut job = self.run_job(id).await?;
        let client_created = self.store.tracked_run_user(id).await?.is_some();
        if let Some(name) = update.name.filter(|n| !n.is_empty()) {
            let name = truncated(&name, MAX_RUN_NAME_CHARS);
            self.store
                .save_tracked_fields(
                    id,
                    None,
                    &[(RUN_NAME_TAG.to_string(), name.clone())],
                    Some(&name),
                )
                .await?;
            job.view.name = name;
        }
        if client_created {
            if let Some(status) = update.status {
                let view = &mut job.view;
                view.status = status.job_status();
                if status == TrackedStatus::Running || status == TrackedStatus::Scheduled {
                    view.finished_ms = None;
                    view.duration_ms = None;
                } else {
                    let end = update
                        .end_ms
                        .filter(|e| *e > 0)
                        .unwrap_or_else(|| self.clock.now_ms());
                    view.finished_ms = Some(end);
                    view.duration_ms = view.started_ms.map(|s| (end - s).max(0));
                }
                self.store.update_tracked_status(&job).await?;
            }
        }
        bus.publish(BusEvent::Job(Arc::new(job.view)));
        Ok(())
    }

    /// Deletes tag `key` of run `id`; MLflow answers an unknown key with
    /// RESOURCE_DOES_NOT_EXIST.
    pub async fn delete_run_tag(&self, id: i64, key: &str) -> Result<(), EngineError> {
        check_key("key", key)?;
        self.run_job(id).await?;
        if !self.store.delete_run_tag(id, key).await? {
            return Err(EngineError::RunTagNotFound {
                run: id,
                key: short(key),
            });
        }
        Ok(())
    }
}

/// `brave-otter-417`: a name for a run that was given none.
fn generated_name(seed: i64) -> String {
    const ADJECTIVES: [&str; 16] = [
        "amber", "brave", "calm", "deft", "eager", "fond", "gentle", "hardy", "keen", "lucid",
        "merry", "nimble", "quiet", "rapid", "sunny", "witty",
    ];
    const NOUNS: [&str; 16] = [
        "otter", "heron", "lynx", "finch", "badger", "koala", "ibex", "marten", "newt", "owl",
        "panda", "quail", "raven", "seal", "tapir", "wren",
    ];
    let x = xxhash_rust::xxh3::xxh3_64(&seed.to_le_bytes());
    format!(
        "{}-{}-{}",
        ADJECTIVES[(x % 16) as usize],
        NOUNS[((x >> 8) % 16) as usize],
        (x >> 16) % 1000
    )
}
