//! Metric lines on a job's stdout:
//! `TRAINYARD_METRIC::{"step":3,"loss":0.42}` and Void Train Manager's
//! `VTM_PROGRESS::{"epoch":3,"total_epochs":10,"val_accuracy":0.8}`, and
//! its `VTM_RUN_META::{"mlflow_run_id":"…"}`, which links the job to a run
//! kept elsewhere (no numbers; its string fields become `links`).
//!
//! Lives here rather than in `trainyard-core` because it needs a JSON
//! parser, which core does not depend on.

use serde_json::{Map, Value};
use trainyard_core::validate_metric_key;

/// Prefixes that mark a metric line; the JSON object follows directly.
pub const PREFIXES: [&str; 2] = ["TRAINYARD_METRIC::", "VTM_PROGRESS::"];
/// The Void Train Manager's line naming the job's external run ids.
pub const RUN_META_PREFIX: &str = "VTM_RUN_META::";
/// Keys that give the step, in order of preference; the one used is not
/// itself recorded as a metric.
pub const STEP_KEYS: [&str; 3] = ["step", "iteration", "epoch"];

/// The numbers of one metric line.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine {
    /// `None`: the line named no step; the job's next automatic step is used.
    pub step: Option<f64>,
    pub values: Vec<(String, f64)>,
    /// Fields left out, with why (`"lr": "auto"`, `"loss": NaN`, a bad key).
    pub skipped: Vec<(String, &'static str)>,
    /// From a `VTM_RUN_META::` line: string fields (`mlflow_run_id`), kept
    /// as the run's `vtm.<key>` tags.
    pub links: Vec<(String, String)>,
}

/// Why a metric line was not read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricLineError {
    #[error("metric line is not valid JSON: {0}")]
    Json(String),
    #[error("metric line is not a JSON object")]
    NotAnObject,
}

/// `None` if `line` is not a metric line; else its numbers, or why it is
/// unreadable. Python's `NaN`/`Infinity` are accepted and skipped.
pub fn parse_metric_line(line: &str) -> Option<Result<MetricLine, MetricLineError>> {
    let line = line.trim_end();
    if let Some(json) = line.strip_prefix(RUN_META_PREFIX) {
        return Some(parse_run_meta(json));
    }
    let json = PREFIXES.iter().find_map(|p| line.strip_prefix(p))?;
    let (json, non_finite) = null_non_finite(json);
    let object: Map<String, Value> = match serde_json::from_str::<Value>(&json) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Some(Err(MetricLineError::NotAnObject)),
        Err(e) => return Some(Err(MetricLineError::Json(e.to_string()))),
    };
    let step_key = STEP_KEYS
        .iter()
        .find(|k| object.get(**k).and_then(Value::as_f64).is_some());
    let step = step_key.and_then(|k| object.get(*k).and_then(Value::as_f64));
    let mut parsed = MetricLine {
        step,
        values: Vec::new(),
        skipped: Vec::new(),
        links: Vec::new(),
    };
    for (key, value) in object {
        if step_key.is_some_and(|k| *k == key) {
            continue;
        }
        if let Err(e) = validate_metric_key(&key) {
            parsed.skipped.push((truncate(&key), key_error(&e)));
            continue;
        }
        match value.as_f64() {
            Some(v) if v.is_finite() => parsed.values.push((key, v)),
            _ if value.is_null() && non_finite => parsed.skipped.push((key, "not finite")),
            _ => parsed.skipped.push((key, "not a number")),
        }
    }
    Some(Ok(parsed))
}

/// Longest link value kept.
const MAX_LINK_CHARS: usize = 500;

fn parse_run_meta(json: &str) -> Result<MetricLine, MetricLineError> {
    let object: Map<String, Value> = match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return Err(MetricLineError::NotAnObject),
        Err(e) => return Err(MetricLineError::Json(e.to_string())),
    };
    let mut line = MetricLine {
        step: None,
        values: Vec::new(),
        skipped: Vec::new(),
        links: Vec::new(),
    };
    for (key, value) in object {
        let text = match &value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => {
                line.skipped.push((truncate(&key), "not a string"));
                continue;
            }
        };
        if validate_metric_key(&key).is_err() || text.chars().count() > MAX_LINK_CHARS {
            line.skipped
                .push((truncate(&key), "bad key or value too long"));
            continue;
        }
        line.links.push((key, text));
    }
    Ok(line)
}

fn key_error(e: &trainyard_core::MetricKeyError) -> &'static str {
    use trainyard_core::MetricKeyError as E;
    match e {
        E::Empty => "empty key",
        E::TooLong => "key too long",
        E::ControlChar => "control character in key",
        E::LeadingSlash => "key starts with /",
        E::DotDot => "key has a .. component",
    }
}

fn truncate(key: &str) -> String {
    key.chars().take(40).collect()
}

