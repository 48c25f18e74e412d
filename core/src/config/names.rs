//! Run names: `{{dotted.key}}` templates, generated `key=value` names, and
//! the rules that keep every name a safe, unique path component.

use std::collections::HashSet;

/// Longest run name or project, in characters.
pub const MAX_NAME_LEN: usize = 100;

/// Why `s` can't be a path component (run directory, project folder).
pub(crate) fn component_problem(s: &str) -> Option<String> {
    let len = s.chars().count();
    if len == 0 {
        return Some("must not be empty".into());
    }
    if len > MAX_NAME_LEN {
        return Some(format!(
            "is {len} characters long; the limit is {MAX_NAME_LEN}"
        ));
    }
    if s.contains(['/', '\\']) {
        return Some("must not contain '/' or '\\' (it becomes a folder name)".into());
    }
    if s.contains("..") {
        return Some("must not contain '..'".into());
    }
    if s.chars().any(char::is_control) {
        return Some("must not contain control characters".into());
    }
    if s.starts_with('.') {
        return Some("must not start with '.'".into());
    }
    None
}

/// Why `s` can't name a project or run (it becomes a folder name), or
/// `None`; for names that come from elsewhere than a config (an MLflow
/// experiment).
pub fn name_problem(s: &str) -> Option<String> {
    component_problem(s)
}

/// Turns any text into a safe path component, keeping it readable.
pub(crate) fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_control() || c.is_whitespace() || "/\\:*?\"<>|".contains(c) {
            '_'
        } else {
            c
        };
        // `..` becomes `._` so no name can climb out of its folder.
        if c == '.' && out.ends_with('.') {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    if out.starts_with('.') {
        out.insert(0, '_');
    }
    let mut out = truncate(&out, MAX_NAME_LEN);
    if out.is_empty() {
        out.push_str("run");
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// One piece of a name template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    /// A `{{key}}` placeholder and its char offset within the template.
    Key {
        key: String,
        offset: usize,
    },
}

/// Splits `lr{{optimizer.lr}}-bs{{batch_size}}` into pieces.
pub(crate) fn parse_template(t: &str) -> Result<Vec<Piece>, (String, usize)> {
    let mut pieces = Vec::new();
    let mut rest = t;
    let mut offset = 0;
    while let Some(open) = rest.find("{{") {
        let Some(close) = rest[open + 2..].find("}}") else {
            let at = offset + rest[..open].chars().count();
            return Err(("`{{` is not closed with `}}`".into(), at));
        };
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let at = offset + rest[..open].chars().count();
        let key = rest[open + 2..open + 2 + close].trim();
        if key.is_empty() {
            return Err((
                "`{{}}` names no key; write e.g. {{optimizer.lr}}".into(),
                at,
            ));
        }
        pieces.push(Piece::Key {
            key: key.to_string(),
            offset: at,
        });
        let end = open + 2 + close + 2;
        offset += rest[..end].chars().count();
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

/// Hands out names in run order, appending `-2`, `-3`… to repeats. A run's
/// name depends only on the runs before it, so a preview matches the sweep.
#[derive(Default)]
pub(crate) struct UniqueNames {
    used: HashSet<String>,
}

impl UniqueNames {
    pub fn claim(&mut self, base: String) -> String {
        if self.used.insert(base.clone()) {
            return base;
        }
        for n in 2u64.. {
            let suffix = format!("-{n}");
            let head = truncate(&base, MAX_NAME_LEN - suffix.len());
            let candidate = format!("{head}{suffix}");
            if self.used.insert(candidate.clone()) {
                return candidate;
            }
        }
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitized_names_are_safe_components() {
        for raw in [
            "../etc",
            "a/b\\c",
            ".hidden",
            "x\ny",
            "",
            "...",
            "a b",
            &"z".repeat(300),
        ] {
            let s = sanitize(raw);
            assert_eq!(component_problem(&s), None, "{raw:?} -> {s:?}");
        }
        assert_eq!(sanitize("lr0.1-bs32"), "lr0.1-bs32");
    }

    #[test]
    fn templates_split_into_text_and_keys() {
        assert_eq!(
            parse_template("lr{{ optimizer.lr }}-x"),
            Ok(vec![
                Piece::Text("lr".into()),
                Piece::Key {
                    key: "optimizer.lr".into(),
                    offset: 2
                },
                Piece::Text("-x".into()),
            ])
        );
        assert_eq!(parse_template("a{{b").map_err(|e| e.1), Err(1));
    }

    #[test]
    fn repeated_names_get_numbered_suffixes() {
        let mut u = UniqueNames::default();
        let got: Vec<_> = ["a", "a", "a-2", "a"].map(|s| u.claim(s.into())).into();
        assert_eq!(got, ["a", "a-2", "a-2-2", "a-3"]);
        let long = "x".repeat(MAX_NAME_LEN);
        assert_eq!(u.claim(long.clone()), long);
        let second = u.claim(long);
        assert_eq!(second.chars().count(), MAX_NAME_LEN);
        assert!(second.ends_with("-2"));
    }
}
