//! A task's form: what a Launch page draws. Pure, so the browser derives it
//! from a catalog it is editing exactly as the server does.

use super::{FieldDef, MlflowDefaults, Runner, Task};
use serde::{Deserialize, Serialize};

/// One task as a form: its visible fields in display order, and the groups
/// they fall in (in order of first appearance).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskForm {
    pub task_type: String,
    pub title: String,
    pub description: String,
    pub enabled: bool,
    pub runner: Runner,
    pub mlflow: MlflowDefaults,
    /// The project its jobs go to.
    pub project: String,
    pub groups: Vec<String>,
    pub fields: Vec<FieldDef>,
}

/// The form of `task`: `hiddenFields` removed, the fields listed in
/// `fieldOrder` first in that order, the others after them in definition
/// order (inherited fields first). Overrides are already applied by the
/// parser.
pub fn form_schema(task: &Task) -> TaskForm {
    let rank = |f: &FieldDef| {
        task.field_order
            .iter()
            .position(|n| *n == f.name)
            .unwrap_or(usize::MAX)
    };
    let mut fields: Vec<FieldDef> = task
        .fields
        .iter()
        .filter(|f| !task.hidden_fields.contains(&f.name))
        .cloned()
        .collect();
    // Stable: unlisted fields keep their definition order.
    fields.sort_by_key(rank);
    let mut groups: Vec<String> = Vec::new();
    for f in &fields {
        if !groups.contains(&f.group) {
            groups.push(f.group.clone());
        }
    }
    TaskForm {
        task_type: task.task_type.clone(),
        title: task.title.clone(),
        description: task.description.clone(),
        enabled: task.enabled,
        runner: task.runner.clone(),
        mlflow: task.mlflow.clone(),
        project: task.project().to_string(),
        groups,
        fields,
    }
}
