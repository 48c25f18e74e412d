//! The components store's shared rules: the categories, store paths and how
//! they map onto a worker's tree, which components a config references,
//! and the sync decision (conflict type × strategy). The server decides with
//! this code; the agent and `trainyard components sync` read configs with it.
//!
//! A store path is `<category>/<name>.py` (`agent/classification.py`,
//! `model/resnet.py`); on a worker it is `cvlabkit/agent/<name>.py` or
//! `cvlabkit/component/<category>/<name>.py`, CVLab-Kit's layout. Content is
//! addressed by the xxh3-64 of its UTF-8 bytes, 16 lowercase hex digits
//! ([`crate::sync::xxh3_hex`]), the hash CVLab-Kit's client computes.

mod decision;
mod wire;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::Value;

pub use decision::{decide, ConflictKind, Resolution, SyncAction, SyncStrategy};
pub use wire::*;

/// Every category a component may be filed under (CVLab-Kit's list).
pub const CATEGORIES: [&str; 13] = [
    "agent",
    "model",
    "dataset",
    "dataloader",
    "transform",
    "optimizer",
    "loss",
    "metric",
    "scheduler",
    "sampler",
    "solver",
    "checkpoint",
    "logger",
];

/// Largest component (or `code:` file) the store accepts, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 4 << 20;

/// A valid `<category>/<name>.py`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StorePath {
    category: String,
    name: String,
}

/// Why a store path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorePathError {
    #[error("{0:?} is not <category>/<name>.py")]
    Shape(String),
    #[error("unknown category {0:?}; valid categories: {list}", list = CATEGORIES.join(", "))]
    Category(String),
    #[error("component name {0:?} must be a Python identifier (letters, digits, _; not starting with a digit)")]
    Name(String),
}

impl StorePath {
    /// `category` and `name` (without `.py`), checked.
    pub fn new(category: &str, name: &str) -> Result<StorePath, StorePathError> {
        if !CATEGORIES.contains(&category) {
            return Err(StorePathError::Category(category.to_string()));
        }
        if !is_identifier(name) {
            return Err(StorePathError::Name(name.to_string()));
        }
        Ok(StorePath {
            category: category.to_string(),
            name: name.to_string(),
        })
    }

    pub fn category(&self) -> &str {
        &self.category
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the file lives under a worker's (or a components dir's) root.
    pub fn worker_file(&self) -> String {
        if self.category == "agent" {
            format!("cvlabkit/agent/{}.py", self.name)
        } else {
            format!("cvlabkit/component/{}/{}.py", self.category, self.name)
        }
    }

    /// The store path of a worker-relative file (`cvlabkit/...`), if it is one.
    pub fn from_worker_file(relative: &str) -> Option<StorePath> {
        let rest = relative.strip_prefix("cvlabkit/")?;
        let stem = |file: &str| file.strip_suffix(".py").map(str::to_string);
        let parts: Vec<&str> = rest.split('/').collect();
        match parts.as_slice() {
            ["agent", file] => StorePath::new("agent", &stem(file)?).ok(),
            ["component", category, file] if *category != "agent" => {
                StorePath::new(category, &stem(file)?).ok()
            }
            _ => None,
        }
    }
}

impl fmt::Display for StorePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}.py", self.category, self.name)
    }
}

impl FromStr for StorePath {
    type Err = StorePathError;

    /// `model/resnet.py` (also `model/resnet`; a leading or trailing `/`
    /// and `\` separators are tolerated, as CVLab-Kit's server does).
    fn from_str(s: &str) -> Result<StorePath, StorePathError> {
        let normal = s.replace('\\', "/");
        let trimmed = normal.trim_matches('/');
        let trimmed = trimmed.strip_suffix(".py").unwrap_or(trimmed);
        match trimmed.split('/').collect::<Vec<_>>().as_slice() {
            [category, name] => StorePath::new(category, name),
            _ => Err(StorePathError::Shape(s.chars().take(200).collect())),
        }
    }
}

impl TryFrom<String> for StorePath {
    type Error = StorePathError;
    fn try_from(s: String) -> Result<StorePath, StorePathError> {
        s.parse()
    }
}

