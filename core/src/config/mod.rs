//! Experiment configs: parsing, validation and grid expansion.
//!
//! The same code counts and previews a sweep in the browser (wasm) as the
//! user types and expands it on the server, so the two never disagree. See
//! `docs/config.md` for the syntax.

mod calls;
mod command;
mod distributed;
pub(crate) mod emit;
mod error;
mod flow_indent;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub(crate) mod grid;
mod names;
mod scheduling;
pub(crate) mod tree;
pub(crate) mod value;

pub use command::{split_command, CommandError};
pub use distributed::Launcher;
pub use error::{ConfigError, ConfigErrors, Pos};
pub use grid::Axis;
pub use names::{name_problem, MAX_NAME_LEN};
pub use scheduling::{Scheduling, RESERVED_KEYS};
pub use value::Value;

use names::{component_problem, parse_template, sanitize, Piece, UniqueNames};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tree::{Kind, Node, Scalar};

/// Generated `key=value` names longer than this fall back to an index.
const READABLE_NAME_LEN: usize = 64;

/// The largest sweep a server accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepLimits {
    pub max_runs: u64,
}

impl Default for SweepLimits {
    fn default() -> Self {
        SweepLimits { max_runs: 1000 }
    }
}

/// A parsed, validated config: scheduler settings plus the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub scheduling: Scheduling,
    pub axes: Vec<Axis>,
    doc: Node,
    paths: Vec<grid::Path>,
    template: Option<Vec<Piece>>,
    /// Index of the top-level `name`/`run_name` entry.
    name_entry: Option<usize>,
    /// Per axis, the key used in generated names (`lr` for `optimizer.lr`).
    short_keys: Vec<String>,
}

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Position in the sweep, from 0.
    pub index: usize,
    /// Unique within the sweep and safe as a folder name.
    pub name: String,
    /// Axis key → display value, in axis order.
    pub params: Vec<(String, String)>,
    /// The resolved config the job reads (`TRAINYARD_CONFIG`).
    pub config_yaml: String,
}

/// Parses and validates a config; returns every problem found.
pub fn parse_experiment(yaml: &str) -> Result<Experiment, ConfigErrors> {
    let doc = tree::parse_document(yaml).map_err(ConfigErrors::from)?;
    experiment_from(doc)
}

/// Validates a parsed document (or one built in code, like a launch's:
/// without the YAML parser, which the browser then need not load).
pub(crate) fn experiment_from(doc: Option<Node>) -> Result<Experiment, ConfigErrors> {
    let doc = match doc {
        Some(d) if matches!(d.kind, Kind::Map(_)) => d,
        _ => {
            return Err(ConfigError::at(
                "a config must be a YAML mapping of `key: value` lines, e.g. `epochs: 10`",
                None,
                Pos::START,
            )
            .into())
        }
    };
    let entries = doc.entries().unwrap_or_default();
    let mut errors = Vec::new();
    let scheduling = scheduling::read(entries, &mut errors);
    let (axes, paths): (Vec<_>, Vec<_>) = grid::find_axes(entries, &mut errors).into_iter().unzip();
    let name_entry = entries
        .iter()
        .position(|e| matches!(e.key.text.as_str(), "name" | "run_name"));
    let template = match (&scheduling.name_template, name_entry) {
        (Some(t), Some(i)) => check_template(t, &entries[i].value, &doc, &mut errors),
        _ => None,
    };
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.line, e.column));
        return Err(ConfigErrors(errors));
    }
    let short_keys = short_keys(&axes);
    Ok(Experiment {
        scheduling,
        axes,
        doc,
        paths,
        template,
        name_entry,
        short_keys,
    })
}

fn check_template(
    t: &str,
    node: &Node,
    doc: &Node,
    errors: &mut Vec<ConfigError>,
) -> Option<Vec<Piece>> {
    let field = Some("name");
    // Column of a char offset inside the template, for one-line templates.
    let at = |offset: usize| {
        let quoted = matches!(&node.kind, Kind::Scalar(s) if s.style == tree::Style::Quoted);
        let shift = u32::try_from(offset).unwrap_or(0) + u32::from(quoted);
        Pos {
            line: node.pos.line,
            column: if t.contains('\n') {
                node.pos.column
            } else {
                node.pos.column + shift
            },
        }
    };
    let pieces = match parse_template(t) {
        Ok(p) => p,
        Err((msg, offset)) => {
            errors.push(ConfigError::at(msg, field, at(offset)));
            return None;
        }
    };
    let before = errors.len();
    let has_keys = pieces.iter().any(|p| matches!(p, Piece::Key { .. }));
    if !has_keys {
        if let Some(problem) = component_problem(t) {
            errors.push(ConfigError::at(
                format!("run name {t:?} {problem}"),
                field,
                node.pos,
            ));
        }
    }
    for p in &pieces {
        match p {
            Piece::Text(text)
                if text.contains(['/', '\\']) || text.chars().any(char::is_control) =>
            {
                errors.push(ConfigError::at(
                    "the name template must not contain '/', '\\' or control characters",
                    field,
                    node.pos,
                ));
            }
            Piece::Key { key, offset } if matches!(key.as_str(), "name" | "run_name") => {
                errors.push(ConfigError::at(
                    format!("{{{{{key}}}}} refers to the name itself"),
                    field,
                    at(*offset),
                ));
            }
            Piece::Key { key, offset } if !grid::resolves_in_every_run(doc, key) => {
                errors.push(ConfigError::at(
                    format!("unknown placeholder {{{{{key}}}}}: no key `{key}` in this config"),
                    field,
                    at(*offset),
                ));
            }
            _ => {}
        }
    }
    (errors.len() == before).then_some(pieces)
}

