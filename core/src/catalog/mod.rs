//! The launcher's catalog: a lab's training scripts described in one YAML
//! file, turned into forms (`form`) and into argv (`launch`).
//!
//! Pure like the rest of core: the server reads the file and the
//! environment and hands them in, so the browser can validate a catalog and
//! preview a launch with the same code. See `docs/launcher.md`.

mod form;
mod launch;
mod parse;
mod values;
mod wire;

pub use form::{form_schema, TaskForm};
pub use launch::{plan_launch, LaunchPlan, LaunchRun};
pub use parse::parse_catalog;
pub use values::{FieldValue, LaunchError, LaunchErrors};
pub use wire::{
    CatalogDiff, CatalogProblems, CatalogRevision, CatalogRevisionContent, CatalogSaved,
    CatalogTasks, CatalogView, JobLaunch, LaunchRequest, LaunchResult, SaveCatalog,
};

use serde::{Deserialize, Serialize};

/// A validated catalog: every task with its fields resolved (`extends`
/// followed, `fieldOverrides` applied).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    pub tasks: Vec<Task>,
    /// As written, or one per task when the file has none.
    pub registry_models: Vec<RegistryModel>,
    /// `runtime.availableGpuIds`: validated and shown, not enforced (the
    /// scheduler assigns GPU indices per host).
    pub available_gpu_ids: Vec<u32>,
}

impl Catalog {
    /// The task named `task_type`, enabled or not.
    pub fn task(&self, task_type: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.task_type == task_type)
    }
}

/// One launchable script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_type: String,
    pub title: String,
    pub description: String,
    pub enabled: bool,
    /// The task whose fields (and runner and mlflow block, when this task
    /// has none) this one starts from.
    pub extends: Option<String>,
    pub runner: Runner,
    pub mlflow: MlflowDefaults,
    pub field_order: Vec<String>,
    pub hidden_fields: Vec<String>,
    /// Every field in definition order (inherited first), overrides applied.
    pub fields: Vec<FieldDef>,
}

impl Task {
    /// The project (and MLflow experiment) its jobs go to.
    pub fn project(&self) -> &str {
        self.mlflow
            .experiment
            .as_deref()
            .unwrap_or(self.task_type.as_str())
    }
}

/// How a task's process starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartMethod {
    /// `python <target> args…`
    #[default]
    PythonScript,
    /// `python -m <target> args…`
    PythonModule,
    /// `target` split into argv like a shell would (no shell runs), then args.
    Command,
}

impl StartMethod {
    pub const NAMES: &'static str = "python_script, python_module or command";

    pub fn parse(s: &str) -> Option<StartMethod> {
        match s {
            "python_script" => Some(StartMethod::PythonScript),
            "python_module" => Some(StartMethod::PythonModule),
            "command" => Some(StartMethod::Command),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Runner {
    pub start_method: StartMethod,
    pub target: String,
    /// When this variable is set and not empty in the server's environment
    /// at launch, its value replaces `target`.
    pub target_env_var: Option<String>,
    /// The job's working directory (the agent's when absent).
    pub cwd: Option<String>,
    /// The interpreter of the python start methods (`python` by default).
    pub python: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MlflowDefaults {
    /// Metric that ranks runs (`val_accuracy`).
    pub metric: String,
    /// `max` or `min`.
    pub mode: String,
    /// `<taskType>-best-model` unless given.
    pub model_name: String,
    pub artifact_path: String,
    /// Project and `MLFLOW_EXPERIMENT_NAME` of the task's jobs (the
    /// task type when absent).
    pub experiment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryModel {
    pub id: String,
    pub title: String,
    pub task_type: String,
    pub model_name: String,
    pub description: String,
    pub default_stage: String,
    pub default_version: String,
    pub default_destination_dir: Option<String>,
}

/// What a field's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    Str,
    Int,
    Float,
    Bool,
}

impl ValueType {
    pub const NAMES: &'static str = "str, int, float or bool";

    pub fn parse(s: &str) -> Option<ValueType> {
        match s.to_ascii_lowercase().as_str() {
            "str" | "string" | "text" => Some(ValueType::Str),
            "int" | "integer" => Some(ValueType::Int),
            "float" | "number" | "double" => Some(ValueType::Float),
            "bool" | "boolean" => Some(ValueType::Bool),
            _ => None,
        }
    }
}

/// How the form shows a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Number,
    Boolean,
    Select,
}

impl FieldKind {
    pub const NAMES: &'static str = "text, number, boolean or select";

    const ALL: [FieldKind; 4] = [
        FieldKind::Text,
        FieldKind::Number,
        FieldKind::Boolean,
        FieldKind::Select,
    ];

    pub fn parse(s: &str) -> Option<FieldKind> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// As a catalog writes it (`type: select`).
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Boolean => "boolean",
            FieldKind::Select => "select",
        }
    }
}

/// One field of a task, as the form shows it and the argv carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDef {
    pub name: String,
    pub value_type: ValueType,
    #[serde(rename = "type")]
    pub kind: FieldKind,
    pub required: bool,
    pub default: Option<FieldValue>,
    pub label: String,
    pub description: String,
    pub group: String,
    pub choices: Vec<FieldValue>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub step: Option<f64>,
    /// The flag, `--` included (`--learning-rate`).
    pub cli_arg: String,
    /// An empty value is passed as `""` instead of being left out.
    pub pass_when_empty: bool,
    /// The task that declared it (differs from the task under `extends`).
    pub defined_in: String,
}

/// `learning_rate` → `--learning-rate`.
pub fn default_flag(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

#[cfg(test)]
mod tests;
