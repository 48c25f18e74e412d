//! The fuzz target's body, here so stable `cargo test` can run it over the
//! seed corpus too (`fuzz/` only holds the libFuzzer harness).

use super::{emit, parse_experiment, tree, SweepLimits};
use std::collections::HashSet;

/// Parses and expands arbitrary bytes, asserting the parser's invariants:
/// no panic, errors point at real positions, a sweep expands to exactly
/// `run_count` uniquely named runs, the preview is a prefix of the sweep, and
/// every resolved config re-parses and re-emits to the same text.
pub fn fuzz_one(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let exp = match parse_experiment(text) {
        Ok(exp) => exp,
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an Err must hold at least one error");
            for e in &errors.0 {
                assert!(e.line.is_none_or(|l| l >= 1), "line 0 in {e:?}");
                assert!(e.column.is_none_or(|c| c >= 1), "column 0 in {e:?}");
                assert!(!e.message.is_empty());
            }
            return;
        }
    };
    let limits = SweepLimits { max_runs: 64 };
    let count = exp.run_count();
    let preview = exp.preview(3);
    match exp.expand(&limits) {
        Err(e) => {
            assert!(count > limits.max_runs, "refused a sweep of {count}: {e}");
        }
        Ok(runs) => {
            assert_eq!(runs.len() as u64, count);
            assert_eq!(preview[..], runs[..preview.len()]);
            let mut seen = HashSet::new();
            for run in &runs {
                assert!(
                    seen.insert(run.name.as_str()),
                    "duplicate name {}",
                    run.name
                );
                assert_eq!(
                    super::names::component_problem(&run.name),
                    None,
                    "{}",
                    run.name
                );
                let doc = match tree::parse_document(&run.config_yaml) {
                    Ok(Some(doc)) => doc,
                    other => panic!(
                        "resolved config {:?} re-parsed as {other:?}",
                        run.config_yaml
                    ),
                };
                assert_eq!(emit::to_yaml(&doc), run.config_yaml);
            }
        }
    }
}
