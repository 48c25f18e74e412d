//! MLflow's model registry over this one (docs/tracking.md, "Model
//! registry"). A registered model is a model; MLflow's version N is the
//! model's **dev** version named `v000N` (`auto_version(N)`), so versions
//! an MLflow client registers are ordinary dev versions, and dev versions
//! with other names (`1.2.0`, `v7`) and release versions are not listed to
//! MLflow. Descriptions, tags, aliases and MLflow's stage labels are kept
//! beside the registry (migration 0016). Moving a version to `Production`
//! promotes it to release and points release's LATEST at it; other stage
//! labels and aliases move nothing in Trainyard.

use trainyard_core::models::{
    auto_number, auto_version, ModelSource, PromoteRequest, Stage, MAX_NOTES_CHARS,
};

use super::from_run::{RunDir, RunVersion};
use super::{check_model_name, Models, RunSide};
use crate::error::EngineError;
use crate::store::{ModelAnnotations, ModelVersionRow, VersionColumn};
use crate::tracking::filter::{Filter, Subject, Value};

/// Longest alias (MLflow's limit).
pub const MAX_ALIAS_CHARS: usize = 255;
/// Longest registry tag value (MLflow's limit).
pub const MAX_REGISTRY_TAG_VALUE_CHARS: usize = 100_000;
/// Longest registry tag key (MLflow's limit).
pub const MAX_REGISTRY_TAG_KEY_CHARS: usize = 250;
/// The tag MLflow's client filters prompts out with; models never are.
const IS_PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

/// An MLflow stage label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MlflowStage {
    None,
    Staging,
    Production,
    Archived,
}

impl MlflowStage {
    pub const ALL: [MlflowStage; 4] = [
        MlflowStage::None,
        MlflowStage::Staging,
        MlflowStage::Production,
        MlflowStage::Archived,
    ];

    pub fn label(self) -> &'static str {
        match self {
            MlflowStage::None => "None",
            MlflowStage::Staging => "Staging",
            MlflowStage::Production => "Production",
            MlflowStage::Archived => "Archived",
        }
    }

    /// A stage name in any case (MLflow canonicalises them).
    pub fn parse(text: &str) -> Option<MlflowStage> {
        MlflowStage::ALL
            .into_iter()
            .find(|s| s.label().eq_ignore_ascii_case(text.trim()))
    }
}

/// MLflow's version number of a dev version name: `v0007` → 7; `None` for
/// names MLflow does not see (`1.2.0`, `v7`).
pub fn mlflow_number(version: &str) -> Option<u64> {
    auto_number(version).filter(|n| *n > 0 && auto_version(*n) == version)
}

/// A model as MLflow's registry shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    pub name: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub description: String,
    pub tags: Vec<(String, String)>,
    /// `(alias, MLflow version number)`.
    pub aliases: Vec<(String, u64)>,
    /// The numbered dev versions, oldest first.
    pub versions: Vec<RegisteredVersion>,
}

impl RegisteredModel {
    /// The highest-numbered version of each stage label that has one.
    pub fn latest_versions(&self, stages: &[MlflowStage]) -> Vec<RegisteredVersion> {
        let wanted: &[MlflowStage] = if stages.is_empty() {
            &MlflowStage::ALL
        } else {
            stages
        };
        wanted
            .iter()
            .filter_map(|stage| {
                self.versions
                    .iter()
                    .filter(|v| v.stage == *stage)
                    .max_by_key(|v| v.number)
                    .cloned()
            })
            .collect()
    }

    fn version(&self, number: u64) -> Result<&RegisteredVersion, EngineError> {
        self.versions
            .iter()
            .find(|v| v.number == number)
            .ok_or_else(|| EngineError::MlflowVersionNotFound {
                model: self.name.clone(),
                number,
            })
    }
}