/// Last dotted segment of each axis key, or the full key where two clash.
/// Counts the segments once: comparing every axis with every other made
/// parsing 20,000 axes take 15 s.
fn short_keys(axes: &[Axis]) -> Vec<String> {
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
    let mut uses: HashMap<String, usize> = HashMap::new();
    for a in axes {
        *uses.entry(last(&a.key)).or_default() += 1;
    }
    axes.iter()
        .map(|a| {
            let s = last(&a.key);
            if uses.get(&s).is_some_and(|&n| n > 1) {
                a.key.clone()
            } else {
                s
            }
        })
        .collect()
}

impl Experiment {
    /// Number of runs in the sweep, saturating at `u64::MAX`.
    pub fn run_count(&self) -> u64 {
        grid::count(&self.axes).unwrap_or(u64::MAX)
    }

    /// Refuses a sweep larger than the server's cap.
    pub fn check_limits(&self, limits: &SweepLimits) -> Result<(), ConfigErrors> {
        let count = grid::count(&self.axes);
        if count.is_some_and(|n| n <= limits.max_runs) {
            return Ok(());
        }
        let has = match count {
            Some(n) => format!("has {} runs", thousands(n)),
            None => format!("has more than {} runs", thousands(u64::MAX)),
        };
        Err(ConfigError::general(format!(
            "this sweep {has}; the limit is {} (server setting --max-sweep-size)",
            thousands(limits.max_runs)
        ))
        .into())
    }

    /// Every run, in order (first axis slowest), after checking the cap.
    pub fn expand(&self, limits: &SweepLimits) -> Result<Vec<RunSpec>, ConfigErrors> {
        self.check_limits(limits)?;
        Ok(self.runs(self.run_count()))
    }

    /// The first `max_rows` runs, exactly as `expand` would give them.
    pub fn preview(&self, max_rows: usize) -> Vec<RunSpec> {
        self.runs(self.run_count().min(max_rows as u64))
    }

    /// The whole document as typed values (reserved keys included).
    pub fn value(&self) -> Value {
        Value::of(&self.doc)
    }

    /// The typed value at a dotted key, e.g. `optimizer.lr`; a grid axis
    /// gives its whole list.
    pub fn value_at(&self, key: &str) -> Option<Value> {
        grid::lookup(&self.doc, key).map(Value::of)
    }

    fn runs(&self, n: u64) -> Vec<RunSpec> {
        let mut names = UniqueNames::default();
        (0..n).map(|i| self.run(i, &mut names)).collect()
    }

    fn run(&self, index: u64, names: &mut UniqueNames) -> RunSpec {
        let digits = grid::point(&self.axes, index);
        let mut doc = grid::resolve(&self.doc, &self.paths, &digits);
        let params: Vec<(String, String)> = self
            .axes
            .iter()
            .zip(&digits)
            .map(|(a, &d)| (a.key.clone(), a.values.get(d).cloned().unwrap_or_default()))
            .collect();
        let base = match &self.template {
            Some(pieces) => fill_template(pieces, &doc),
            None => self.generated_name(index, &params),
        };
        let name = names.claim(sanitize(&base));
        if let (Some(i), Kind::Map(entries)) = (self.name_entry, &mut doc.kind) {
            if let Some(e) = entries.get_mut(i) {
                e.value = Node::scalar(Scalar::quoted(name.clone()), e.value.pos);
            }
        }
        RunSpec {
            index: usize::try_from(index).unwrap_or(usize::MAX),
            name,
            params,
            config_yaml: emit::to_yaml(&doc),
        }
    }

    fn generated_name(&self, index: u64, params: &[(String, String)]) -> String {
        let prefix = self.scheduling.project.as_deref().unwrap_or("run");
        if params.is_empty() {
            return prefix.to_string();
        }
        let mut name = prefix.to_string();
        for ((_, value), short) in params.iter().zip(&self.short_keys) {
            name.push('-');
            name.push_str(short);
            name.push('=');
            name.push_str(value);
        }
        if name.chars().count() <= READABLE_NAME_LEN && !name.contains('\n') {
            return name;
        }
        let width = self.run_count().to_string().len();
        format!("{prefix}-{:0width$}", index + 1)
    }
}

fn fill_template(pieces: &[Piece], doc: &Node) -> String {
    let mut out = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Key { key, .. } => {
                if let Some(node) = grid::lookup(doc, key) {
                    out.push_str(&emit::display(node));
                }
            }
        }
    }
    out
}

/// `1296` → `1,296`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
