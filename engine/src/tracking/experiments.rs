//! Experiments: every project is one, numbered the first time a client
//! asks; creating one names a project before it has runs.

use trainyard_core::config::name_problem;

use super::filter::{Filter, Subject};
use super::{
    check_key, invalid, short, truncated, Experiment, Tracking, DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
};
use crate::error::EngineError;
use crate::jobs::DEFAULT_PROJECT;
use crate::store::ExperimentRow;

/// Longest experiment tag value (MLflow's limit).
const MAX_EXPERIMENT_TAG_CHARS: usize = 20_000;

/// An experiment's name as clients see it.
pub(super) fn experiment_name(row: &ExperimentRow) -> String {
    if row.id == DEFAULT_EXPERIMENT_ID {
        DEFAULT_EXPERIMENT_NAME.to_string()
    } else {
        row.project.clone()
    }
}

/// The project an experiment name stands for.
fn project_of_name(name: &str) -> &str {
    if name == DEFAULT_EXPERIMENT_NAME {
        DEFAULT_PROJECT
    } else {
        name
    }
}

/// Parses an experiment id from the wire (`"3"`).
pub fn parse_experiment_id(text: &str) -> Result<i64, EngineError> {
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| EngineError::ExperimentNotFound(short(text)))
}

impl Tracking {
    async fn full(&self, row: ExperimentRow) -> Result<Experiment, EngineError> {
        Ok(Experiment {
            name: experiment_name(&row),
            tags: self.store.experiment_tags(row.id).await?,
            id: row.id,
            lifecycle_stage: row.lifecycle_stage,
            created_ms: row.created_ms,
            updated_ms: row.updated_ms,
        })
    }

    /// Experiment `id`, or `ExperimentNotFound`.
    pub async fn experiment(&self, id: i64) -> Result<Experiment, EngineError> {
        let row = self
            .store
            .experiment_by_id(id)
            .await?
            .ok_or_else(|| EngineError::ExperimentNotFound(id.to_string()))?;
        self.full(row).await
    }

    /// The experiment row of `id`, or `ExperimentNotFound`.
    pub(super) async fn experiment_row(&self, id: i64) -> Result<ExperimentRow, EngineError> {
        self.store
            .experiment_by_id(id)
            .await?
            .ok_or_else(|| EngineError::ExperimentNotFound(id.to_string()))
    }

    /// The experiment named `name`: a project with runs, or one created
    /// through the API; else `ExperimentNotFound`.
    pub async fn experiment_by_name(&self, name: &str) -> Result<Experiment, EngineError> {
        let project = project_of_name(name);
        if let Some(row) = self.store.experiment_by_project(project).await? {
            return self.full(row).await;
        }
        if self
            .store
            .job_ids_of_projects(&[project.to_string()])
            .await?
            .is_empty()
        {
            return Err(EngineError::ExperimentNotFound(short(name)));
        }
        let row = self
            .store
            .number_project(project, self.clock.now_ms())
            .await?;
        self.full(row).await
    }

    /// Creates experiment `name` (a project with no runs yet).
    pub async fn create_experiment(
        &self,
        name: &str,
        tags: &[(String, String)],
    ) -> Result<i64, EngineError> {
        check_experiment_name(name)?;
        for (key, _) in tags {
            check_key("tags.key", key)?;
        }
        let _writing = self.writes.lock().await;
        if self.experiment_by_name(name).await.is_ok() {
            return Err(EngineError::ExperimentExists(short(name)));
        }
        let row = self
            .store
            .number_project(project_of_name(name), self.clock.now_ms())
            .await?;
        for (key, value) in tags {
            let value = truncated(value, MAX_EXPERIMENT_TAG_CHARS);
            self.store
                .set_experiment_tag(row.id, key, Some(&value))
                .await?;
        }
        Ok(row.id)
    }

