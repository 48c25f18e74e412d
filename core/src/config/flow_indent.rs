//! PyYAML's leniency about indentation inside flow collections.
//!
//! YAML 1.2 wants every line of a multi-line `[...]` or `{...}` indented deeper
//! than the block it sits in, so a list closed by a `]` in column one is, to
//! the letter of the spec, invalid. PyYAML (and so CVLab-Kit, whose configs
//! Trainyard reads) accepts it, and saphyr only sometimes does. Before
//! parsing, such lines get the missing spaces; the parser's positions are
//! mapped back through [`Masked::source_column`] so errors still point at the
//! line and column the user wrote.

use super::calls::Masked;
use std::borrow::Cow;

/// Indents, by as many spaces as they lack, the lines of open flow
/// collections that start at or left of the block line that opened them.
pub(crate) fn relax_flow_indent(masked: Masked<'_>) -> Masked<'_> {
    let chars: Vec<char> = masked.text.chars().collect();
    // (char index of the line start, line number from 1, spaces to add)
    let mut pads: Vec<(usize, usize, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut opener_indent = 0usize;
    let mut line_indent = 0usize;
    let mut line = 1usize;
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if i == 0 || chars[i - 1] == '\n' {
            if i > 0 {
                line += 1;
            }
            line_indent = chars[i..].iter().take_while(|&&c| c == ' ').count();
            let first = chars.get(i + line_indent).copied();
            let blank = matches!(first, None | Some('\n' | '\r'));
            if depth > 0 && quote.is_none() && !blank && line_indent <= opener_indent {
                pads.push((i, line, opener_indent + 1 - line_indent));
            }
        }
        let after_space = i == 0 || chars[i - 1].is_whitespace();
        match quote {
            Some('"') if c == '\\' => i += 1,
            Some('\'') if c == '\'' && chars.get(i + 1) == Some(&'\'') => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' && after_space => {
                while i + 1 < chars.len() && chars[i + 1] != '\n' {
                    i += 1;
                }
            }
            None if matches!(c, '"' | '\'') && (after_space || "[{,:".contains(chars[i - 1])) => {
                quote = Some(c);
            }
            None if matches!(c, '[' | '{') => {
                if depth == 0 {
                    opener_indent = line_indent;
                }
                depth += 1;
            }
            None if matches!(c, ']' | '}') => depth = depth.saturating_sub(1),
            None => {}
        }
        i += 1;
    }
    if pads.is_empty() {
        return masked;
    }
    let mut text = String::with_capacity(chars.len() + pads.len() * 4);
    let mut next = pads.iter().peekable();
    for (k, &c) in chars.iter().enumerate() {
        if let Some(&&(at, _, pad)) = next.peek() {
            if at == k {
                text.extend(std::iter::repeat_n(' ', pad));
                next.next();
            }
        }
        text.push(c);
    }
    masked.reindented(Cow::Owned(text), &pads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::calls::{mask_calls, unmask};

    fn relaxed(src: &str) -> String {
        unmask(&relax_flow_indent(mask_calls(src)).text)
    }

    #[test]
    fn lines_left_of_their_block_get_the_missing_spaces() {
        assert_eq!(
            relaxed("a: [\n  \"x\",\n  \"y\"\n]\n"),
            "a: [\n  \"x\",\n  \"y\"\n ]\n"
        );
        assert_eq!(
            relaxed("m:\n  a: [\n    x,\n  y\n  ]\n"),
            "m:\n  a: [\n    x,\n   y\n   ]\n"
        );
    }

    #[test]
    fn brackets_in_quotes_comments_and_calls_do_not_open_anything() {
        for src in [
            "a: \"[\"\nb: 1\n",
            "a: 1 # [\nb: 2\n",
            "a: [f(x=[1,2])]\nb: 3\n",
            "a: [1, 2]\nb: 3\n",
        ] {
            assert_eq!(relaxed(src), src, "{src}");
        }
    }

    #[test]
    fn columns_map_back_to_what_was_written() {
        let m = relax_flow_indent(mask_calls("a: [\n  \"x\",\n]\n"));
        assert_eq!(m.source_column(3, 1), 0);
        assert_eq!(m.source_column(2, 2), 2);
    }
}
