//! Catalog YAML → `Catalog`, listing every problem with its field path and
//! line. Reads the config language's YAML tree (`config::tree`), so syntax
//! errors, positions and limits are the same as an experiment config's.

use super::values::FieldValue;
use super::{
    default_flag, Catalog, FieldDef, FieldKind, MlflowDefaults, RegistryModel, Runner, StartMethod,
    Task, ValueType,
};
use crate::config::split_command;
use crate::config::tree::{self, Entry, Kind, Node};
use crate::config::value::Value;
use crate::config::{name_problem, ConfigError, ConfigErrors, Pos};
use std::collections::{HashMap, HashSet};

const TOP_KEYS: &[&str] = &["tasks", "registryModels", "runtime"];
const TASK_KEYS: &[&str] = &[
    "taskType",
    "title",
    "description",
    "enabled",
    "extends",
    "runner",
    "mlflow",
    "fieldOrder",
    "hiddenFields",
    "fieldOverrides",
    "extraFields",
];
const RUNNER_KEYS: &[&str] = &["startMethod", "target", "targetEnvVar", "cwd", "python"];
const MLFLOW_KEYS: &[&str] = &["metric", "mode", "modelName", "artifactPath", "experiment"];
const FIELD_KEYS: &[&str] = &[
    "name",
    "valueType",
    "type",
    "required",
    "default",
    "label",
    "description",
    "group",
    "choices",
    "min",
    "max",
    "step",
    "cliArg",
    "passWhenEmpty",
];
/// What `fieldOverrides` may change (not the name, type of value or flag).
const OVERRIDE_KEYS: &[&str] = &[
    "type",
    "required",
    "default",
    "label",
    "description",
    "group",
    "choices",
    "min",
    "max",
    "step",
];
const REGISTRY_KEYS: &[&str] = &[
    "id",
    "title",
    "taskType",
    "modelName",
    "description",
    "defaultStage",
    "defaultVersion",
    "defaultDestinationDir",
];
/// The group of a field that names none.
const DEFAULT_GROUP: &str = "general";

/// Parses and validates a catalog. `env` answers `$VAR` and `${VAR}` in
/// text values (the server passes its environment; an unset variable stays
/// as written). Returns every problem, in source order.
pub fn parse_catalog(
    yaml: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Catalog, ConfigErrors> {
    let doc = tree::parse_document(yaml).map_err(ConfigErrors::from)?;
    let mut cx = Cx {
        errors: Vec::new(),
        env,
    };
    let catalog = match &doc {
        Some(
            node @ Node {
                kind: Kind::Map(_), ..
            },
        ) => cx.catalog(node),
        _ => {
            cx.err(
                "",
                Pos::START,
                "a catalog is a YAML mapping with a `tasks:` list",
            );
            Catalog::default()
        }
    };
    if cx.errors.is_empty() {
        Ok(catalog)
    } else {
        let mut errors = cx.errors;
        errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(errors))
    }
}

/// A value with where it was written.
#[derive(Debug, Clone)]
struct At<T> {
    v: T,
    pos: Pos,
    path: String,
}

/// A field as written (an `extraFields` item or a `fieldOverrides` patch);
/// merged, then finished into a `FieldDef`.
#[derive(Debug, Clone, Default)]
struct Spec {
    name: Option<At<String>>,
    value_type: Option<At<ValueType>>,
    kind: Option<At<FieldKind>>,
    required: Option<bool>,
    default: Option<At<FieldValue>>,
    label: Option<String>,
    description: Option<String>,
    group: Option<String>,
    choices: Option<At<Vec<FieldValue>>>,
    min: Option<At<f64>>,
    max: Option<At<f64>>,
    step: Option<At<f64>>,
    cli_arg: Option<At<String>>,
    pass_when_empty: Option<At<bool>>,
    pos: Pos,
    path: String,
    defined_in: String,
}

impl Spec {
    fn patched(&self, p: &Spec) -> Spec {
        fn pick<T: Clone>(patch: &Option<T>, base: &Option<T>) -> Option<T> {
            patch.clone().or_else(|| base.clone())
        }
        Spec {
            kind: pick(&p.kind, &self.kind),
            required: p.required.or(self.required),
            default: pick(&p.default, &self.default),
            label: pick(&p.label, &self.label),
            description: pick(&p.description, &self.description),
            group: pick(&p.group, &self.group),
            choices: pick(&p.choices, &self.choices),
            min: pick(&p.min, &self.min),
            max: pick(&p.max, &self.max),
            step: pick(&p.step, &self.step),
            ..self.clone()
        }
    }