impl From<StorePath> for String {
    fn from(p: StorePath) -> String {
        p.to_string()
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 128
}

/// Every component a (resolved) experiment config references, sorted and
/// without repeats: `agent: classification`, `model: resnet18(num_classes=10)`,
/// `transform: a | b(x=1)`, nested keys (`dataset: {train: cifar10(...)}`)
/// and lists of such values. Only top-level keys named after a category
/// count; a value that is not a component name (`lr: 0.1`) is left out.
pub fn referenced_components(config: &Value) -> Vec<StorePath> {
    let Value::Map(entries) = config else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (key, value) in entries {
        if CATEGORIES.contains(&key.as_str()) {
            collect_names(key, value, &mut found);
        }
    }
    found.sort();
    found.dedup();
    found
}

fn collect_names(category: &str, value: &Value, found: &mut Vec<StorePath>) {
    match value {
        Value::String(text) => {
            for piece in split_pipeline(text) {
                if let Ok(path) = StorePath::new(category, call_name(piece)) {
                    found.push(path);
                }
            }
        }
        Value::List(items) => items.iter().for_each(|v| collect_names(category, v, found)),
        Value::Map(entries) => entries
            .iter()
            .for_each(|(_, v)| collect_names(category, v, found)),
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => {}
    }
}

/// `a | b(x=1, y="|")` → `["a", "b(x=1, y=\"|\")"]`: splits on `|` outside
/// parentheses, brackets and quotes.
fn split_pipeline(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, '|') if depth == 0 => {
                pieces.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(text[start..].trim());
    pieces.retain(|p| !p.is_empty());
    pieces
}

/// `resnet18(num_classes=10)` → `resnet18`.
fn call_name(piece: &str) -> &str {
    piece.split('(').next().unwrap_or(piece).trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_experiment;

    fn refs(yaml: &str) -> Vec<String> {
        let config = parse_experiment(yaml).expect("the config parses").value();
        referenced_components(&config)
            .into_iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn store_paths_are_checked_and_map_onto_the_worker_tree() {
        let model: StorePath = "model/resnet.py".parse().expect("valid");
        assert_eq!(model.worker_file(), "cvlabkit/component/model/resnet.py");
        let agent: StorePath = "/agent\\classification".parse().expect("tolerated");
        assert_eq!(agent.to_string(), "agent/classification.py");
        assert_eq!(agent.worker_file(), "cvlabkit/agent/classification.py");
        assert_eq!(
            StorePath::from_worker_file("cvlabkit/component/loss/ce.py"),
            Some("loss/ce.py".parse().expect("valid"))
        );
        assert_eq!(StorePath::from_worker_file("cvlabkit/core/config.py"), None);
        assert!(matches!(
            "widget/x.py".parse::<StorePath>(),
            Err(StorePathError::Category(_))
        ));
        assert!(matches!(
            "model/../../etc.py".parse::<StorePath>(),
            Err(StorePathError::Shape(_))
        ));
        assert!(matches!(
            "model/0.456.py".parse::<StorePath>(),
            Err(StorePathError::Name(_))
        ));
        let message = StorePathError::Category("widget".into()).to_string();
        assert!(message.contains("agent, model"), "{message}");
    }

    #[test]
    fn a_cvlabkit_config_names_its_components() {
        let yaml = "agent: classification\n\
            model: resnet18(num_classes=10)\n\
            transform: \"resize(size=128) | to_tensor | normalize(mean=[0.485, 0.456], std=[0.2, 0.3])\"\n\
            dataset:\n  train: cifar10(split=train)\n  val: cifar10(split=val)\n\
            dataloader:\n  train: basic(split=train, shuffle=true)\n\
            optimizer: adam\nlr: 0.001\nmetric: a | b(x=1)\nloss:\n";
        assert_eq!(
            refs(yaml),
            [
                "agent/classification.py",
                "dataloader/basic.py",
                "dataset/cifar10.py",
                "metric/a.py",
                "metric/b.py",
                "model/resnet18.py",
                "optimizer/adam.py",
                "transform/normalize.py",
                "transform/resize.py",
                "transform/to_tensor.py",
            ]
        );
    }
}