/// A dev version as MLflow's registry shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredVersion {
    pub model: String,
    /// MLflow's version number.
    pub number: u64,
    /// Trainyard's name for it (`v0001`), in stage dev.
    pub version: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub description: String,
    pub stage: MlflowStage,
    /// The source URI the client gave; `None` for versions registered
    /// through Trainyard's own API.
    pub source: Option<String>,
    /// The run its files came from.
    pub run_id: Option<i64>,
    pub registered_by: String,
    pub tags: Vec<(String, String)>,
    pub aliases: Vec<String>,
}

/// A version an MLflow client registers from a run's artifacts.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMlflowVersion {
    pub job_id: i64,
    /// The run-file directory (or file) whose content becomes the payload.
    pub dir: String,
    /// The source URI as the client sent it.
    pub source: String,
    pub description: String,
    pub tags: Vec<(String, String)>,
}

/// The run a version's files came from (a promotion: its origin's).
fn run_of(source: &ModelSource) -> Option<i64> {
    match source {
        ModelSource::Run { job_id, .. } => Some(*job_id),
        ModelSource::Promotion { origin, .. } => run_of(origin),
        ModelSource::Upload => None,
    }
}

fn registered(
    name: &str,
    created_ms: i64,
    rows: &[ModelVersionRow],
    ann: &ModelAnnotations,
) -> RegisteredModel {
    let alias_numbers: Vec<(String, u64)> = ann
        .aliases
        .iter()
        .filter_map(|(alias, v)| mlflow_number(v).map(|n| (alias.clone(), n)))
        .collect();
    let versions: Vec<RegisteredVersion> = rows
        .iter()
        .filter(|r| r.view.stage == Stage::Dev)
        .filter_map(|r| {
            let number = mlflow_number(&r.view.version)?;
            let meta = ann
                .versions
                .get(&r.view.version)
                .cloned()
                .unwrap_or_default();
            Some(RegisteredVersion {
                model: name.to_string(),
                number,
                version: r.view.version.clone(),
                created_ms: r.view.created_ms,
                updated_ms: meta
                    .updated_ms
                    .unwrap_or(r.view.created_ms)
                    .max(r.view.created_ms),
                description: meta.description.unwrap_or_else(|| r.view.notes.clone()),
                stage: meta
                    .stage
                    .as_deref()
                    .and_then(MlflowStage::parse)
                    .unwrap_or(MlflowStage::None),
                source: meta.source,
                run_id: run_of(&r.view.source),
                registered_by: r.view.registered_by.clone(),
                tags: meta.tags,
                aliases: alias_numbers
                    .iter()
                    .filter(|(_, n)| *n == number)
                    .map(|(a, _)| a.clone())
                    .collect(),
            })
        })
        .collect();
    let updated_ms = versions
        .iter()
        .map(|v| v.updated_ms)
        .chain(ann.updated_ms)
        .chain([created_ms])
        .max()
        .unwrap_or(created_ms);
    RegisteredModel {
        name: name.to_string(),
        created_ms,
        updated_ms,
        description: ann.description.clone(),
        tags: ann.tags.clone(),
        aliases: alias_numbers,
        versions,
    }
}

fn invalid(field: &str, message: impl Into<String>) -> EngineError {
    EngineError::ModelInvalid {
        field: field.to_string(),
        message: message.into(),
    }
}

