//! Reading a decimal number as an `f64`: what `str::parse::<f64>` accepts,
//! with the value it gives, on every side.
//!
//! In the browser the digits go to JavaScript's `parseFloat`, which rounds
//! correctly as Rust's parser does, so the value is the same; Rust's parser
//! would put its ~11 KB of power-of-five tables (data that barely
//! compresses) into every page that reads a number from text. Which text is
//! a number is decided here, by Rust's grammar, on both sides.

/// `text` read as `str::parse::<f64>` reads it, or `None` where that fails.
pub fn parse_f64(text: &str) -> Option<f64> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        text.parse().ok()
    }
    #[cfg(target_arch = "wasm32")]
    {
        let (negative, body, reading) = read(text)?;
        let value = match reading {
            // The grammar is checked: all of `body` is what `parseFloat` reads.
            Reading::Digits => js_sys::Number::parse_float(body),
            Reading::Infinity => f64::INFINITY,
            Reading::NotANumber => f64::NAN,
        };
        Some(if negative { -value } else { value })
    }
}

/// `text` read as [`parse_f64`] reads it when it is digits (an optional
/// sign, `Digit+ ('.' Digit*)? | '.' Digit+`, then `[eE] [+-]? Digit+` if
/// any): `inf` and `nan` are not numbers here.
pub fn parse_decimal(text: &str) -> Option<f64> {
    match read(text)? {
        (_, _, Reading::Digits) => parse_f64(text),
        _ => None,
    }
}

/// What a float's text says, past its sign.
enum Reading {
    /// `Digit+ ('.' Digit*)? | '.' Digit+`, then `[eE] [+-]? Digit+` if any.
    Digits,
    /// `inf` or `infinity`, any case.
    Infinity,
    /// `nan`, any case.
    NotANumber,
}

/// Rust's float grammar: the sign (`true`: negative), the rest and what it
/// says, or `None` for text `str::parse::<f64>` refuses.
fn read(text: &str) -> Option<(bool, &str, Reading)> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let reading = if is_decimal(body) {
        Reading::Digits
    } else if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        Reading::Infinity
    } else if body.eq_ignore_ascii_case("nan") {
        Reading::NotANumber
    } else {
        return None;
    };
    Some((negative, body, reading))
}

fn is_decimal(body: &str) -> bool {
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = (!int.is_empty() || !frac.is_empty()) && digits(int) && digits(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Texts on the edges of the grammar and of rounding: core's tests hold
/// the browser's reader to Rust's parser on each (`fuzzing`: tests only).
#[cfg(feature = "fuzzing")]
pub const EDGE_TEXTS: &[&str] = &[
    // Numbers.
    "0",
    "-0",
    "+0.0",
    "1",
    "1.5",
    "0.1",
    "0.3",
    ".5",
    "5.",
    "-.5e3",
    "1e5",
    "1E+5",
    "1e-5",
    "9007199254740993",
    "123456789012345678901234567890",
    "0.000000000000000000000000000000000000000000001",
    "00000000000000001.5",
    "1e0000000000000000000000000000001",
    // Subnormals, the smallest, halfway to zero, and past it.
    "2.2250738585072011e-308",
    "2.2250738585072014e-308",
    "4.9e-324",
    "2.4703282292062327e-324",
    "2.4703282292062328e-324",
    "1e-400",
    // The largest, halfway to infinity, and past it.
    "1.7976931348623157e308",
    "1.7976931348623158e308",
    "1.7976931348623159e308",
    "1e400",
    // Words.
    "inf",
    "-Infinity",
    "NaN",
    "+nan",
    "-nan",
    "infinit",
    "Infinityx",
    // Not numbers.
    "",
    ".",
    "+",
    "-",
    "e5",
    ".e1",
    "1e",
    "1e+",
    "1e5.0",
    "--1",
    "+-1",
    "1.2.3",
    " 1",
    "1 ",
    "0x10",
    "1_000",
    "١",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The browser's path, short of JavaScript (core's wasm test,
    /// `tests/browser_decimal.rs`, runs it whole): the grammar must accept
    /// exactly what Rust's parser accepts.
    fn accepted_by_grammar(text: &str) -> bool {
        read(text).is_some()
    }

    #[test]
    fn the_grammar_is_rusts() {
        for text in EDGE_TEXTS {
            assert_eq!(
                accepted_by_grammar(text),
                text.parse::<f64>().is_ok(),
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn the_grammar_is_rusts_for_any_text(text in "[-+.eE0-9inftyaINFTYA_ x]{0,12}") {
            prop_assert_eq!(accepted_by_grammar(&text), text.parse::<f64>().is_ok());
        }
    }
}
