//! Call syntax (`resnet(layers=[1, 2])`) inside flow lists.
//!
//! YAML's flow context treats `[`, `]`, `,`, `{`, `}` as structure, so
//! `[resnet(layers=[1,2]), vgg(depth=16)]` would not parse as two values. Before
//! parsing, every `identifier(...)` call that closes on the same line has those
//! characters (and `:` and `#`) swapped for private-use stand-ins, one char for
//! one char, so line/column positions stay exact. Scalars built from a masked
//! region get the originals back. A source that already contains a stand-in is
//! left as it is.

use std::borrow::Cow;

const MASKS: [(char, char); 7] = [
    (',', '\u{E000}'),
    ('[', '\u{E001}'),
    (']', '\u{E002}'),
    ('{', '\u{E003}'),
    ('}', '\u{E004}'),
    (':', '\u{E005}'),
    ('#', '\u{E006}'),
];

/// The text handed to the parser: the source with call arguments masked (and
/// the masked char-index ranges), and perhaps lines indented by
/// [`relax_flow_indent`](super::flow_indent::relax_flow_indent).
pub(crate) struct Masked<'a> {
    pub text: Cow<'a, str>,
    ranges: Vec<(usize, usize)>,
    /// (line from 1, spaces added at its start), in line order.
    indented: Vec<(usize, usize)>,
}

impl<'a> Masked<'a> {
    /// The source as it is, nothing masked.
    pub fn none(src: &'a str) -> Self {
        Masked {
            text: Cow::Borrowed(src),
            ranges: Vec::new(),
            indented: Vec::new(),
        }
    }

    /// The same masking over `text`, which is this text with spaces inserted
    /// at line starts: `(char index of the line start, line, spaces)`.
    pub fn reindented(self, text: Cow<'a, str>, pads: &[(usize, usize, usize)]) -> Self {
        let shift = |at: usize| -> usize {
            pads.iter()
                .take_while(|&&(start, _, _)| start <= at)
                .map(|&(_, _, pad)| pad)
                .sum()
        };
        Masked {
            text,
            ranges: self
                .ranges
                .iter()
                .map(|&(s, e)| (s + shift(s), e + shift(s)))
                .collect(),
            indented: pads.iter().map(|&(_, line, pad)| (line, pad)).collect(),
        }
    }

    /// Whether any call was masked.
    pub fn masks_calls(&self) -> bool {
        !self.ranges.is_empty()
    }

    /// The 0-based column the user wrote for a parser position.
    pub fn source_column(&self, line: usize, column: usize) -> usize {
        match self.indented.binary_search_by_key(&line, |&(l, _)| l) {
            Ok(k) => column.saturating_sub(self.indented[k].1),
            Err(_) => column,
        }
    }

    /// Whether a scalar spanning `start..end` (char indices) needs unmasking.
    pub fn touches(&self, start: usize, end: usize) -> bool {
        self.ranges
            .iter()
            .any(|&(s, e)| s < end.max(start + 1) && start < e)
    }
}

/// Masks structure characters inside one-line `name(...)` calls.
pub(crate) fn mask_calls(src: &str) -> Masked<'_> {
    let untouched = Masked::none(src);
    if src.chars().any(|c| MASKS.iter().any(|&(_, m)| m == c)) {
        return untouched;
    }
    let chars: Vec<char> = src.chars().collect();
    let mut ranges = Vec::new();
    let mut i = 0;
    // Calls are only looked for outside quoted scalars and comments: a call
    // that began inside quotes could run past the closing quote.
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        let after_space = i == 0 || chars[i - 1].is_whitespace();
        match quote {
            Some('"') if c == '\\' => i += 1,
            Some('\'') if c == '\'' && chars.get(i + 1) == Some(&'\'') => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '#' && after_space => {
                while i + 1 < chars.len() && !matches!(chars[i + 1], '\n' | '\r') {
                    i += 1;
                }
            }
            None if matches!(c, '"' | '\'') && (after_space || "[{,:".contains(chars[i - 1])) => {
                quote = Some(c);
            }
            None => {
                if let Some(end) = call_end(&chars, i) {
                    ranges.push((i, end));
                    i = end;
                    continue;
                }
            }
        }
        i += 1;
    }
    if !ranges
        .iter()
        .any(|&(s, e)| chars[s..e].iter().any(|&c| mask_of(c).is_some()))
    {
        return untouched;
    }
    let mut out = chars;
    for &(s, e) in &ranges {
        for c in &mut out[s..e] {
            if let Some(m) = mask_of(*c) {
                *c = m;
            }
        }
    }
    Masked {
        text: Cow::Owned(out.into_iter().collect()),
        ranges,
        indented: Vec::new(),
    }
}

