//! Checking an experiment config as the user types. The same parser as the
//! server's (`trainyard_core::config`), so the browser shows exactly the
//! errors and the grid a submission would get.

use serde::{Deserialize, Serialize};
use trainyard_core::config::{parse_experiment, ConfigErrors};
use trainyard_core::Priority;

/// Rows of the grid preview drawn at most.
pub const PREVIEW_ROWS: usize = 100;

/// One problem in a config, positioned for the editor (1-based; 0 = unknown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub line: u32,
    pub column: u32,
    pub message: String,
    #[serde(default)]
    pub field: Option<String>,
}

impl Diagnostic {
    pub fn from_errors(errors: &ConfigErrors) -> Vec<Diagnostic> {
        errors
            .0
            .iter()
            .map(|e| Diagnostic {
                line: e.line.unwrap_or(0),
                column: e.column.unwrap_or(0),
                message: e.message.clone(),
                field: e.field.clone(),
            })
            .collect()
    }

    /// "line 3, column 5" or "" when the position is unknown.
    pub fn position(&self) -> String {
        match (self.line, self.column) {
            (0, _) => String::new(),
            (line, 0) => format!("line {line}"),
            (line, column) => format!("line {line}, column {column}"),
        }
    }
}

/// One grid point in the preview table.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    pub index: u64,
    pub name: String,
    /// Values in axis order.
    pub values: Vec<String>,
}

/// A valid config, as the Execute page summarizes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub run_count: u64,
    pub axes: Vec<String>,
    pub preview: Vec<PreviewRow>,
    pub gpus: u32,
    pub priority: Option<Priority>,
    pub host: Option<String>,
}

/// The result of checking the editor's text.
#[derive(Debug, Clone, PartialEq)]
pub enum Checked {
    Valid(Summary),
    Invalid(Vec<Diagnostic>),
}

/// Parses `yaml` and summarizes it (or lists what is wrong).
pub fn check(yaml: &str) -> Checked {
    match parse_experiment(yaml) {
        Err(errors) => Checked::Invalid(Diagnostic::from_errors(&errors)),
        Ok(experiment) => {
            let axes: Vec<String> = experiment.axes.iter().map(|a| a.key.clone()).collect();
            let preview = experiment
                .preview(PREVIEW_ROWS)
                .into_iter()
                .map(|run| PreviewRow {
                    index: run.index as u64,
                    name: run.name.clone(),
                    values: axes
                        .iter()
                        .map(|key| {
                            run.params
                                .iter()
                                .find(|(k, _)| k == key)
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default()
                        })
                        .collect(),
                })
                .collect();
            Checked::Valid(Summary {
                run_count: experiment.run_count(),
                axes,
                preview,
                gpus: experiment.scheduling.gpus,
                priority: experiment.scheduling.priority,
                host: experiment.scheduling.host.clone(),
            })
        }
    }
}

/// The config the Execute page starts with: a 2×2 sweep that runs anywhere.
pub const EXAMPLE: &str = r#"# A grid sweep: every combination of the list values below is one run.
project: demo
name: "lr{{optimizer.lr}}-bs{{batch_size}}"
command: python3 examples/train.py
gpus: 0

epochs: 20
step_seconds: 0.5
optimizer:
  lr: [0.1, 0.01]
batch_size: [32, 64]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_is_a_two_by_two_sweep_with_named_runs() {
        let Checked::Valid(summary) = check(EXAMPLE) else {
            panic!("the example config must be valid");
        };
        assert_eq!(summary.run_count, 4);
        assert_eq!(summary.axes, ["optimizer.lr", "batch_size"]);
        assert_eq!(summary.preview[0].name, "lr0.1-bs32");
        assert_eq!(summary.preview[0].values, ["0.1", "32"]);
        assert_eq!(summary.gpus, 0);
    }

    #[test]
    fn mistakes_come_back_positioned_for_the_editor() {
        let Checked::Invalid(problems) = check("project: demo\npriority: urgent\n") else {
            panic!("an unknown priority must be refused");
        };
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].line, problems[0].column), (2, 11));
        assert_eq!(problems[0].position(), "line 2, column 11");
        assert!(problems[0].message.contains("high, normal or low"));
    }
}
