//! Form values → one argv per run. Values are checked against their fields,
//! several values for a field make a sweep (expanded by the config
//! language's own grid), and every value is one argv entry: nothing here or
//! on the agent passes through a shell.

use super::values::{FieldValue, LaunchError, LaunchErrors};
use super::{FieldDef, FieldKind, StartMethod, Task};
use crate::config::tree::{Entry, Node};
use crate::config::{emit, experiment_from, grid, split_command, SweepLimits, MAX_NAME_LEN};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a launch's values go in each job's resolved config
/// (`TRAINYARD_CONFIG`): `args.<field>`, out of the way of the config's
/// reserved top-level keys.
pub const ARGS_KEY: &str = "args";

/// What a launch will queue: one run per point of its sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchPlan {
    pub task_type: String,
    pub project: String,
    pub workdir: Option<String>,
    /// The experiment config the sweep was expanded from (kept as the
    /// sweep's source).
    pub source_yaml: String,
    pub runs: Vec<LaunchRun>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchRun {
    pub name: String,
    pub argv: Vec<String>,
    /// Every field that has a value in this run, in definition order.
    pub values: Vec<(String, FieldValue)>,
    /// The swept fields and this run's value of each.
    pub params: Vec<(String, String)>,
    pub config_yaml: String,
}