    fn name(&self) -> &str {
        self.name.as_ref().map(|n| n.v.as_str()).unwrap_or("")
    }
}

#[derive(Debug, Default)]
struct RawTask {
    path: String,
    pos: Pos,
    task_type: Option<At<String>>,
    title: Option<String>,
    description: Option<String>,
    enabled: Option<bool>,
    extends: Option<At<String>>,
    runner: Option<Runner>,
    mlflow: Option<MlflowDefaults>,
    field_order: Vec<At<String>>,
    hidden: Vec<At<String>>,
    overrides: Vec<(At<String>, Spec)>,
    extras: Vec<Spec>,
}

impl RawTask {
    fn task_type(&self) -> &str {
        self.task_type.as_ref().map(|t| t.v.as_str()).unwrap_or("")
    }
}

struct Cx<'e> {
    errors: Vec<ConfigError>,
    env: &'e dyn Fn(&str) -> Option<String>,
}

impl Cx<'_> {
    fn err(&mut self, path: &str, pos: Pos, message: impl Into<String>) {
        let field = (!path.is_empty()).then_some(path);
        self.errors.push(ConfigError::at(message, field, pos));
    }

    fn map<'n>(&mut self, node: &'n Node, path: &str, allowed: &[&str]) -> &'n [Entry] {
        let Some(entries) = node.entries() else {
            if !is_null(node) {
                self.err(path, node.pos, "must be a mapping of `key: value` lines");
            }
            return &[];
        };
        for e in entries {
            if !allowed.contains(&e.key.text.as_str()) {
                let hint = if e.key.text == "baseTaskType" {
                    "there are no built-in fields: declare every field in `extraFields` (or share them with `extends:`)".to_string()
                } else {
                    format!("expected one of: {}", allowed.join(", "))
                };
                self.err(
                    &join(path, &e.key.text),
                    e.key_pos,
                    format!("unknown key `{}`; {hint}", e.key.text),
                );
            }
        }
        entries
    }

    fn seq<'n>(&mut self, node: &'n Node, path: &str) -> &'n [Node] {
        match &node.kind {
            Kind::Seq(items) => items,
            _ if is_null(node) => &[],
            _ => {
                self.err(path, node.pos, "must be a list");
                &[]
            }
        }
    }

    /// Text with `$VAR` expanded; numbers and booleans as written.
    fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.kind {
            Kind::Scalar(s) if s.is_null() && s.style == tree::Style::Plain => None,
            Kind::Scalar(s) => Some(expand_vars(&s.text, self.env)),
            _ => {
                self.err(path, node.pos, "must be text, not a list or mapping");
                None
            }
        }
    }

    fn at_text(&mut self, node: &Node, path: &str) -> Option<At<String>> {
        self.text(node, path).map(|v| At {
            v,
            pos: node.pos,
            path: path.to_string(),
        })
    }

    fn bool(&mut self, node: &Node, path: &str) -> Option<bool> {
        match Value::of(node) {
            Value::Bool(b) => Some(b),
            Value::Null => None,
            _ => {
                self.err(path, node.pos, "must be true or false");
                None
            }
        }
    }

    fn number(&mut self, node: &Node, path: &str) -> Option<At<f64>> {
        let v = match Value::of(node) {
            Value::Int(i) => i as f64,
            Value::Float(f) if f.is_finite() => f,
            Value::Null => return None,
            _ => {
                self.err(path, node.pos, "must be a number");
                return None;
            }
        };
        Some(At {
            v,
            pos: node.pos,
            path: path.to_string(),
        })
    }

    fn names(&mut self, node: &Node, path: &str) -> Vec<At<String>> {
        let mut out = Vec::new();
        for (i, item) in self.seq(node, path).iter().enumerate() {
            let p = format!("{path}[{i}]");
            if let Some(t) = self.at_text(item, &p) {
                out.push(t);
            }
        }
        out
    }

    fn value(&self, node: &Node) -> FieldValue {
        match FieldValue::from_config(&Value::of(node)) {
            FieldValue::Text(s) => FieldValue::Text(expand_vars(&s, self.env)),
            v => v,
        }
    }

    fn catalog(&mut self, root: &Node) -> Catalog {
        let entries = self.map(root, "", TOP_KEYS);
        let get = |k: &str| entries.iter().find(|e| e.key.text == k);
        let mut raw = Vec::new();
        match get("tasks") {
            None => self.err("tasks", Pos::START, "a catalog needs a `tasks:` list"),
            Some(e) => {
                let items = self.seq(&e.value, "tasks");
                if items.is_empty() {
                    self.err("tasks", e.key_pos, "the task list is empty");
                }
                for (i, item) in items.iter().enumerate() {
                    raw.push(self.raw_task(item, &format!("tasks[{i}]")));
                }
            }
        }
        let tasks = self.resolve(&raw);
        let registry_models = match get("registryModels") {
            Some(e) => self.registry(&e.value, &tasks),
            None => Vec::new(),
        };
        let registry_models = if registry_models.is_empty() {
            tasks.iter().map(derived_model).collect()
        } else {
            registry_models
        };
        let available_gpu_ids = match get("runtime") {
            Some(e) => self.runtime(&e.value),
            None => Vec::new(),
        };
        Catalog {
            tasks,
            registry_models,
            available_gpu_ids,
        }
    }

    fn raw_task(&mut self, node: &Node, path: &str) -> RawTask {
        let mut t = RawTask {
            path: path.to_string(),
            pos: node.pos,
            ..RawTask::default()
        };
        if node.entries().is_none() {
            self.err(path, node.pos, "a task must be a mapping (`- taskType: …`)");
            return t;
        }
        for e in self.map(node, path, TASK_KEYS) {
            let p = join(path, &e.key.text);
            let v = &e.value;
            match e.key.text.as_str() {
                "taskType" => t.task_type = self.at_text(v, &p),
                "title" => t.title = self.text(v, &p),
                "description" => t.description = self.text(v, &p),
                "enabled" => t.enabled = self.bool(v, &p),
                "extends" => t.extends = self.at_text(v, &p),
                "runner" => t.runner = Some(self.runner(v, &p)),
                "mlflow" => t.mlflow = Some(self.mlflow(v, &p)),
                "fieldOrder" => t.field_order = self.names(v, &p),
                "hiddenFields" => t.hidden = self.names(v, &p),
                "fieldOverrides" => {
                    if v.entries().is_none() && !is_null(v) {
                        self.err(&p, v.pos, "must be a mapping of field name → changes");
                    }
                    if let Some(entries) = v.entries() {
                        for o in entries {
                            let op = join(&p, &o.key.text);
                            let name = At {
                                v: o.key.text.clone(),
                                pos: o.key_pos,
                                path: op.clone(),
                            };
                            let spec = self.spec(&o.value, &op, OVERRIDE_KEYS);
                            t.overrides.push((name, spec));
                        }
                    }
                }
                "extraFields" => {
                    for (i, item) in self.seq(v, &p).iter().enumerate() {
                        let fp = format!("{p}[{i}]");
                        let spec = self.spec(item, &fp, FIELD_KEYS);
                        if spec.name.is_none() && item.entries().is_some() {
                            self.err(&fp, item.pos, "a field needs a `name`");
                        }
                        t.extras.push(spec);
                    }
                }
                _ => {}
            }
        }
        match &t.task_type {
            None => self.err(path, node.pos, "a task needs a `taskType`"),
            Some(tt) => {
                if let Some(problem) = task_type_problem(&tt.v) {
                    self.err(&tt.path.clone(), tt.pos, format!("taskType {problem}"));
                }
            }
        }
        t
    }

    fn runner(&mut self, node: &Node, path: &str) -> Runner {
        let mut r = Runner {
            python: "python".into(),
            ..Runner::default()
        };
        let mut target = None;
        let mut method_pos = node.pos;
        for e in self.map(node, path, RUNNER_KEYS) {
            let p = join(path, &e.key.text);
            match e.key.text.as_str() {
                "startMethod" => {
                    method_pos = e.value.pos;
                    if let Some(m) = self.text(&e.value, &p) {
                        match StartMethod::parse(&m) {
                            Some(m) => r.start_method = m,
                            None => self.err(
                                &p,
                                e.value.pos,
                                format!(
                                    "unknown start method {m:?}; expected {}",
                                    StartMethod::NAMES
                                ),
                            ),
                        }
                    }
                }
                "target" => target = self.at_text(&e.value, &p),
                "targetEnvVar" => {
                    r.target_env_var = self.text(&e.value, &p);
                    if let Some(var) = &r.target_env_var {
                        if !is_identifier(var) {
                            self.err(&p, e.value.pos, format!("{var:?} is not an environment variable name (letters, digits, `_`)"));
                        }
                    }
                }
                "cwd" => r.cwd = self.text(&e.value, &p).filter(|c| !c.is_empty()),
                "python" => {
                    if let Some(py) = self.text(&e.value, &p) {
                        if py.trim().is_empty() {
                            self.err(&p, e.value.pos, "the interpreter must not be empty");
                        } else {
                            r.python = py;
                        }
                    }
                }
                _ => {}
            }
        }
        match target {
            Some(t) if !t.v.trim().is_empty() => {
                if r.start_method == StartMethod::Command {
                    if let Err(e) = split_command(&t.v) {
                        self.err(&t.path, t.pos, e.0);
                    }
                }
                r.target = t.v;
            }
            Some(t) => self.err(&t.path, t.pos, "the target must not be empty"),
            None => self.err(
                &join(path, "target"),
                if node.entries().is_some() {
                    node.pos
                } else {
                    method_pos
                },
                "a runner needs a `target` (a script, a module or a command)",
            ),
        }
        r
    }

    fn mlflow(&mut self, node: &Node, path: &str) -> MlflowDefaults {
        let mut m = MlflowDefaults::default();
        for e in self.map(node, path, MLFLOW_KEYS) {
            let p = join(path, &e.key.text);
            let Some(v) = self.text(&e.value, &p) else {
                continue;
            };
            match e.key.text.as_str() {
                "metric" => m.metric = v,
                "mode" => {
                    if !matches!(v.as_str(), "max" | "min") {
                        self.err(&p, e.value.pos, format!("mode {v:?} must be max or min"));
                    }
                    m.mode = v;
                }
                "modelName" => m.model_name = v,
                "artifactPath" => m.artifact_path = v,
                "experiment" => {
                    if let Some(problem) = name_problem(&v) {
                        self.err(&p, e.value.pos, format!("experiment {problem}"));
                    }
                    m.experiment = Some(v);
                }
                _ => {}
            }
        }
        m
    }

    fn spec(&mut self, node: &Node, path: &str, allowed: &[&str]) -> Spec {
        let mut s = Spec {
            pos: node.pos,
            path: path.to_string(),
            ..Spec::default()
        };
        if node.entries().is_none() {
            self.err(path, node.pos, "a field must be a mapping (`- name: …`)");
            return s;
        }
        for e in self.map(node, path, allowed) {
            let p = join(path, &e.key.text);
            let v = &e.value;
            fn at<T>(x: T, node: &Node, path: &str) -> At<T> {
                At {
                    v: x,
                    pos: node.pos,
                    path: path.to_string(),
                }
            }
            match e.key.text.as_str() {
                "name" => s.name = self.at_text(v, &p),
                "valueType" => {
                    if let Some(t) = self.text(v, &p) {
                        match ValueType::parse(&t) {
                            Some(ty) => s.value_type = Some(at(ty, v, &p)),
                            None => self.err(
                                &p,
                                v.pos,
                                format!("unknown valueType {t:?}; expected {}", ValueType::NAMES),
                            ),
                        }
                    }
                }
                "type" => {
                    if let Some(t) = self.text(v, &p) {
                        match FieldKind::parse(&t) {
                            Some(k) => s.kind = Some(at(k, v, &p)),
                            None => self.err(
                                &p,
                                v.pos,
                                format!("unknown type {t:?}; expected {}", FieldKind::NAMES),
                            ),
                        }
                    }
                }
                "required" => s.required = self.bool(v, &p),
                "default" => s.default = Some(at(self.value(v), v, &p)),
                "label" => s.label = self.text(v, &p),
                "description" => s.description = self.text(v, &p),
                "group" => s.group = self.text(v, &p),
                "choices" => {
                    let items = self.seq(v, &p);
                    let values: Vec<FieldValue> = items.iter().map(|i| self.value(i)).collect();
                    s.choices = Some(at(values, v, &p));
                }
                "min" => s.min = self.number(v, &p),
                "max" => s.max = self.number(v, &p),
                "step" => s.step = self.number(v, &p),
                "cliArg" => s.cli_arg = self.at_text(v, &p),
                "passWhenEmpty" => s.pass_when_empty = self.bool(v, &p).map(|b| at(b, v, &p)),
                _ => {}
            }
        }
        s
    }

    /// Follows `extends`, applies overrides and checks each task's fields.
    fn resolve(&mut self, raw: &[RawTask]) -> Vec<Task> {
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, t) in raw.iter().enumerate() {
            let Some(tt) = &t.task_type else { continue };
            if let Some(&first) = index.get(tt.v.as_str()) {
                let line = raw[first].task_type.as_ref().map_or(0, |f| f.pos.line);
                self.err(
                    &tt.path,
                    tt.pos,
                    format!(
                        "duplicate taskType {:?} (first declared on line {line})",
                        tt.v
                    ),
                );
            } else {
                index.insert(&tt.v, i);
            }
        }
        // Each task's ancestors, nearest first; empty where a cycle or an
        // unknown name breaks the chain (reported once, at its `extends`).
        let mut chains: Vec<Vec<usize>> = Vec::with_capacity(raw.len());
        for (i, t) in raw.iter().enumerate() {
            let mut chain = Vec::new();
            let mut seen = vec![i];
            let mut cur = i;
            while let Some(ext) = &raw[cur].extends {
                let Some(&next) = index.get(ext.v.as_str()) else {
                    if cur == i {
                        self.err(
                            &ext.path,
                            ext.pos,
                            format!("extends unknown task {:?}", ext.v),
                        );
                    }
                    break;
                };
                if seen.contains(&next) {
                    if next == i {
                        let mut names: Vec<&str> =
                            seen.iter().map(|&s| raw[s].task_type()).collect();
                        names.push(t.task_type());
                        let own = t.extends.as_ref().unwrap_or(ext);
                        self.err(
                            &own.path,
                            own.pos,
                            format!("extends cycle: {}", names.join(" → ")),
                        );
                    }
                    chain.clear();
                    break;
                }
                seen.push(next);
                chain.push(next);
                cur = next;
            }
            chains.push(chain);
        }
        raw.iter()
            .zip(&chains)
            .map(|(t, chain)| self.task(t, chain, raw))
            .collect()
    }

    fn task(&mut self, t: &RawTask, chain: &[usize], raw: &[RawTask]) -> Task {
        let tt = t.task_type().to_string();
        // Inherited fields (farthest ancestor first), then this task's own.
        let mut specs: Vec<(Spec, bool)> = Vec::new();
        for &a in chain.iter().rev() {
            for s in &raw[a].extras {
                let mut s = s.clone();
                s.defined_in = raw[a].task_type().to_string();
                specs.push((s, false));
            }
        }
        let inherited = specs.len();
        let mut own_names: HashMap<String, Pos> = HashMap::new();
        for s in &t.extras {
            let mut s = s.clone();
            s.defined_in = tt.clone();
            if let Some(n) = &s.name {
                if !is_identifier(&n.v) {
                    self.err(&n.path, n.pos, format!("field name {:?} must be an identifier (letters, digits, `_`, not starting with a digit)", n.v));
                }
                if let Some(first) = own_names.get(&n.v) {
                    self.err(
                        &n.path,
                        n.pos,
                        format!(
                            "duplicate field name {:?} (first on line {})",
                            n.v, first.line
                        ),
                    );
                } else if let Some((parent, _)) =
                    specs[..inherited].iter().find(|(p, _)| p.name() == n.v)
                {
                    self.err(&n.path, n.pos, format!("field {:?} is already defined by task {:?} (through extends); change it with fieldOverrides", n.v, parent.defined_in));
                } else {
                    own_names.insert(n.v.clone(), n.pos);
                }
            }
            specs.push((s, true));
        }
        for (name, patch) in &t.overrides {
            match specs.iter_mut().find(|(s, _)| s.name() == name.v) {
                Some((s, report)) => {
                    *s = s.patched(patch);
                    *report = true;
                }
                None => self.err(
                    &name.path,
                    name.pos,
                    format!("fieldOverrides: task {tt:?} has no field {:?}", name.v),
                ),
            }
        }
        let mut fields = Vec::with_capacity(specs.len());
        let mut flags: HashMap<String, (String, bool)> = HashMap::new();
        for (s, report) in &specs {
            let f = if *report {
                self.finish(s)
            } else {
                let mut quiet = Cx {
                    errors: Vec::new(),
                    env: self.env,
                };
                quiet.finish(s)
            };
            if f.name.is_empty() {
                continue;
            }
            if let Some((other, other_reported)) = flags.get(&f.cli_arg) {
                // Two fields of one name are reported as such.
                if (*report || *other_reported) && *other != f.name {
                    let (path, pos) = match &s.cli_arg {
                        Some(c) => (c.path.clone(), c.pos),
                        None => (s.path.clone(), s.pos),
                    };
                    self.err(
                        &path,
                        pos,
                        format!(
                            "field {:?} and field {other:?} both pass the flag {}",
                            f.name, f.cli_arg
                        ),
                    );
                }
            } else {
                flags.insert(f.cli_arg.clone(), (f.name.clone(), *report));
            }
            fields.push(f);
        }
        let known: HashSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
        let mut ordered = HashSet::new();
        for n in &t.field_order {
            if !known.contains(n.v.as_str()) {
                self.err(
                    &n.path,
                    n.pos,
                    format!(
                        "fieldOrder names {:?}, which is not a field of this task",
                        n.v
                    ),
                );
            } else if !ordered.insert(n.v.as_str()) {
                self.err(
                    &n.path,
                    n.pos,
                    format!("{:?} is listed twice in fieldOrder", n.v),
                );
            }
        }
        for n in &t.hidden {
            match fields.iter().find(|f| f.name == n.v) {
                None => self.err(
                    &n.path,
                    n.pos,
                    format!(
                        "hiddenFields names {:?}, which is not a field of this task",
                        n.v
                    ),
                ),
                Some(f) if f.required && f.default.is_none() => self.err(
                    &n.path,
                    n.pos,
                    format!(
                        "field {:?} is required and has no default, so it can't be hidden",
                        n.v
                    ),
                ),
                Some(_) => {}
            }
        }
        let inherit = |get: &dyn Fn(&RawTask) -> bool| {
            std::iter::once(t)
                .chain(chain.iter().map(|&a| &raw[a]))
                .find(|r| get(r))
        };
        let runner = inherit(&|r: &RawTask| r.runner.is_some()).and_then(|r| r.runner.clone());
        if runner.is_none() && t.task_type.is_some() {
            self.err(
                &join(&t.path, "runner"),
                t.pos,
                "a task needs a `runner` with a `target` (or `extends` a task that has one)",
            );
        }
        let mut mlflow = inherit(&|r: &RawTask| r.mlflow.is_some())
            .and_then(|r| r.mlflow.clone())
            .unwrap_or_default();
        if mlflow.metric.is_empty() {
            mlflow.metric = "val_accuracy".into();
        }
        if mlflow.mode.is_empty() {
            mlflow.mode = "max".into();
        }
        if mlflow.model_name.is_empty() {
            mlflow.model_name = format!("{tt}-best-model");
        }
        if mlflow.artifact_path.is_empty() {
            mlflow.artifact_path = "model".into();
        }
        Task {
            title: t.title.clone().unwrap_or_else(|| tt.clone()),
            task_type: tt,
            description: t.description.clone().unwrap_or_default(),
            enabled: t.enabled.unwrap_or(true),
            extends: t.extends.as_ref().map(|e| e.v.clone()),
            runner: runner.unwrap_or_default(),
            mlflow,
            field_order: t.field_order.iter().map(|n| n.v.clone()).collect(),
            hidden_fields: t.hidden.iter().map(|n| n.v.clone()).collect(),
            fields,
        }
    }

    /// One field's final shape, reporting what is inconsistent in it.
    fn finish(&mut self, s: &Spec) -> FieldDef {
        let name = s.name().to_string();
        let default = s.default.as_ref().filter(|d| d.v != FieldValue::Null);
        let choices = s.choices.as_ref().filter(|c| !c.v.is_empty());
        let value_type = match (&s.value_type, &s.kind, default.map(|d| &d.v)) {
            (Some(t), _, _) => t.v,
            (None, Some(k), _) if k.v == FieldKind::Boolean => ValueType::Bool,
            (None, _, Some(FieldValue::Bool(_))) => ValueType::Bool,
            (None, _, Some(FieldValue::Int(_))) => ValueType::Int,
            (None, _, Some(FieldValue::Float(_))) => ValueType::Float,
            (None, Some(k), _) if k.v == FieldKind::Number => ValueType::Float,
            _ => ValueType::Str,
        };
        let kind = match &s.kind {
            Some(k) => k.v,
            None if choices.is_some() => FieldKind::Select,
            None if value_type == ValueType::Bool => FieldKind::Boolean,
            None if matches!(value_type, ValueType::Int | ValueType::Float) => FieldKind::Number,
            None => FieldKind::Text,
        };
        let type_at = |s: &Spec| match &s.kind {
            Some(k) => (k.path.clone(), k.pos),
            None => (join(&s.path, "type"), s.pos),
        };
        match kind {
            FieldKind::Boolean if value_type != ValueType::Bool => {
                let (p, pos) = type_at(s);
                self.err(
                    &p,
                    pos,
                    format!("type boolean needs valueType bool (field {name:?})"),
                );
            }
            FieldKind::Number if !matches!(value_type, ValueType::Int | ValueType::Float) => {
                let (p, pos) = type_at(s);
                self.err(
                    &p,
                    pos,
                    format!("type number needs valueType int or float (field {name:?})"),
                );
            }
            FieldKind::Text if value_type == ValueType::Bool => {
                let (p, pos) = type_at(s);
                self.err(
                    &p,
                    pos,
                    format!("valueType bool is shown as type boolean (field {name:?})"),
                );
            }
            FieldKind::Select if choices.is_none() => {
                let (p, pos) = type_at(s);
                self.err(
                    &p,
                    pos,
                    format!("type select needs a non-empty `choices` list (field {name:?})"),
                );
            }
            _ => {}
        }
        let mut typed_choices = Vec::new();
        if let Some(c) = choices {
            if kind != FieldKind::Select {
                self.err(
                    &c.path,
                    c.pos,
                    format!(
                        "choices are for type select, not {} (field {name:?})",
                        kind.name()
                    ),
                );
            }
            for (i, v) in c.v.iter().enumerate() {
                match v.coerce(value_type) {
                    Ok(v) if typed_choices.contains(&v) => {
                        self.err(
                            &format!("{}[{i}]", c.path),
                            c.pos,
                            format!("choice {v} is listed twice"),
                        );
                    }
                    Ok(v) => typed_choices.push(v),
                    Err(e) => self.err(&format!("{}[{i}]", c.path), c.pos, e),
                }
            }
        }
        let mut typed_default = None;
        if let Some(d) = default {
            match d.v.coerce(value_type) {
                Err(e) => self.err(&d.path, d.pos, format!("default: {e}")),
                Ok(v) => {
                    if kind == FieldKind::Select
                        && !typed_choices.is_empty()
                        && !typed_choices.contains(&v)
                    {
                        let list: Vec<String> = typed_choices.iter().map(FieldValue::arg).collect();
                        self.err(
                            &d.path,
                            d.pos,
                            format!(
                                "default {v} is not one of the choices ({})",
                                list.join(", ")
                            ),
                        );
                    }
                    typed_default = Some(v);
                }
            }
        }
        for bound in [&s.min, &s.max, &s.step].into_iter().flatten() {
            if kind != FieldKind::Number {
                self.err(
                    &bound.path,
                    bound.pos,
                    format!("min, max and step are for type number (field {name:?})"),
                );
            }
        }
        if let (Some(lo), Some(hi)) = (&s.min, &s.max) {
            if lo.v > hi.v {
                self.err(
                    &hi.path,
                    hi.pos,
                    format!("min {} is greater than max {}", lo.v, hi.v),
                );
            }
        }
        if let Some(st) = &s.step {
            if st.v <= 0.0 {
                self.err(&st.path, st.pos, "step must be greater than 0");
            }
        }
        if let (Some(d), Some(n)) = (default, typed_default.as_ref().and_then(FieldValue::number)) {
            if let Some(lo) = s.min.as_ref().filter(|lo| n < lo.v) {
                self.err(&d.path, d.pos, format!("default {n} is below min {}", lo.v));
            }
            if let Some(hi) = s.max.as_ref().filter(|hi| n > hi.v) {
                self.err(&d.path, d.pos, format!("default {n} is above max {}", hi.v));
            }
        }
        let cli_arg = match &s.cli_arg {
            None => default_flag(&name),
            Some(c) => {
                let flag = c.v.trim();
                let flag = if flag.starts_with('-') {
                    flag.to_string()
                } else {
                    format!("--{flag}")
                };
                if flag.trim_start_matches('-').is_empty()
                    || flag.contains(|ch: char| ch.is_whitespace() || ch == '=' || ch.is_control())
                {
                    self.err(
                        &c.path,
                        c.pos,
                        format!(
                            "cliArg {:?} must be a flag like --learning-rate (no spaces or `=`)",
                            c.v
                        ),
                    );
                }
                flag
            }
        };
        if let Some(p) = &s.pass_when_empty {
            if p.v && value_type != ValueType::Str {
                self.err(&p.path, p.pos, "passWhenEmpty is for valueType str");
            }
        }
        FieldDef {
            label: s.label.clone().unwrap_or_else(|| name.clone()),
            name,
            value_type,
            kind,
            required: s.required.unwrap_or(false),
            default: typed_default,
            description: s.description.clone().unwrap_or_default(),
            group: s.group.clone().unwrap_or_else(|| DEFAULT_GROUP.into()),
            choices: typed_choices,
            min: s.min.as_ref().map(|m| m.v),
            max: s.max.as_ref().map(|m| m.v),
            step: s.step.as_ref().map(|m| m.v),
            cli_arg,
            pass_when_empty: s.pass_when_empty.as_ref().is_some_and(|p| p.v),
            defined_in: s.defined_in.clone(),
        }
    }

    fn registry(&mut self, node: &Node, tasks: &[Task]) -> Vec<RegistryModel> {
        let mut out: Vec<RegistryModel> = Vec::new();
        let mut ids: HashMap<String, u32> = HashMap::new();
        for (i, item) in self.seq(node, "registryModels").iter().enumerate() {
            let path = format!("registryModels[{i}]");
            let mut m = RegistryModel {
                id: String::new(),
                title: String::new(),
                task_type: String::new(),
                model_name: String::new(),
                description: String::new(),
                default_stage: "release".into(),
                default_version: "latest".into(),
                default_destination_dir: None,
            };
            if item.entries().is_none() {
                self.err(
                    &path,
                    item.pos,
                    "a registry model must be a mapping (`- id: …`)",
                );
                continue;
            }
            for e in self.map(item, &path, REGISTRY_KEYS) {
                let p = join(&path, &e.key.text);
                let Some(v) = self.text(&e.value, &p) else {
                    continue;
                };
                match e.key.text.as_str() {
                    "id" => {
                        let slug = slug(&v);
                        if slug.is_empty() {
                            self.err(&p, e.value.pos, "id must contain a letter or digit");
                        } else if let Some(line) = ids.get(&slug) {
                            self.err(
                                &p,
                                e.value.pos,
                                format!(
                                    "duplicate registry model id {slug:?} (first on line {line})"
                                ),
                            );
                        } else {
                            ids.insert(slug.clone(), e.value.pos.line);
                        }
                        m.id = slug;
                    }
                    "title" => m.title = v,
                    "taskType" => {
                        if !tasks.iter().any(|t| t.task_type == v) {
                            self.err(&p, e.value.pos, format!("no task has taskType {v:?}"));
                        }
                        m.task_type = v;
                    }
                    "modelName" => m.model_name = v,
                    "description" => m.description = v,
                    "defaultStage" => {
                        if !matches!(v.as_str(), "dev" | "release") {
                            self.err(
                                &p,
                                e.value.pos,
                                format!("defaultStage {v:?} must be dev or release"),
                            );
                        }
                        m.default_stage = v;
                    }
                    "defaultVersion" => m.default_version = v,
                    "defaultDestinationDir" => m.default_destination_dir = Some(v),
                    _ => {}
                }
            }
            if m.id.is_empty()
                && !self
                    .errors
                    .iter()
                    .any(|e| e.field.as_deref() == Some(&join(&path, "id")))
            {
                self.err(&path, item.pos, "a registry model needs an `id`");
            }
            if m.title.is_empty() {
                m.title = m.id.clone();
            }
            out.push(m);
        }
        out
    }

    fn runtime(&mut self, node: &Node) -> Vec<u32> {
        let mut ids = Vec::new();
        for e in self.map(node, "runtime", &["availableGpuIds"]) {
            let p = "runtime.availableGpuIds";
            for (i, item) in self.seq(&e.value, p).iter().enumerate() {
                let ip = format!("{p}[{i}]");
                match Value::of(item) {
                    Value::Int(n) if (0..=i128::from(u32::MAX)).contains(&n) => {
                        let n = n as u32;
                        if ids.contains(&n) {
                            self.err(&ip, item.pos, format!("GPU id {n} is listed twice"));
                        } else {
                            ids.push(n);
                        }
                    }
                    _ => self.err(
                        &ip,
                        item.pos,
                        format!(
                            "bad GPU id {}: GPU ids are whole numbers from 0",
                            crate::config::emit::display(item)
                        ),
                    ),
                }
            }
        }
        ids
    }
}

fn derived_model(t: &Task) -> RegistryModel {
    RegistryModel {
        id: slug(&t.task_type),
        title: t.title.clone(),
        task_type: t.task_type.clone(),
        model_name: t.mlflow.model_name.clone(),
        description: t.description.clone(),
        default_stage: "release".into(),
        default_version: "latest".into(),
        default_destination_dir: None,
    }
}

fn is_null(node: &Node) -> bool {
    matches!(&node.kind, Kind::Scalar(s) if s.is_null())
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn task_type_problem(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("must not be empty".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Some(format!(
            "{s:?} may use only letters, digits, `_`, `-` and `.`"
        ));
    }
    name_problem(s)
}

/// `Classification Model` → `classification-model`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// `$VAR` and `${VAR}` from `env`; unset variables stay as written.
pub(crate) fn expand_vars(s: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    if !s.contains('$') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match (is_identifier(name), consumed > 0) {
            (true, true) => match env(name) {
                Some(v) => out.push_str(&v),
                None => out.push_str(&rest[i..i + 1 + consumed]),
            },
            _ => out.push('$'),
        }
        rest = &rest[i + 1 + if is_identifier(name) { consumed } else { 0 }..];
    }
    out.push_str(rest);
    out
}
