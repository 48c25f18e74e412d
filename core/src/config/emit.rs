//! Writes a document back as block-style YAML that re-parses to the same
//! values, and renders single values as short display text.

use super::calls::plain_text_is_stable;
use super::tree::{Kind, Node, Scalar, Style};
use std::fmt::Write;

/// The document as YAML text, ending in a newline.
pub(crate) fn to_yaml(doc: &Node) -> String {
    let mut out = String::new();
    match &doc.kind {
        Kind::Map(entries) if !entries.is_empty() => {
            if let Some(tag) = &doc.tag {
                let _ = writeln!(out, "{tag}");
            }
            map(&mut out, doc, 0);
        }
        _ => {
            inline_value(&mut out, doc);
            out.push('\n');
        }
    }
    out
}

/// One value on one line: scalars as their text, collections in flow style.
pub(crate) fn display(node: &Node) -> String {
    match &node.kind {
        Kind::Scalar(s) => s.text.clone(),
        _ => {
            let mut out = String::new();
            flow(&mut out, node);
            out
        }
    }
}

fn map(out: &mut String, node: &Node, indent: usize) {
    let Kind::Map(entries) = &node.kind else {
        return;
    };
    for e in entries {
        let mut key = String::new();
        scalar(&mut key, &e.key, false);
        pad(out, indent);
        // YAML caps implicit keys at 1024 characters; longer ones need the
        // explicit `? key` form.
        if key.chars().count() > 1000 {
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            pad(out, indent);
        } else {
            out.push_str(&key);
        }
        out.push(':');
        child(out, &e.value, indent);
    }
}

fn seq(out: &mut String, node: &Node, indent: usize) {
    let Kind::Seq(items) = &node.kind else { return };
    for item in items {
        pad(out, indent);
        out.push('-');
        child(out, item, indent);
    }
}

/// The rest of a `key:` or `-` line, and the lines of a nested collection.
fn child(out: &mut String, node: &Node, indent: usize) {
    let nested = match &node.kind {
        Kind::Map(e) => !e.is_empty(),
        Kind::Seq(i) => !i.is_empty(),
        Kind::Scalar(_) => false,
    };
    if !nested {
        out.push(' ');
        inline_value(out, node);
        out.push('\n');
        return;
    }
    if let Some(tag) = &node.tag {
        out.push(' ');
        out.push_str(tag);
    }
    out.push('\n');
    if matches!(node.kind, Kind::Map(_)) {
        map(out, node, indent + 2);
    } else {
        seq(out, node, indent + 2);
    }
}

fn inline_value(out: &mut String, node: &Node) {
    if let (Some(tag), false) = (&node.tag, matches!(node.kind, Kind::Scalar(_))) {
        out.push_str(tag);
        out.push(' ');
    }
    match &node.kind {
        Kind::Scalar(s) => scalar(out, s, false),
        Kind::Seq(_) => out.push_str("[]"),
        Kind::Map(_) => out.push_str("{}"),
    }
}

fn flow(out: &mut String, node: &Node) {
    match &node.kind {
        Kind::Scalar(s) => scalar(out, s, true),
        Kind::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(out, item);
            }
            out.push(']');
        }
        Kind::Map(entries) => {
            out.push('{');
            for (i, e) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                scalar(out, &e.key, true);
                out.push_str(": ");
                flow(out, &e.value);
            }
            out.push('}');
        }
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar(out: &mut String, s: &Scalar, in_flow: bool) {
    if let Some(tag) = &s.tag {
        out.push_str(tag);
        out.push(' ');
    }
    let plain_ok = match s.style {
        Style::Plain => {
            (plain_safe(&s.text, in_flow) && plain_text_is_stable(&s.text))
                || (s.text.is_empty() && s.tag.is_none())
        }
        // Kept quoted even when YAML 1.2 would read it as a string anyway:
        // PyYAML (YAML 1.1) reads a plain `yes` or `1_000` differently.
        Style::Quoted => false,
    };
    if plain_ok && !(s.text.is_empty() && s.tag.is_some()) {
        if s.text.is_empty() {
            out.push('~');
        } else {
            out.push_str(&s.text);
        }
    } else {
        double_quoted(out, &s.text);
    }
}

