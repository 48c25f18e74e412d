//! Runs the fuzz target's body on stable Rust: over the committed seed corpus
//! and over random and mutated inputs, so CI covers it without nightly.

use proptest::prelude::*;
use std::path::PathBuf;
use trainyard_core::config::fuzzing::fuzz_one;

fn seeds() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/config_parser");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

#[test]
fn seed_corpus_keeps_the_invariants() {
    let seeds = seeds();
    assert!(seeds.len() >= 5, "seed corpus is missing");
    for seed in &seeds {
        fuzz_one(seed);
    }
}

/// Pieces that make mutated inputs likely to reach deep paths.
const TOKENS: &[&str] = &[
    "\n",
    "  ",
    ": ",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "\"",
    "'",
    "#",
    "&a ",
    "*a",
    "!!str ",
    "|\n",
    "{{",
    "}}",
    "(",
    ")",
    "name: ",
    "lr: ",
    "gpus: ",
    "command: ",
    "project: ",
    "---\n",
    "..",
    "/",
    "0.1",
    "-1",
    "resnet(layers=[1,2])",
    "\u{E000}",
    "\t",
    "é",
];

fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let seeds = seeds();
    let n = seeds.len().max(1);
    (
        0..n,
        prop::collection::vec(
            (any::<prop::sample::Index>(), 0..TOKENS.len(), any::<bool>()),
            0..8,
        ),
    )
        .prop_map(move |(i, edits)| {
            let mut bytes = seeds.get(i).cloned().unwrap_or_default();
            for (at, tok, delete) in edits {
                let pos = at.index(bytes.len() + 1);
                if delete && pos < bytes.len() {
                    let end = (pos + 3).min(bytes.len());
                    bytes.drain(pos..end);
                } else {
                    bytes.splice(pos..pos, TOKENS[tok].bytes());
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn mutated_seeds_keep_the_invariants(data in mutated()) {
        fuzz_one(&data);
    }

    #[test]
    fn random_token_soup_keeps_the_invariants(toks in prop::collection::vec(0..TOKENS.len(), 0..40)) {
        let text: String = toks.iter().map(|&t| TOKENS[t]).collect();
        fuzz_one(text.as_bytes());
    }

    #[test]
    fn random_bytes_keep_the_invariants(data in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzz_one(&data);
    }
}