    /// Every experiment (every project) matching `filter`, by id.
    pub async fn experiments(
        &self,
        include_active: bool,
        include_deleted: bool,
        filter: &str,
    ) -> Result<Vec<Experiment>, EngineError> {
        let filter = Filter::parse(filter).map_err(|e| invalid("filter", e.0))?;
        let rows = self.store.number_all_projects(self.clock.now_ms()).await?;
        let mut out = Vec::new();
        for row in rows {
            let deleted = row.lifecycle_stage == "deleted";
            if (deleted && !include_deleted) || (!deleted && !include_active) {
                continue;
            }
            let experiment = self.full(row).await?;
            if filter
                .matches(&ExperimentSubject(&experiment))
                .map_err(|e| invalid("filter", e.0))?
            {
                out.push(experiment);
            }
        }
        Ok(out)
    }

    /// Renames experiment `id`: its project, and with it its runs.
    pub async fn rename_experiment(&self, id: i64, new_name: &str) -> Result<(), EngineError> {
        check_experiment_name(new_name)?;
        if id == DEFAULT_EXPERIMENT_ID {
            return Err(invalid(
                "experiment_id",
                "the Default experiment cannot be renamed",
            ));
        }
        let _writing = self.writes.lock().await;
        let row = self.experiment_row(id).await?;
        if row.project == new_name {
            return Ok(());
        }
        if self.experiment_by_name(new_name).await.is_ok() {
            return Err(EngineError::ExperimentExists(short(new_name)));
        }
        self.store
            .rename_experiment(id, &row.project, new_name, self.clock.now_ms())
            .await
    }

    /// Marks experiment `id` deleted or active again.
    pub async fn set_experiment_deleted(&self, id: i64, deleted: bool) -> Result<(), EngineError> {
        if id == DEFAULT_EXPERIMENT_ID && deleted {
            return Err(invalid(
                "experiment_id",
                "the Default experiment cannot be deleted",
            ));
        }
        self.experiment_row(id).await?;
        let stage = if deleted { "deleted" } else { "active" };
        self.store
            .set_experiment_stage(id, stage, self.clock.now_ms())
            .await
    }

    /// Sets (`Some`) or deletes (`None`) a tag of experiment `id`.
    pub async fn set_experiment_tag(
        &self,
        id: i64,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), EngineError> {
        check_key("key", key)?;
        self.experiment_row(id).await?;
        let value = value.map(|v| truncated(v, MAX_EXPERIMENT_TAG_CHARS));
        self.store
            .set_experiment_tag(id, key, value.as_deref())
            .await
    }
}

fn check_experiment_name(name: &str) -> Result<(), EngineError> {
    if name == DEFAULT_EXPERIMENT_NAME {
        return Ok(());
    }
    if let Some(problem) = name_problem(name) {
        return Err(invalid(
            "name",
            format!(
                "experiment name {:?} {problem} (it names a Trainyard project)",
                short(name)
            ),
        ));
    }
    Ok(())
}

/// An experiment as the filter language sees it.
struct ExperimentSubject<'a>(&'a Experiment);

impl Subject for ExperimentSubject<'_> {
    fn attribute(&self, name: &str) -> Option<super::filter::Value> {
        use super::filter::Value;
        let e = self.0;
        match name {
            "name" => Some(Value::Text(e.name.clone())),
            "experiment_id" => Some(Value::Text(e.id.to_string())),
            "creation_time" => Some(Value::Number(e.created_ms as f64)),
            "last_update_time" => Some(Value::Number(e.updated_ms as f64)),
            "lifecycle_stage" => Some(Value::Text(e.lifecycle_stage.clone())),
            _ => None,
        }
    }
    fn tag(&self, key: &str) -> Option<String> {
        self.0
            .tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
    fn param(&self, _key: &str) -> Option<String> {
        None
    }
    fn metric(&self, _key: &str) -> Option<f64> {
        None
    }
    fn known_attribute(&self, name: &str) -> bool {
        matches!(
            name,
            "name" | "experiment_id" | "creation_time" | "last_update_time" | "lifecycle_stage"
        )
    }
}