fn check_description(description: &str) -> Result<(), EngineError> {
    if description.chars().count() > MAX_NOTES_CHARS {
        return Err(invalid(
            "description",
            format!("at most {MAX_NOTES_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A registry tag: key 1–250 characters without control characters,
/// value at most 100,000 characters (MLflow's limits).
pub fn check_tag(field: &str, key: &str, value: Option<&str>) -> Result<(), EngineError> {
    if key.is_empty() || key.chars().count() > MAX_REGISTRY_TAG_KEY_CHARS {
        return Err(invalid(
            field,
            format!("a tag key is 1 to {MAX_REGISTRY_TAG_KEY_CHARS} characters"),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(invalid(field, "a tag key has no control characters"));
    }
    if value.is_some_and(|v| v.chars().count() > MAX_REGISTRY_TAG_VALUE_CHARS) {
        return Err(invalid(
            field,
            format!("tag {key:?}: the value is over {MAX_REGISTRY_TAG_VALUE_CHARS} characters"),
        ));
    }
    Ok(())
}

/// An alias: 1–255 characters, no `/`, `@` or control characters, not
/// `latest` nor `v<digits>` (MLflow reserves those: `models:/m/latest`,
/// version names).
pub fn check_alias(alias: &str) -> Result<(), EngineError> {
    let bad = |m: &str| Err(invalid("alias", format!("{alias:?}: {m}")));
    if alias.is_empty() || alias.chars().count() > MAX_ALIAS_CHARS {
        return bad(&format!("an alias is 1 to {MAX_ALIAS_CHARS} characters"));
    }
    if alias
        .chars()
        .any(|c| c.is_control() || c == '/' || c == '@')
    {
        return bad("'/', '@' and control characters are not allowed");
    }
    if alias.eq_ignore_ascii_case("latest") {
        return bad("\"latest\" is reserved (models:/<name>/latest)");
    }
    let lower = alias.to_ascii_lowercase();
    if let Some(digits) = lower.strip_prefix('v') {
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return bad("v<number> is reserved for version names");
        }
    }
    Ok(())
}

fn filter_of(text: &str) -> Result<Filter, EngineError> {
    Filter::parse(text).map_err(|e| EngineError::TrackingInvalid {
        field: "filter".into(),
        message: e.0,
    })
}

fn matched(filter: &Filter, subject: &dyn Subject) -> Result<bool, EngineError> {
    filter
        .matches(subject)
        .map_err(|e| EngineError::TrackingInvalid {
            field: "filter".into(),
            message: e.0,
        })
}

fn tag_value(tags: &[(String, String)], key: &str) -> Option<String> {
    match tags.iter().find(|(k, _)| k == key) {
        Some((_, v)) => Some(v.clone()),
        None if key == IS_PROMPT_TAG => Some("false".into()),
        None => None,
    }
}

impl Subject for RegisteredModel {
    fn attribute(&self, name: &str) -> Option<Value> {
        Some(match name {
            "name" => Value::Text(self.name.clone()),
            "description" => Value::Text(self.description.clone()),
            "creation_timestamp" => Value::Number(self.created_ms as f64),
            "last_updated_timestamp" => Value::Number(self.updated_ms as f64),
            _ => return None,
        })
    }
    fn known_attribute(&self, name: &str) -> bool {
        matches!(
            name,
            "name" | "description" | "creation_timestamp" | "last_updated_timestamp"
        )
    }
    fn tag(&self, key: &str) -> Option<String> {
        tag_value(&self.tags, key)
    }
    fn param(&self, _: &str) -> Option<String> {
        None
    }
    fn metric(&self, _: &str) -> Option<f64> {
        None
    }
}

impl Subject for RegisteredVersion {
    fn attribute(&self, name: &str) -> Option<Value> {
        Some(match name {
            "name" => Value::Text(self.model.clone()),
            "version_number" | "version" => Value::Number(self.number as f64),
            "run_id" => Value::Text(self.run_id?.to_string()),
            "source_path" | "source" => Value::Text(self.source.clone()?),
            "current_stage" => Value::Text(self.stage.label().into()),
            "description" => Value::Text(self.description.clone()),
            "creation_timestamp" => Value::Number(self.created_ms as f64),
            "last_updated_timestamp" => Value::Number(self.updated_ms as f64),
            _ => return None,
        })
    }
    fn known_attribute(&self, name: &str) -> bool {
        matches!(
            name,
            "name"
                | "version_number"
                | "version"
                | "run_id"
                | "source_path"
                | "source"
                | "current_stage"
                | "description"
                | "creation_timestamp"
                | "last_updated_timestamp"
        )
    }
    fn tag(&self, key: &str) -> Option<String> {
        tag_value(&self.tags, key)
    }
    fn param(&self, _: &str) -> Option<String> {
        None
    }
    fn metric(&self, _: &str) -> Option<f64> {
        None
    }
}

impl Models {
    /// Model `name` as MLflow's registry shows it.
    pub async fn registered_model(&self, name: &str) -> Result<RegisteredModel, EngineError> {
        check_model_name(name)?;
        let created_ms = self
            .store
            .model_created(name)
            .await?
            .ok_or_else(|| EngineError::ModelNotFound(name.to_string()))?;
        let rows = self.store.model_versions(name).await?;
        let ann = self.store.model_annotations(name).await?;
        Ok(registered(name, created_ms, &rows, &ann))
    }

    /// The models `filter` (MLflow's search language: `name`,
    /// `tags.<key>`, …) matches, by name.
    pub async fn search_registered_models(
        &self,
        filter: &str,
    ) -> Result<Vec<RegisteredModel>, EngineError> {
        let filter = filter_of(filter)?;
        let mut out = Vec::new();
        for summary in self.store.list_models().await? {
            let model = self.registered_model(&summary.name).await?;
            if matched(&filter, &model)? {
                out.push(model);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The versions `filter` (`name = 'm'`, `run_id = '42'`, …) matches:
    /// by model name, then newest version first.
    pub async fn search_registered_versions(
        &self,
        filter: &str,
    ) -> Result<Vec<RegisteredVersion>, EngineError> {
        let filter = filter_of(filter)?;
        let mut out = Vec::new();
        for summary in self.store.list_models().await? {
            let model = self.registered_model(&summary.name).await?;
            for v in model.versions.into_iter().rev() {
                if matched(&filter, &v)? {
                    out.push(v);
                }
            }
        }
        out.sort_by(|a, b| a.model.cmp(&b.model).then(b.number.cmp(&a.number)));
        Ok(out)
    }

    /// Creates model `name` with no versions (`ModelExists` if it exists).
    pub async fn create_registered_model(
        &self,
        name: &str,
        description: &str,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, EngineError> {
        check_model_name(name)?;
        check_description(description)?;
        for (i, (key, value)) in tags.iter().enumerate() {
            check_tag(&format!("tags[{i}]"), key, Some(value))?;
        }
        let lock = self.lock_of(name);
        let _held = lock.lock().await;
        if !self
            .store
            .create_model(name, description, tags, self.clock.now_ms())
            .await?
        {
            return Err(EngineError::ModelExists(name.to_string()));
        }
        drop(_held);
        self.registered_model(name).await
    }

    /// Deletes model `name` if it has no versions (versions are never
    /// deleted, so a model with one stays: `ModelHasVersions`).
    pub async fn delete_registered_model(&self, name: &str) -> Result<(), EngineError> {
        self.registered_model(name).await?;
        let lock = self.lock_of(name);
        let _held = lock.lock().await;
        if self.store.delete_empty_model(name).await? {
            Ok(())
        } else {
            Err(EngineError::ModelHasVersions(name.to_string()))
        }
    }

    pub async fn describe_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel, EngineError> {
        check_description(description)?;
        self.registered_model(name).await?;
        self.store
            .set_model_description(name, description, self.clock.now_ms())
            .await?;
        self.registered_model(name).await
    }

    /// Sets (`Some`) or deletes (`None`) a model's tag.
    pub async fn tag_registered_model(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), EngineError> {
        check_tag("key", key, value)?;
        self.registered_model(name).await?;
        if !self.store.set_model_tag(name, key, value).await? && value.is_none() {
            return Err(EngineError::ModelInvalid {
                field: "key".into(),
                message: format!("model {name:?} has no tag {key:?}"),
            });
        }
        Ok(())
    }

    /// Version `number` of model `name`.
    pub async fn registered_version(
        &self,
        name: &str,
        number: u64,
    ) -> Result<RegisteredVersion, EngineError> {
        let model = self.registered_model(name).await?;
        model.version(number).cloned()
    }

    pub async fn describe_registered_version(
        &self,
        name: &str,
        number: u64,
        description: &str,
    ) -> Result<RegisteredVersion, EngineError> {
        check_description(description)?;
        let v = self.registered_version(name, number).await?;
        self.store
            .set_model_version_meta(
                name,
                &v.version,
                VersionColumn::Description,
                description,
                self.clock.now_ms(),
            )
            .await?;
        self.registered_version(name, number).await
    }

    /// Sets (`Some`) or deletes (`None`) a version's tag.
    pub async fn tag_registered_version(
        &self,
        name: &str,
        number: u64,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), EngineError> {
        check_tag("key", key, value)?;
        let v = self.registered_version(name, number).await?;
        if !self
            .store
            .set_model_version_tag(name, &v.version, key, value)
            .await?
            && value.is_none()
        {
            return Err(EngineError::ModelInvalid {
                field: "key".into(),
                message: format!("model {name:?} version {number} has no tag {key:?}"),
            });
        }
        Ok(())
    }

    /// Points `alias` at version `number` (moving it if it pointed
    /// elsewhere). Labels only: no stage or LATEST moves.
    pub async fn set_registered_alias(
        &self,
        name: &str,
        alias: &str,
        number: u64,
    ) -> Result<(), EngineError> {
        check_alias(alias)?;
        let v = self.registered_version(name, number).await?;
        self.store
            .set_model_alias(name, alias, &v.version, self.clock.now_ms())
            .await
    }

    pub async fn delete_registered_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<(), EngineError> {
        self.registered_model(name).await?;
        if self.store.delete_model_alias(name, alias).await? {
            Ok(())
        } else {
            Err(EngineError::ModelAliasNotFound {
                model: name.to_string(),
                alias: alias.to_string(),
            })
        }
    }

    /// The version `alias` names.
    pub async fn registered_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<RegisteredVersion, EngineError> {
        let model = self.registered_model(name).await?;
        let (_, number) = model
            .aliases
            .iter()
            .find(|(a, _)| a == alias)
            .ok_or_else(|| EngineError::ModelAliasNotFound {
                model: name.to_string(),
                alias: alias.to_string(),
            })?;
        model.version(*number).cloned()
    }

    /// Labels version `number` with `stage`; with `archive_existing`, the
    /// other versions labelled `stage` become `Archived`. `Production` also
    /// puts the version in release (promoting it, unless a release version
    /// was already promoted from it) and points release's LATEST there.
    pub async fn transition_registered_version(
        &self,
        name: &str,
        number: u64,
        stage: MlflowStage,
        archive_existing: bool,
        registered_by: &str,
    ) -> Result<RegisteredVersion, EngineError> {
        let v = self.registered_version(name, number).await?;
        if stage == MlflowStage::Production {
            let promoted = self
                .store
                .model_versions(name)
                .await?
                .into_iter()
                .filter(|r| r.view.stage == Stage::Release)
                .find(|r| {
                    matches!(&r.view.source, ModelSource::Promotion { from_stage: Stage::Dev, source_version, .. }
                        if *source_version == v.version)
                });
            match promoted {
                Some(row) => {
                    self.set_latest(name, Stage::Release.as_str(), &row.view.version)
                        .await?
                }
                None => {
                    let req = PromoteRequest {
                        to: Stage::Release.as_str().into(),
                        from: Some(Stage::Dev.as_str().into()),
                        version: None,
                        notes: None,
                        set_latest: Some(true),
                    };
                    self.promote(name, &v.version, &req, registered_by).await?;
                }
            }
        }
        let now = self.clock.now_ms();
        self.store
            .set_model_version_meta(name, &v.version, VersionColumn::Stage, stage.label(), now)
            .await?;
        if archive_existing && matches!(stage, MlflowStage::Staging | MlflowStage::Production) {
            self.store
                .archive_model_stage(name, stage.label(), &v.version, now)
                .await?;
        }
        self.registered_version(name, number).await
    }

    /// Registers the next version of model `name` (which must exist, as in
    /// MLflow) from a run's artifacts: the payload is the directory's
    /// content, paths relative to it.
    pub async fn register_mlflow_version(
        &self,
        name: &str,
        req: &NewMlflowVersion,
        registered_by: &str,
        run: &RunSide<'_>,
    ) -> Result<RegisteredVersion, EngineError> {
        self.registered_model(name).await?;
        check_description(&req.description)?;
        for (i, (key, value)) in req.tags.iter().enumerate() {
            check_tag(&format!("tags[{i}]"), key, Some(value))?;
        }
        let to = RunVersion {
            stage: Stage::Dev,
            version: None,
            notes: req.description.clone(),
            set_latest: false,
        };
        let view = self
            .register_run_dir(
                name,
                RunDir {
                    job_id: req.job_id,
                    dir: &req.dir,
                    field: "source",
                },
                to,
                registered_by,
                run,
            )
            .await?;
        let now = self.clock.now_ms();
        self.store
            .set_model_version_meta(name, &view.version, VersionColumn::Source, &req.source, now)
            .await?;
        for (key, value) in &req.tags {
            self.store
                .set_model_version_tag(name, &view.version, key, Some(value))
                .await?;
        }
        let number = mlflow_number(&view.version).ok_or_else(|| EngineError::Io {
            path: self.version_dir(name, Stage::Dev, &view.version),
            source: std::io::Error::other("an automatic version name without a number"),
        })?;
        self.registered_version(name, number).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_dev_names_are_mlflow_versions() {
        assert_eq!(mlflow_number("v0001"), Some(1));
        assert_eq!(mlflow_number("v12345"), Some(12345));
        assert_eq!(mlflow_number("v7"), None);
        assert_eq!(mlflow_number("v0000"), None);
        assert_eq!(mlflow_number("1.2.0"), None);
    }

    #[test]
    fn stages_parse_in_any_case() {
        assert_eq!(
            MlflowStage::parse("production"),
            Some(MlflowStage::Production)
        );
        assert_eq!(MlflowStage::parse("NONE"), Some(MlflowStage::None));
        assert_eq!(MlflowStage::parse("prod"), None);
    }

    #[test]
    fn aliases_that_read_as_versions_are_refused() {
        assert!(check_alias("champion").is_ok());
        for bad in ["", "latest", "V3", "v12", "a/b", "a@b"] {
            assert!(check_alias(bad).is_err(), "{bad:?}");
        }
        assert!(check_alias("v1x").is_ok());
    }

    #[test]
    fn latest_versions_are_the_highest_number_per_label() {
        let v = |n: u64, stage| RegisteredVersion {
            model: "m".into(),
            number: n,
            version: auto_version(n),
            created_ms: 0,
            updated_ms: 0,
            description: String::new(),
            stage,
            source: None,
            run_id: None,
            registered_by: String::new(),
            tags: vec![],
            aliases: vec![],
        };
        let model = RegisteredModel {
            name: "m".into(),
            created_ms: 0,
            updated_ms: 0,
            description: String::new(),
            tags: vec![],
            aliases: vec![],
            versions: vec![
                v(1, MlflowStage::Production),
                v(2, MlflowStage::None),
                v(3, MlflowStage::None),
            ],
        };
        let all: Vec<u64> = model
            .latest_versions(&[])
            .iter()
            .map(|v| v.number)
            .collect();
        assert_eq!(all, vec![3, 1]);
        let prod: Vec<u64> = model
            .latest_versions(&[MlflowStage::Production])
            .iter()
            .map(|v| v.number)
            .collect();
        assert_eq!(prod, vec![1]);
        assert!(model.latest_versions(&[MlflowStage::Staging]).is_empty());
    }
}