/// Whether plain text, written out on its own, reads back the same through
/// the pre-pass: no call in it runs past its end, and nothing in it looks
/// like the start of a quoted scalar.
pub(crate) fn plain_text_is_stable(t: &str) -> bool {
    let chars: Vec<char> = t.chars().collect();
    (0..chars.len()).all(|i| {
        let opens_quote = matches!(chars[i], '"' | '\'')
            && (i == 0 || chars[i - 1].is_whitespace() || "[{,:".contains(chars[i - 1]));
        let starts_call = is_ident_start(chars[i])
            && (i == 0 || !is_ident(chars[i - 1]))
            && chars[i..].iter().find(|c| !is_ident(**c)) == Some(&'(');
        !opens_quote && (!starts_call || call_end(&chars, i).is_some())
    })
}

/// Puts the original characters back.
pub(crate) fn unmask(s: &str) -> String {
    s.chars()
        .map(|c| MASKS.iter().find(|&&(_, m)| m == c).map_or(c, |&(o, _)| o))
        .collect()
}

fn mask_of(c: char) -> Option<char> {
    MASKS.iter().find(|&&(o, _)| o == c).map(|&(_, m)| m)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// If a call `ident(...)` starts at `i`, the index just past its `)`.
fn call_end(chars: &[char], i: usize) -> Option<usize> {
    if !is_ident_start(chars[i]) || (i > 0 && is_ident(chars[i - 1])) {
        return None;
    }
    let mut j = i;
    while j < chars.len() && is_ident(chars[j]) {
        j += 1;
    }
    if chars.get(j) != Some(&'(') {
        return None;
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (k, &c) in chars.iter().enumerate().skip(j) {
        match (quote, c) {
            (_, '\n' | '\r') => return None,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(k + 1);
                }
            }
            (None, _) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_in_flow_lists_are_masked_char_for_char() {
        let src = "model: [resnet(layers=[1,2]), vgg(depth=16)]\n";
        let m = mask_calls(src);
        assert_eq!(m.text.chars().count(), src.chars().count());
        assert!(m
            .text
            .starts_with("model: [resnet(layers=\u{E001}1\u{E000}2\u{E002}),"));
        assert_eq!(unmask(&m.text), src);
    }

    #[test]
    fn text_without_calls_is_untouched() {
        for src in ["a: [1, 2]\n", "f: g(x)\n", "a: f(b\n  , c)\n"] {
            assert!(matches!(mask_calls(src).text, Cow::Borrowed(_)), "{src}");
        }
    }

    #[test]
    fn calls_are_not_looked_for_in_quotes_or_comments() {
        for src in [
            "\"x f(a\": b)\n",
            "'it''s f(a': b)\n",
            "a: 1 # f(x, y)\n",
            "k: \"multi\n  f(a\": b)\n",
        ] {
            assert!(matches!(mask_calls(src).text, Cow::Borrowed(_)), "{src}");
        }
        assert!(matches!(
            mask_calls("a: \"q\" # c\nb: [f(1, 2)]\n").text,
            Cow::Owned(_)
        ));
    }

    #[test]
    fn plain_text_with_open_calls_or_quote_starts_is_unstable() {
        assert!(plain_text_is_stable("resnet(layers=[1, 2])"));
        assert!(plain_text_is_stable("it's f(x)"));
        assert!(!plain_text_is_stable("et(l[,2s"));
        assert!(!plain_text_is_stable("say \"hi"));
    }

    #[test]
    fn sources_that_already_hold_stand_ins_are_not_masked() {
        let src = "a: [f(1,2)]\nb: \u{E000}\n";
        assert!(matches!(mask_calls(src).text, Cow::Borrowed(_)));
    }
}
