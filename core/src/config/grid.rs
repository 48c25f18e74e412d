//! Grid axes: finding every list in the experiment's own config, counting
//! the cartesian product without building it, and resolving one point.

use super::emit::display;
use super::error::ConfigError;
use super::scheduling::RESERVED_KEYS;
use super::tree::{Entry, Kind, Node};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// One grid axis: a list in the config, one run per value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    /// Dotted path of the list, e.g. `optimizer.lr`.
    pub key: String,
    /// Display text of each value, in order.
    pub values: Vec<String>,
    /// 1-based line of the key.
    pub line: u32,
}

/// Where an axis sits: entry indices from the root mapping down.
pub(crate) type Path = Vec<usize>;

/// Every untagged, non-empty list reachable from the root through mappings
/// only, skipping the reserved top-level keys. Lists inside lists are
/// values, not axes.
/// Axes come in document order, so their paths are sorted.
pub(crate) fn find_axes(root: &[Entry], errors: &mut Vec<ConfigError>) -> Vec<(Axis, Path)> {
    let mut axes = Vec::new();
    let mut keys = HashSet::new();
    walk(
        root,
        "",
        &mut Vec::new(),
        true,
        &mut axes,
        &mut keys,
        errors,
    );
    axes
}

fn walk(
    entries: &[Entry],
    prefix: &str,
    path: &mut Vec<usize>,
    top: bool,
    axes: &mut Vec<(Axis, Path)>,
    keys: &mut HashSet<String>,
    errors: &mut Vec<ConfigError>,
) {
    for (i, e) in entries.iter().enumerate() {
        if top && RESERVED_KEYS.contains(&e.key.text.as_str()) {
            continue;
        }
        let key = if prefix.is_empty() {
            e.key.text.clone()
        } else {
            format!("{prefix}.{}", e.key.text)
        };
        path.push(i);
        match &e.value.kind {
            // A tagged sequence (`betas: !!python/tuple [0.9, 0.999]`) and an
            // empty list are values, as CVLab-Kit's `Config.expand()` reads
            // them: a sweep of a lab's config has the same runs in both.
            Kind::Seq(_) if e.value.tag.is_some() => {}
            Kind::Seq(items) if items.is_empty() => {}
            Kind::Seq(items) => {
                if !keys.insert(key.clone()) {
                    errors.push(ConfigError::at(
                        "two grid axes have this same dotted key; rename one",
                        Some(&key),
                        e.key_pos,
                    ));
                }
                let axis = Axis {
                    key,
                    values: items.iter().map(display).collect(),
                    line: e.key_pos.line,
                };
                axes.push((axis, path.clone()));
            }
            Kind::Map(inner) => walk(inner, &key, path, false, axes, keys, errors),
            Kind::Scalar(_) => {}
        }
        path.pop();
    }
}

/// Number of runs, `None` past `u64::MAX`.
pub(crate) fn count(axes: &[Axis]) -> Option<u64> {
    axes.iter()
        .try_fold(1u64, |n, a| n.checked_mul(a.values.len() as u64))
}

/// The value index on each axis for run `index`; the first axis varies slowest.
pub(crate) fn point(axes: &[Axis], index: u64) -> Vec<usize> {
    let mut rest = index;
    let mut digits = vec![0; axes.len()];
    for (d, a) in digits.iter_mut().zip(axes).rev() {
        let len = a.values.len().max(1) as u64;
        *d = usize::try_from(rest % len).unwrap_or(0);
        rest /= len;
    }
    digits
}

/// The document with each axis list replaced by its chosen value. Copies
/// only what it keeps: cloning the whole document and then dropping the
/// lists made a sweep of n points cost O(n²) (20,000 runs took 25 s).
pub(crate) fn resolve(doc: &Node, paths: &[Path], digits: &[usize]) -> Node {
    let chosen: Vec<(&[usize], usize)> = paths
        .iter()
        .map(Vec::as_slice)
        .zip(digits.iter().copied())
        .collect();
    copy_resolved(doc, &chosen, 0)
}