/// Plans the launch of `task` with `values` (field name → value or list of
/// values). `env` answers `runner.targetEnvVar`. Returns every problem.
pub fn plan_launch(
    task: &Task,
    values: &BTreeMap<String, FieldValue>,
    limits: &SweepLimits,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LaunchPlan, LaunchErrors> {
    let mut errors = Vec::new();
    if !task.enabled {
        errors.push(LaunchError::general(format!(
            "task {:?} is disabled in the catalog",
            task.task_type
        )));
    }
    for name in values.keys() {
        if !task.fields.iter().any(|f| f.name == *name) {
            let known: Vec<&str> = task.fields.iter().map(|f| f.name.as_str()).collect();
            errors.push(LaunchError::field(
                name,
                format!(
                    "task {:?} has no such field; its fields are: {}",
                    task.task_type,
                    if known.is_empty() {
                        "(none)".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    // Per field: the values of its runs (empty: the flag is left out).
    let mut chosen: Vec<(&FieldDef, Vec<FieldValue>)> = Vec::new();
    for f in &task.fields {
        match field_values(f, values.get(&f.name)) {
            Ok(v) => chosen.push((f, v)),
            Err(e) => errors.extend(e),
        }
    }
    let prefix = match command_prefix(task, env) {
        Ok(p) => p,
        Err(e) => {
            errors.push(e);
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(LaunchErrors(errors));
    }
    let project = task.project().to_string();
    let present: Vec<&(&FieldDef, Vec<FieldValue>)> =
        chosen.iter().filter(|(_, v)| !v.is_empty()).collect();
    // The experiment is built as a tree, not written as YAML and parsed:
    // the same tree either way, and the browser's Launch page then need not
    // load the YAML parser. Its YAML is written from the tree.
    let mut entries = vec![Entry::new(
        "project",
        FieldValue::Text(project.clone()).node(),
    )];
    if !present.is_empty() {
        let args = present
            .iter()
            .map(|(f, vals)| {
                let v = match vals.as_slice() {
                    [one] => one.node(),
                    many => FieldValue::List(many.to_vec()).node(),
                };
                Entry::new(&f.name, v)
            })
            .collect();
        entries.push(Entry::new(ARGS_KEY, Node::map(args)));
    }
    let doc = Node::map(entries);
    let yaml = emit::to_yaml(&doc);
    let experiment = experiment_from(Some(doc)).map_err(|e| {
        LaunchErrors(
            e.0.into_iter()
                .map(|e| LaunchError::general(e.message))
                .collect(),
        )
    })?;
    let specs = experiment.expand(limits).map_err(|e| {
        LaunchErrors(
            e.0.into_iter()
                .map(|e| LaunchError::general(e.message))
                .collect(),
        )
    })?;
    // The axes are the multi-valued fields, in definition order.
    let swept: Vec<usize> = present
        .iter()
        .enumerate()
        .filter(|(_, (_, v))| v.len() > 1)
        .map(|(i, _)| i)
        .collect();
    let runs = specs
        .into_iter()
        .map(|spec| {
            let digits = grid::point(&experiment.axes, spec.index as u64);
            let mut argv = prefix.clone();
            let mut run_values = Vec::with_capacity(present.len());
            for (i, (f, vals)) in present.iter().enumerate() {
                let pick = swept
                    .iter()
                    .position(|&s| s == i)
                    .and_then(|axis| digits.get(axis).copied())
                    .unwrap_or(0);
                let v = vals.get(pick).cloned().unwrap_or(FieldValue::Null);
                argv.push(f.cli_arg.clone());
                argv.push(v.arg());
                run_values.push((f.name.clone(), v));
            }
            let params = spec
                .params
                .into_iter()
                .map(|(k, v)| {
                    let short = k
                        .strip_prefix(ARGS_KEY)
                        .and_then(|k| k.strip_prefix('.'))
                        .unwrap_or(&k)
                        .to_string();
                    (short, v)
                })
                .collect();
            // Named after the task, not the project two tasks may share:
            // `long-train-lr=0.1`.
            let name = match spec.name.strip_prefix(project.as_str()) {
                Some(rest)
                    if task.task_type.chars().count() + rest.chars().count() <= MAX_NAME_LEN =>
                {
                    format!("{}{rest}", task.task_type)
                }
                _ => spec.name,
            };
            LaunchRun {
                name,
                argv,
                values: run_values,
                params,
                config_yaml: spec.config_yaml,
            }
        })
        .collect();
    Ok(LaunchPlan {
        task_type: task.task_type.clone(),
        project,
        workdir: task.runner.cwd.clone(),
        source_yaml: yaml,
        runs,
    })
}

/// The argv before the fields: interpreter and script or module, or the
/// command split like a shell would (nothing runs one).
fn command_prefix(
    task: &Task,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, LaunchError> {
    let r = &task.runner;
    let target = r
        .target_env_var
        .as_deref()
        .and_then(env)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| r.target.clone());
    let bad = |e: String| LaunchError::general(format!("runner.target: {e}"));
    Ok(match r.start_method {
        StartMethod::PythonScript => vec![r.python.clone(), target],
        StartMethod::PythonModule => vec![r.python.clone(), "-m".into(), target],
        StartMethod::Command => split_command(&target).map_err(|e| bad(e.0))?,
    })
}

/// The values one field takes: what was given (a list, or a comma list in
/// one text value, is several), else its default, else `""` when it passes
/// empty values, else nothing; each checked against the field.
fn field_values(
    f: &FieldDef,
    given: Option<&FieldValue>,
) -> Result<Vec<FieldValue>, Vec<LaunchError>> {
    let items: Vec<FieldValue> = match given {
        None => Vec::new(),
        Some(v) if v.is_empty() => Vec::new(),
        Some(FieldValue::List(items)) => items.iter().filter(|v| !v.is_empty()).cloned().collect(),
        Some(FieldValue::Text(s)) if has_unescaped_comma(s) => split_commas(s)
            .into_iter()
            .filter(|p| !p.trim().is_empty())
            .map(FieldValue::Text)
            .collect(),
        Some(FieldValue::Text(s)) => vec![FieldValue::Text(unescape_commas(s))],
        Some(v) => vec![v.clone()],
    };
    if items.is_empty() {
        if let Some(d) = &f.default {
            return Ok(vec![d.clone()]);
        }
        if f.pass_when_empty {
            return Ok(vec![FieldValue::Text(String::new())]);
        }
        if f.required {
            return Err(vec![LaunchError::field(&f.name, "is required")]);
        }
        return Ok(Vec::new());
    }
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if matches!(item, FieldValue::List(_)) {
            errors.push(LaunchError::field(
                &f.name,
                "a list inside a list is not a value",
            ));
            continue;
        }
        match check(f, &item) {
            Ok(v) => out.push(v),
            Err(e) => errors.push(LaunchError::field(&f.name, e)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn check(f: &FieldDef, v: &FieldValue) -> Result<FieldValue, String> {
    let v = v.coerce(f.value_type)?;
    if f.kind == FieldKind::Select && !f.choices.contains(&v) {
        let list: Vec<String> = f.choices.iter().map(FieldValue::arg).collect();
        return Err(format!(
            "{v} is not one of the choices ({})",
            list.join(", ")
        ));
    }
    if let Some(n) = v.number() {
        if let Some(lo) = f.min.filter(|lo| n < *lo) {
            return Err(format!("{v} is below the minimum {lo}"));
        }
        if let Some(hi) = f.max.filter(|hi| n > *hi) {
            return Err(format!("{v} is above the maximum {hi}"));
        }
    }
    Ok(v)
}

fn has_unescaped_comma(s: &str) -> bool {
    split_commas(s).len() > 1
}

/// `a,b\,c` → `a`, `b,c`: a comma list in one text value (as a form's text
/// input or `--set k=a,b` sends it); `\,` is a literal comma.
fn split_commas(s: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&',') => {
                chars.next();
                if let Some(p) = parts.last_mut() {
                    p.push(',');
                }
            }
            ',' => parts.push(String::new()),
            c => {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    parts.into_iter().map(|p| p.trim().to_string()).collect()
}

fn unescape_commas(s: &str) -> String {
    s.replace("\\,", ",")
}
