//! `decimal::parse_f64` as the browser runs it (JavaScript's `parseFloat`
//! behind Rust's grammar) against Rust's own parser, value for value.
//!
//! Only for wasm32: `scripts/test.sh` runs it in Node with wasm-bindgen-cli's
//! test runner (Node's V8 reads numbers with Chromium's code).
#![cfg(target_arch = "wasm32")]

use trainyard_core::decimal::{parse_decimal, parse_f64, EDGE_TEXTS};
use wasm_bindgen_test::wasm_bindgen_test;

/// Same bits, or both NaN of the same sign, or both refused.
fn same(text: &str) {
    let ours = parse_f64(text);
    let rust = text.parse::<f64>().ok();
    match (ours, rust) {
        (Some(a), Some(b)) if a.is_nan() && b.is_nan() => {
            assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{text:?}")
        }
        (Some(a), Some(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{text:?}: {a:e} vs {b:e}"),
        (a, b) => assert_eq!(a.is_some(), b.is_some(), "{text:?}"),
    }
}

#[wasm_bindgen_test]
fn hand_picked_numbers_read_as_rust_reads_them() {
    for text in EDGE_TEXTS {
        same(text);
    }
    // Halfway cases need every digit: 800 digits past the point.
    let long = format!("0.{}1", "0".repeat(799));
    same(&long);
    let halfway = format!("9007199254740992.5{}", "0".repeat(700));
    same(&halfway);
    same(&format!("{halfway}1"));
}

#[wasm_bindgen_test]
fn generated_numbers_read_as_rust_reads_them() {
    // xorshift: the same 20,000 strings on every run.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let mut text = String::new();
        if next() % 4 == 0 {
            text.push('-');
        }
        for _ in 0..(next() % 20) {
            text.push(char::from(b'0' + (next() % 10) as u8));
        }
        if next() % 2 == 0 {
            text.push('.');
            for _ in 0..(next() % 20) {
                text.push(char::from(b'0' + (next() % 10) as u8));
            }
        }
        if next() % 3 == 0 {
            text.push('e');
            text.push_str(&((next() % 700) as i64 - 350).to_string());
        }
        same(&text);
    }
}

#[wasm_bindgen_test]
fn digits_only_refuses_words() {
    assert_eq!(parse_decimal("inf"), None);
    assert_eq!(parse_decimal("NaN"), None);
    assert_eq!(parse_decimal("-1.5e2"), Some(-150.0));
}