/// Replaces the bare `NaN`, `Infinity` and `-Infinity` that Python's `json`
/// writes (outside strings) with `null`; says whether it did.
fn null_non_finite(json: &str) -> (std::borrow::Cow<'_, str>, bool) {
    if !json.contains("NaN") && !json.contains("Infinity") {
        return (json.into(), false);
    }
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped, mut replaced) = (false, false, false);
    let mut rest = json;
    while let Some(c) = rest.chars().next() {
        if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else if c == '"' {
            in_string = true;
        } else if let Some(token) = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t))
        {
            out.push_str("null");
            rest = &rest[token.len()..];
            replaced = true;
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    (out.into(), replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> MetricLine {
        match parse_metric_line(line) {
            Some(Ok(parsed)) => parsed,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn reads_numbers_and_the_step() {
        let m = ok(r#"TRAINYARD_METRIC::{"step":3,"loss":0.42,"accuracy":0.8}"#);
        assert_eq!(m.step, Some(3.0));
        assert_eq!(
            m.values,
            vec![("accuracy".to_string(), 0.8), ("loss".to_string(), 0.42)]
        );
        assert!(m.skipped.is_empty());
    }

    #[test]
    fn vtm_progress_uses_the_epoch_as_step() {
        let m =
            ok(r#"VTM_PROGRESS::{"epoch":2,"total_epochs":10,"val_accuracy":0.7,"phase":"val"}"#);
        assert_eq!(m.step, Some(2.0));
        assert_eq!(
            m.values,
            vec![
                ("total_epochs".to_string(), 10.0),
                ("val_accuracy".to_string(), 0.7)
            ]
        );
        assert_eq!(m.skipped, vec![("phase".to_string(), "not a number")]);
    }

    #[test]
    fn step_wins_over_epoch_which_is_then_a_metric() {
        let m = ok(r#"TRAINYARD_METRIC::{"epoch":1,"step":700,"train/loss":1.5}"#);
        assert_eq!(m.step, Some(700.0));
        assert_eq!(
            m.values,
            vec![("epoch".to_string(), 1.0), ("train/loss".to_string(), 1.5)]
        );
    }

    #[test]
    fn no_step_key_means_automatic_step() {
        assert_eq!(ok(r#"TRAINYARD_METRIC::{"loss":1}"#).step, None);
    }

    #[test]
    fn python_nan_and_infinity_are_skipped_not_fatal() {
        let m =
            ok(r#"TRAINYARD_METRIC::{"loss":NaN,"grad":-Infinity,"note":"NaN here","acc":0.5}"#);
        assert_eq!(m.values, vec![("acc".to_string(), 0.5)]);
        assert_eq!(
            m.skipped,
            vec![
                ("grad".to_string(), "not finite"),
                ("loss".to_string(), "not finite"),
                ("note".to_string(), "not a number"),
            ]
        );
    }

    #[test]
    fn bad_keys_and_non_numbers_are_skipped() {
        let m = ok(r#"TRAINYARD_METRIC::{"../x":1,"ok":true,"n":null,"v":[1],"good":2}"#);
        assert_eq!(m.values, vec![("good".to_string(), 2.0)]);
        assert_eq!(m.skipped.len(), 4);
    }

    #[test]
    fn malformed_lines_are_errors() {
        for line in [
            "TRAINYARD_METRIC::{bad",
            "TRAINYARD_METRIC::",
            r#"TRAINYARD_METRIC::{"a":1} trailing"#,
            r#"VTM_PROGRESS::{"a":1e999}"#,
        ] {
            assert!(
                matches!(parse_metric_line(line), Some(Err(MetricLineError::Json(_)))),
                "{line}"
            );
        }
        assert_eq!(
            parse_metric_line("TRAINYARD_METRIC::[1,2]"),
            Some(Err(MetricLineError::NotAnObject))
        );
    }

    #[test]
    fn vtm_run_meta_links_the_job_to_an_mlflow_run() {
        let line = ok(r#"VTM_RUN_META::{"mlflow_run_id": "9f2c", "n": 3, "bad": [1]}"#);
        assert!(line.values.is_empty());
        assert_eq!(
            line.links,
            vec![
                ("mlflow_run_id".to_string(), "9f2c".to_string()),
                ("n".to_string(), "3".to_string())
            ]
        );
        assert_eq!(line.skipped.len(), 1);
        assert!(matches!(
            parse_metric_line("VTM_RUN_META::[1]"),
            Some(Err(MetricLineError::NotAnObject))
        ));
    }

    #[test]
    fn other_lines_are_not_metric_lines() {
        for line in [
            "epoch 3 loss 0.4",
            " TRAINYARD_METRIC::{\"a\":1}",
            " VTM_RUN_META::{\"mlflow_run_id\":\"x\"}",
            "",
        ] {
            assert_eq!(parse_metric_line(line), None, "{line}");
        }
        assert!(parse_metric_line("TRAINYARD_METRIC::{\"a\":1}\r").is_some());
    }
}
