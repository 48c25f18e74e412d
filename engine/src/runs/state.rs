//! Where a run ran and whether the server has all of its files (the seed's
//! `server_origin` and `sync_status`), and one run's whole detail.
//!
//! The sync state is derived, never stored: from the job's status, whether
//! its current attempt was ended by its agent's own report (agents send
//! `finished` only after a final pass found every file identical), and the
//! health of its host right now.

use trainyard_core::runs::{
    lower_is_better, RunDetail, RunFilesSummary, RunMetric, RunNotes, RunOrigin, RunState, RunSync,
    StepValue, MAX_DETAIL_FILES,
};
use trainyard_core::{HostHealth, JobStatus};

use super::{Results, RunFileSources};
use crate::error::EngineError;
use crate::hosts::Hosts;
use crate::metrics::Metrics;
use crate::store::RunFacts;

impl Results {
    /// A run's archive state, origin and sync state.
    pub(super) fn state_of(&self, facts: &RunFacts, hosts: &Hosts) -> RunState {
        derive_state(facts, self.local_host_id.as_deref(), |host| {
            hosts.view(host).map(|(_, health)| health)
        })
    }

    /// The facts of run `job_id`, or `JobNotFound`.
    async fn require_facts(&self, job_id: i64) -> Result<(RunFacts, String), EngineError> {
        self.store
            .run_facts(job_id)
            .await?
            .ok_or(EngineError::JobNotFound(job_id))
    }

    /// Run `job_id`'s archive state, origin and sync state.
    pub async fn run_state(&self, job_id: i64, hosts: &Hosts) -> Result<RunState, EngineError> {
        let (facts, _) = self.require_facts(job_id).await?;
        Ok(self.state_of(&facts, hosts))
    }

    /// Run `job_id`'s notes and tags.
    pub async fn run_notes(&self, job_id: i64) -> Result<RunNotes, EngineError> {
        Ok(self.require_facts(job_id).await?.0.notes)
    }

    /// The newest run named `name` in `project`, or `RunNotFound`.
    pub async fn run_id_by_name(&self, project: &str, name: &str) -> Result<i64, EngineError> {
        self.store
            .run_id_by_name(project, name)
            .await?
            .ok_or_else(|| EngineError::RunNotFound {
                project: project.chars().take(200).collect(),
                name: name.chars().take(200).collect(),
            })
    }

    /// Everything about run `job_id`: the job and its config, each metric's
    /// last and best value, notes and tags, its files, and its state.
    pub async fn run_detail(
        &self,
        job_id: i64,
        hosts: &Hosts,
        metrics: &Metrics,
        from: &RunFileSources<'_>,
    ) -> Result<RunDetail, EngineError> {
        let (facts, config_yaml) = self.require_facts(job_id).await?;
        let state = self.state_of(&facts, hosts);
        let mut run_metrics = Vec::new();
        for summary in metrics.keys(job_id).await? {
            if summary.count == 0 {
                continue;
            }
            let lower = lower_is_better(&summary.key);
            let extreme = if lower { summary.min } else { summary.max };
            let best = self
                .step_of_extreme(metrics, job_id, &summary.key, extreme, lower)
                .await?;
            run_metrics.push(RunMetric {
                last: StepValue {
                    step: summary.last_step,
                    value: summary.last,
                },
                best,
                lower_is_better: lower,
                count: summary.count,
                key: summary.key,
            });
        }
        let listed = self.run_files(job_id, from).await?;
        let files = RunFilesSummary {
            count: listed.len() as u64,
            bytes: listed.iter().map(|f| f.size).sum(),
            files: listed
                .into_iter()
                .take(MAX_DETAIL_FILES)
                .map(|f| (f.path, f.size))
                .collect(),
        };
        Ok(RunDetail {
            job: facts.job,
            config_yaml,
            metrics: run_metrics,
            notes: facts.notes,
            files,
            state,
        })
    }
}

