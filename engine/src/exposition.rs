//! Prometheus's text exposition format (version 0.0.4), written by hand:
//! families with `# HELP`/`# TYPE`, label values escaped, and a histogram
//! and counter the domains update as things happen. `Engine::prometheus`
//! assembles the page.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The `Content-Type` of the page.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value as the format wants it: `\`, `"` and newlines escaped.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A HELP text: `\` and newlines escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value: integers without a fraction, `+Inf`/`-Inf`/`NaN` spelled
/// as the format wants.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// The page being written. Each family is written whole: its header, then
/// its samples.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a family: `kind` is `gauge`, `counter` or `histogram`.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    /// One sample of the current family.
    pub fn sample(&mut self, name: &str, pairs: &[(&str, &str)], value: f64) {
        let _ = writeln!(self.out, "{name}{} {}", labels(pairs), number(value));
    }

    /// A histogram's buckets, sum and count under `name`.
    pub fn histogram(&mut self, name: &str, pairs: &[(&str, &str)], h: &HistogramSnapshot) {
        let mut cumulative = 0;
        for (bound, count) in h.bounds.iter().zip(&h.counts) {
            cumulative += count;
            let le = number(*bound);
            let mut with_le = pairs.to_vec();
            with_le.push(("le", &le));
            self.sample(&format!("{name}_bucket"), &with_le, cumulative as f64);
        }
        let mut with_le = pairs.to_vec();
        with_le.push(("le", "+Inf"));
        self.sample(&format!("{name}_bucket"), &with_le, h.count as f64);
        self.sample(&format!("{name}_sum"), pairs, h.sum);
        self.sample(&format!("{name}_count"), pairs, h.count as f64);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A monotonic counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn inc(&self) {
        self.add(1);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Observations in fixed buckets (upper bounds, ascending).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    state: Mutex<HistogramSnapshot>,
}

/// A histogram as read: per-bucket (not cumulative) counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramSnapshot {
    pub bounds: Vec<f64>,
    pub counts: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            state: Mutex::new(HistogramSnapshot {
                bounds: bounds.to_vec(),
                counts: vec![0; bounds.len()],
                sum: 0.0,
                count: 0,
            }),
        }
    }

    pub fn observe(&self, value: f64) {
        if !value.is_finite() {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = self.bounds.iter().position(|b| value <= *b) {
            state.counts[i] += 1;
        }
        state.sum += value;
        state.count += 1;
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_as_the_format_says() {
        assert_eq!(escape_label_value(r#"a\b"c"#), r#"a\\b\"c"#);
        assert_eq!(escape_label_value("two\nlines"), "two\\nlines");
        assert_eq!(escape_label_value("gpu 0 ✓"), "gpu 0 ✓");
        let mut page = Exposition::default();
        page.family("x_total", "counter", "help with \\ and\nnewline");
        page.sample("x_total", &[("host", "h\"1")], 3.0);
        assert_eq!(
            page.finish(),
            "# HELP x_total help with \\\\ and\\nnewline\n# TYPE x_total counter\nx_total{host=\"h\\\"1\"} 3\n"
        );
    }

    #[test]
    fn histograms_are_cumulative_with_an_inf_bucket() {
        static BOUNDS: [f64; 2] = [1.0, 10.0];
        let h = Histogram::new(&BOUNDS);
        for v in [0.5, 2.0, 20.0, f64::NAN] {
            h.observe(v);
        }
        let mut page = Exposition::default();
        page.histogram("d_seconds", &[], &h.snapshot());
        assert_eq!(
            page.finish(),
            "d_seconds_bucket{le=\"1\"} 1\nd_seconds_bucket{le=\"10\"} 2\nd_seconds_bucket{le=\"+Inf\"} 3\nd_seconds_sum 22.5\nd_seconds_count 3\n"
        );
        assert_eq!(number(0.25), "0.25");
    }
}
