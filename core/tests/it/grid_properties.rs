//! Properties of grid expansion over generated configs: counts, names,
//! determinism and resolved configs that read back as the chosen values.

use proptest::prelude::*;
use std::collections::HashSet;
use trainyard_core::config::{parse_experiment, SweepLimits, Value};

/// One axis value: its YAML spelling and the value it must read back as.
fn scalar() -> impl Strategy<Value = (String, Value)> {
    prop_oneof![
        (-1000i64..1000).prop_map(|i| (i.to_string(), Value::Int(i.into()))),
        (1u32..10_000).prop_map(|n| {
            let f = f64::from(n) / 1000.0;
            (format!("{f:?}"), Value::Float(f))
        }),
        "[a-z][a-z0-9_]{0,6}"
            .prop_filter("not a YAML keyword", |s| {
                !matches!(s.as_str(), "null" | "true" | "false")
            })
            .prop_map(|s| (s.clone(), Value::String(s))),
        // Quoted text stays a string even when it looks like a number or a list.
        prop_oneof![
            Just("42"),
            Just("[1, 2]"),
            Just("a: b"),
            Just("x/y"),
            Just("")
        ]
        .prop_map(|s| (format!("{s:?}"), Value::String(s.to_string()))),
        any::<bool>().prop_map(|b| (b.to_string(), Value::Bool(b))),
    ]
}

/// A config with 0–4 axes (some nested under a mapping) and a few fixed keys.
#[derive(Debug, Clone)]
struct Config {
    yaml: String,
    /// Dotted key and expected values of each axis, in document order.
    axes: Vec<(String, Vec<Value>)>,
}

fn config() -> impl Strategy<Value = Config> {
    let axis = prop::collection::vec(scalar(), 1..4);
    (
        prop::collection::vec((axis, any::<bool>()), 0..5),
        prop::option::of("[a-z]{1,8}"),
        any::<bool>(),
    )
        .prop_map(|(axes, project, template)| {
            let mut yaml = String::new();
            if let Some(p) = &project {
                yaml.push_str(&format!("project: {p}\n"));
            }
            if template {
                yaml.push_str("name: \"r-{{epochs}}\"\n");
            }
            yaml.push_str("epochs: 3\nfixed:\n  kind: sgd\n");
            let mut out = Vec::new();
            for (i, (values, nested)) in axes.into_iter().enumerate() {
                let list: Vec<_> = values.iter().map(|(t, _)| t.clone()).collect();
                let key = if nested {
                    yaml.push_str(&format!("g{i}:\n  inner:\n    v: [{}]\n", list.join(", ")));
                    format!("g{i}.inner.v")
                } else {
                    yaml.push_str(&format!("a{i}: [{}]\n", list.join(", ")));
                    format!("a{i}")
                };
                out.push((key, values.into_iter().map(|(_, v)| v).collect()));
            }
            Config { yaml, axes: out }
        })
}

const LIMITS: SweepLimits = SweepLimits { max_runs: 1000 };

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn count_is_the_product_of_axis_lengths(c in config()) {
        let exp = parse_experiment(&c.yaml).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let product: u64 = c.axes.iter().map(|(_, v)| v.len() as u64).product();
        prop_assert_eq!(exp.run_count(), product);
        let keys: Vec<_> = exp.axes.iter().map(|a| a.key.clone()).collect();
        let expected: Vec<_> = c.axes.iter().map(|(k, _)| k.clone()).collect();
        prop_assert_eq!(keys, expected);
        let runs = exp.expand(&LIMITS).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(runs.len() as u64, exp.run_count());
    }

    #[test]
    fn names_are_unique_and_expansion_is_deterministic(c in config()) {
        let exp = parse_experiment(&c.yaml).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let runs = exp.expand(&LIMITS).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let names: HashSet<_> = runs.iter().map(|r| r.name.as_str()).collect();
        prop_assert_eq!(names.len(), runs.len());
        let again = parse_experiment(&c.yaml)
            .and_then(|e| e.expand(&LIMITS))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&runs, &again);
        let preview = exp.preview(3);
        prop_assert_eq!(&preview[..], &runs[..preview.len()]);
    }

    #[test]
    fn resolved_configs_reparse_to_the_chosen_values(c in config()) {
        let exp = parse_experiment(&c.yaml).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let runs = exp.expand(&LIMITS).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Index digits: the first axis varies slowest.
        let lens: Vec<usize> = c.axes.iter().map(|(_, v)| v.len()).collect();
        for run in &runs {
            let back = parse_experiment(&run.config_yaml)
                .map_err(|e| TestCaseError::fail(format!("{e}\n{}", run.config_yaml)))?;
            prop_assert!(back.axes.is_empty(), "lists left in\n{}", run.config_yaml);
            let mut rest = run.index;
            let mut digits = vec![0; lens.len()];
            for (d, len) in digits.iter_mut().zip(&lens).rev() {
                *d = rest % len;
                rest /= len;
            }
            for ((key, values), d) in c.axes.iter().zip(&digits) {
                prop_assert_eq!(back.value_at(key), Some(values[*d].clone()), "{}", key);
            }
            prop_assert_eq!(back.value_at("epochs"), Some(Value::Int(3)));
            prop_assert_eq!(back.value_at("fixed.kind"), Some(Value::String("sgd".into())));
        }
    }
}

#[test]
fn huge_sweeps_are_counted_without_expanding() {
    let axis: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let yaml: String = (0..4)
        .map(|k| format!("k{k}: [{}]\n", axis.join(", ")))
        .collect();
    let exp = parse_experiment(&yaml).expect("the config parses");
    assert_eq!(exp.run_count(), 1_000_000_000_000);
    let err = exp
        .expand(&LIMITS)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("1,000,000,000,000 runs") && err.contains("limit is 1,000"),
        "{err}"
    );
    assert_eq!(exp.preview(2).len(), 2);
}