/// The rule, apart from where host health comes from.
fn derive_state(
    facts: &RunFacts,
    local_host_id: Option<&str>,
    health: impl Fn(&str) -> Option<HostHealth>,
) -> RunState {
    let mut state = RunState {
        archived_ms: facts.archived_ms,
        ..RunState::default()
    };
    if facts.imported {
        state.server_origin = Some(RunOrigin::Imported);
        state.sync_status = Some(RunSync::Synced);
        return state;
    }
    if facts.tracked {
        // Logged call by call straight to the server: nothing is elsewhere.
        state.server_origin = Some(RunOrigin::Mlflow);
        state.sync_status = Some(RunSync::Synced);
        return state;
    }
    let job = &facts.job;
    // A job waiting for (another) attempt has nothing in flight.
    let Some(host_id) = job.host_id.clone().filter(|_| job.attempt > 0) else {
        return state;
    };
    if job.status == JobStatus::Queued {
        return state;
    }
    let reachable = health(&host_id) == Some(HostHealth::Healthy);
    state.server_origin = Some(if local_host_id == Some(host_id.as_str()) {
        RunOrigin::Local { host_id }
    } else {
        RunOrigin::Remote { host_id }
    });
    state.sync_status = Some(if job.status.is_final() {
        // Reported by its agent after the final sync pass: complete.
        if facts.attempt_status == Some(job.status) {
            RunSync::Synced
        } else {
            RunSync::Outdated
        }
    } else if reachable {
        RunSync::Syncing
    } else {
        RunSync::Outdated
    });
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::JobView;

    fn facts(status: JobStatus, attempt_status: Option<JobStatus>, host: Option<&str>) -> RunFacts {
        RunFacts {
            job: JobView {
                id: 1,
                status,
                attempt: u32::from(host.is_some()),
                host_id: host.map(String::from),
                ..JobView::default()
            },
            notes: RunNotes::default(),
            archived_ms: None,
            attempt_status,
            imported: false,
            tracked: false,
        }
    }

    fn sync(f: &RunFacts, health: Option<HostHealth>) -> (Option<String>, Option<RunSync>) {
        let s = derive_state(f, Some("box"), |_| health);
        (
            s.server_origin.map(|o| o.label().to_string()),
            s.sync_status,
        )
    }

    #[test]
    fn sync_state_follows_the_report_and_the_host() {
        use HostHealth::*;
        use JobStatus::*;
        // Never ran: no origin, no sync state.
        assert_eq!(sync(&facts(Queued, None, None), None), (None, None));
        // Running on a healthy remote host: syncing; its host gone: outdated.
        let running = facts(Running, Some(Running), Some("gpu1"));
        assert_eq!(
            sync(&running, Some(Healthy)),
            (Some("gpu1".into()), Some(RunSync::Syncing))
        );
        assert_eq!(sync(&running, Some(Stale)).1, Some(RunSync::Outdated));
        assert_eq!(
            sync(&running, Some(Disconnected)).1,
            Some(RunSync::Outdated)
        );
        assert_eq!(sync(&running, None).1, Some(RunSync::Outdated));
        // Lost with its host up: its agent may still report.
        assert_eq!(
            sync(&facts(Lost, Some(Lost), Some("gpu1")), Some(Healthy)).1,
            Some(RunSync::Syncing)
        );
        // Ended by its agent's report: synced, whatever the host does now.
        let done = facts(Succeeded, Some(Succeeded), Some("box"));
        assert_eq!(
            sync(&done, Some(Disconnected)),
            (Some("local".into()), Some(RunSync::Synced))
        );
        // Cancelled while lost: no final report, so files may be missing.
        assert_eq!(
            sync(&facts(Cancelled, Some(Lost), Some("gpu1")), Some(Healthy)).1,
            Some(RunSync::Outdated)
        );
        let mut imported = facts(Succeeded, None, None);
        imported.imported = true;
        assert_eq!(
            sync(&imported, None),
            (Some("imported".into()), Some(RunSync::Synced))
        );
        // Created by an MLflow client: each call's data is already here.
        let mut tracked = facts(Running, None, None);
        tracked.tracked = true;
        assert_eq!(
            sync(&tracked, None),
            (Some("mlflow".into()), Some(RunSync::Synced))
        );
    }
}