/// `chosen` holds the axes under `node` (their paths agree with it up to
/// `depth`), sorted by path as `find_axes` gives them.
fn copy_resolved(node: &Node, chosen: &[(&[usize], usize)], depth: usize) -> Node {
    if chosen.is_empty() {
        return node.clone();
    }
    if let Some(&(_, d)) = chosen.iter().find(|(path, _)| path.len() == depth) {
        if let Kind::Seq(items) = &node.kind {
            if let Some(item) = items.get(d) {
                return item.clone();
            }
        }
        return node.clone();
    }
    let Kind::Map(entries) = &node.kind else {
        return node.clone();
    };
    // Sorted paths put the axes under entry `i` next to each other, so each
    // entry takes its share from the front instead of filtering them all
    // (which cost entries × axes per run).
    let mut rest = chosen;
    let entries = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let n = rest
                .iter()
                .take_while(|(path, _)| path.get(depth) == Some(&i))
                .count();
            let (below, after) = rest.split_at(n);
            rest = after;
            Entry {
                key: entry.key.clone(),
                key_pos: entry.key_pos,
                value: copy_resolved(&entry.value, below, depth + 1),
            }
        })
        .collect();
    Node {
        kind: Kind::Map(entries),
        pos: node.pos,
        tag: node.tag.clone(),
    }
}

/// The node at a dotted key; keys that contain dots themselves still match.
pub(crate) fn lookup<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    let Kind::Map(entries) = &node.kind else {
        return None;
    };
    entries.iter().find_map(|e| {
        if e.key.text == key {
            Some(&e.value)
        } else {
            let rest = key.strip_prefix(e.key.text.as_str())?.strip_prefix('.')?;
            lookup(&e.value, rest)
        }
    })
}

/// Whether `key` has a value in every run: through an axis list, every value
/// of the list must have it.
pub(crate) fn resolves_in_every_run(root: &Node, key: &str) -> bool {
    fn go(node: &Node, key: &str, top: bool, in_grid: bool) -> bool {
        match &node.kind {
            Kind::Map(entries) => entries.iter().any(|e| {
                if e.key.text == key {
                    return true;
                }
                let grid = in_grid && !(top && RESERVED_KEYS.contains(&e.key.text.as_str()));
                key.strip_prefix(e.key.text.as_str())
                    .and_then(|r| r.strip_prefix('.'))
                    .is_some_and(|rest| go(&e.value, rest, false, grid))
            }),
            Kind::Seq(items) if in_grid => items.iter().all(|i| go(i, key, false, false)),
            _ => false,
        }
    }
    go(root, key, true, true)
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse_document;
    use super::*;

    fn axes_of(src: &str) -> (Vec<Axis>, Vec<ConfigError>) {
        let doc = parse_document(src).ok().flatten();
        let mut errors = Vec::new();
        let axes = doc
            .as_ref()
            .and_then(Node::entries)
            .map(|e| find_axes(e, &mut errors))
            .unwrap_or_default();
        (axes.into_iter().map(|(a, _)| a).collect(), errors)
    }

    #[test]
    fn lists_in_mappings_are_axes_and_lists_in_lists_are_values() {
        let (axes, errors) = axes_of(
            "command: [python, x.py]\noptimizer:\n  lr: [0.1, 0.01]\n  name: adam\nlayers: [[1, 2], [3]]\nq: \"[1, 2]\"\n",
        );
        assert!(errors.is_empty());
        let keys: Vec<_> = axes
            .iter()
            .map(|a| (a.key.as_str(), a.values.len(), a.line))
            .collect();
        assert_eq!(keys, [("optimizer.lr", 2, 3), ("layers", 2, 5)]);
        assert_eq!(axes[1].values, ["[1, 2]", "[3]"]);
    }

    #[test]
    fn empty_lists_are_values_not_axes() {
        let (axes, errors) = axes_of("a:\n  b: []\nc: [1, 2]\n");
        assert!(errors.is_empty());
        let keys: Vec<_> = axes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["c"]);
    }

    #[test]
    fn points_count_with_the_first_axis_slowest() {
        let (axes, _) = axes_of("a: [1, 2]\nb: [x, y, z]\n");
        assert_eq!(count(&axes), Some(6));
        assert_eq!(point(&axes, 0), [0, 0]);
        assert_eq!(point(&axes, 1), [0, 1]);
        assert_eq!(point(&axes, 3), [1, 0]);
        assert_eq!(point(&axes, 5), [1, 2]);
    }

    #[test]
    fn dotted_lookups_see_through_axes_only_when_every_value_has_the_key() {
        let doc = parse_document("m: [{d: 1}, {d: 2}]\nn: [{d: 1}, {e: 2}]\na.b: {c: 3}\n")
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                Node::scalar(super::super::tree::Scalar::quoted(""), Default::default())
            });
        assert!(resolves_in_every_run(&doc, "m.d"));
        assert!(!resolves_in_every_run(&doc, "n.d"));
        assert!(resolves_in_every_run(&doc, "a.b.c"));
        assert!(lookup(&doc, "a.b.c").is_some());
    }
}