/// Whether text can be written as a plain scalar and read back unchanged.
fn plain_safe(t: &str, in_flow: bool) -> bool {
    let Some(first) = t.chars().next() else {
        return false;
    };
    let second = t.chars().nth(1);
    let indicator_start = match first {
        '-' | '?' | ':' => second.is_none_or(|c| c == ' ' || (in_flow && ",[]{}".contains(c))),
        c => "[]{},#&*!|>'\"%@`".contains(c),
    };
    let bad_char = t.chars().any(|c| {
        c.is_control() || c == '\u{FEFF}' || (in_flow && ",[]{}".contains(c)) || !printable(c)
    });
    !indicator_start
        && !bad_char
        && (in_flow || !leaves_a_bracket_open(t))
        && !t.starts_with(' ')
        && !t.ends_with(' ')
        && !t.ends_with(':')
        && !t.contains(": ")
        && !t.contains(" #")
        && !t.starts_with("---")
        && !t.starts_with("...")
}

/// Whether the brackets in the text leave one open at its end. The YAML
/// reader (saphyr) counts `[`/`{` inside a block plain scalar as entering a
/// flow collection, so `a[b: 1` followed by another key no longer parses;
/// such text is written quoted.
fn leaves_a_bracket_open(t: &str) -> bool {
    let mut depth = 0usize;
    for c in t.chars() {
        match c {
            '[' | '{' => depth += 1,
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth > 0
}

fn printable(c: char) -> bool {
    !matches!(
        c,
        '\u{80}'..='\u{9F}' | '\u{2028}' | '\u{2029}' | '\u{FFFE}' | '\u{FFFF}'
    )
}

fn double_quoted(out: &mut String, t: &str) {
    out.push('"');
    for c in t.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{B}' => out.push_str("\\v"),
            '\u{C}' => out.push_str("\\f"),
            '\u{1B}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if c.is_control() || c == '\u{FEFF}' || !printable(c) => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::super::tree::parse_document;
    use super::super::value::Value;
    use super::*;

    fn round_trip(src: &str) {
        let doc = match parse_document(src) {
            Ok(Some(d)) => d,
            other => panic!("{src:?}: {other:?}"),
        };
        let text = to_yaml(&doc);
        let again = match parse_document(&text) {
            Ok(Some(d)) => d,
            other => panic!("re-parse of {text:?}: {other:?}"),
        };
        assert_eq!(Value::of(&doc), Value::of(&again), "{text}");
        assert_eq!(to_yaml(&again), text);
    }

    #[test]
    fn emitted_yaml_reparses_to_the_same_values() {
        round_trip("a: 1\nb: '1'\nc: \"x: y\"\nd: [1, [2, 3], {e: f}]\ng: {}\nh: []\n");
        round_trip("m: [resnet(layers=[1, 2]), 'vgg(depth: 16)']\nn: f(a: 1, b=#x)\n");
        round_trip("s: !!str 5\nt: !!float 1\nu: |\n  two\n  lines\nv: ~\nw:\n");
        round_trip("q: \"tab\\there \\u0085 \\\\ \\\"\"\n'key: x': '- '\n-1: -x\n");
        round_trip("l:\n- - 1\n  - - 2\n- a: 1\n  b: [x]\n");
        round_trip("\"\\b\\e\\0\\L\": x\n");
        // An unclosed bracket in a plain key or value must come back quoted.
        round_trip("a: 1\n\"v1[,name\": \"x]\"\n\"a]b[\": \"y{\"\nc: d[e]\n");
        round_trip("!-p%06(q\n-!: ~\nx: !<tag:a.com,2000:x%20y> 1\ny: !!str%C3%A9 z\n");
        round_trip(&format!("n:\n  ? {}\n  : {{a: 1}}\n", "k".repeat(1100)));
        round_trip(&format!("? \"{}\"\n: [1, 2]\n", "q".repeat(1100)));
    }

    #[test]
    fn display_is_one_line() {
        let doc = parse_document("a: [[1, 'x, y'], {k: v}]\n").ok().flatten();
        let Some(Kind::Map(e)) = doc.map(|d| d.kind) else {
            panic!()
        };
        assert_eq!(display(&e[0].value), "[[1, \"x, y\"], {k: v}]");
    }
}
