//! Finds metric lines in job output as it is appended to the log. Each
//! attempt keeps the unfinished last line of what it sent so far, so a line
//! split across chunks is parsed once, when its newline arrives.
//!
//! Only bytes the log store actually wrote are fed in (a retried chunk it
//! acknowledged without writing is not), and they are fed while the log
//! store still holds its lock, so chunks arrive here in file order.

use std::collections::HashMap;

use trainyard_core::work::AttemptRef;

use super::parse::{parse_metric_line, MetricLine, PREFIXES, RUN_META_PREFIX};

/// Longest line kept while waiting for its newline; longer ones are skipped.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Reports logged per job before only every `REPORT_EVERY`th is.
const REPORTS_IN_FULL: u64 = 5;
const REPORT_EVERY: u64 = 1_000;

#[derive(Default)]
struct Tap {
    partial: Vec<u8>,
    /// The current line outgrew `MAX_LINE_BYTES` (or began before we knew
    /// the log): skip to its end.
    skipping: bool,
}

/// Line state of every attempt being written, and per-job report counts.
#[derive(Default)]
pub struct Taps {
    attempts: HashMap<AttemptRef, Tap>,
    reports: HashMap<i64, u64>,
}

impl Taps {
    pub fn knows(&self, at: AttemptRef) -> bool {
        self.attempts.contains_key(&at)
    }

    /// Starts an attempt whose log already holds `tail` (the bytes after its
    /// last newline); `None` when that line is too long to be worth keeping.
    pub fn seed(&mut self, at: AttemptRef, tail: Option<Vec<u8>>) {
        let tap = match tail {
            Some(partial) => Tap {
                partial,
                skipping: false,
            },
            None => Tap {
                partial: Vec::new(),
                skipping: true,
            },
        };
        self.attempts.insert(at, tap);
    }

    /// `data` was appended at `offset`; returns the metric lines it completed.
    pub fn feed(&mut self, at: AttemptRef, offset: u64, data: &[u8]) -> Vec<MetricLine> {
        let tap = self.attempts.entry(at).or_insert_with(|| Tap {
            partial: Vec::new(),
            // Unseeded mid-log: the first line's beginning is unknown.
            skipping: offset > 0,
        });
        let mut complete = Vec::new();
        let mut rest = data;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let (piece, after) = rest.split_at(nl);
            if !tap.skipping {
                if tap.partial.is_empty() {
                    complete.extend(metric_line(piece));
                } else {
                    tap.partial.extend_from_slice(piece);
                    complete.extend(metric_line(&tap.partial));
                }
            }
            tap.partial.clear();
            tap.skipping = false;
            rest = &after[1..];
        }
        if !tap.skipping {
            if tap.partial.len() + rest.len() > MAX_LINE_BYTES {
                tap.partial.clear();
                tap.skipping = true;
            } else {
                tap.partial.extend_from_slice(rest);
            }
        }
        self.collect(at.job_id, complete)
    }

    /// The attempt ended: its last line counts even without a newline.
    pub fn end(&mut self, at: AttemptRef) -> Vec<MetricLine> {
        let Some(tap) = self.attempts.remove(&at) else {
            return Vec::new();
        };
        let last = if tap.skipping {
            None
        } else {
            metric_line(&tap.partial)
        };
        self.collect(at.job_id, last.into_iter().collect())
    }

    /// Keeps the readable lines; reports the rest and skipped fields.
    fn collect(&mut self, job_id: i64, lines: Vec<Result<MetricLine, String>>) -> Vec<MetricLine> {
        let mut good = Vec::with_capacity(lines.len());
        for line in lines {
            match line {
                Ok(line) => {
                    if let Some((key, why)) = line.skipped.first() {
                        let more = line.skipped.len() - 1;
                        self.report(
                            job_id,
                            &format!("field {key:?} skipped ({why}), and {more} more"),
                        );
                    }
                    good.push(line);
                }
                Err(why) => self.report(job_id, &why),
            }
        }
        good
    }

    /// A tracing warning, at most a few per job plus one per thousand.
    fn report(&mut self, job_id: i64, what: &str) {
        let n = self.reports.entry(job_id).or_insert(0);
        *n += 1;
        if *n <= REPORTS_IN_FULL || n.is_multiple_of(REPORT_EVERY) {
            tracing::warn!(job = job_id, reports = *n, "metric line: {what}");
        }
    }
}

/// The parsed line if `bytes` is a metric line; bad UTF-8 or JSON is an error.
fn metric_line(bytes: &[u8]) -> Option<Result<MetricLine, String>> {
    if !PREFIXES
        .iter()
        .chain([&RUN_META_PREFIX])
        .any(|p| bytes.starts_with(p.as_bytes()))
    {
        return None;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(Err("not UTF-8".into()));
    };
    parse_metric_line(text).map(|r| r.map_err(|e| e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: AttemptRef = AttemptRef {
        job_id: 1,
        attempt: 1,
    };

    fn losses(lines: &[MetricLine]) -> Vec<f64> {
        lines
            .iter()
            .flat_map(|l| l.values.iter().map(|v| v.1))
            .collect()
    }

    #[test]
    fn a_line_split_across_chunks_is_parsed_once_when_complete() {
        let mut taps = Taps::default();
        let text =
            b"hello\nTRAINYARD_METRIC::{\"step\":1,\"loss\":0.5}\nTRAINYARD_METRIC::{\"step\":2,";
        let first = taps.feed(AT, 0, text);
        assert_eq!(losses(&first), vec![0.5]);
        assert!(taps.feed(AT, 99, b"\"loss\"").is_empty());
        let second = taps.feed(AT, 105, b":0.25}\nplain\n");
        assert_eq!(losses(&second), vec![0.25]);
        assert_eq!(second[0].step, Some(2.0));
    }

    #[test]
    fn bad_lines_are_skipped_and_the_rest_kept() {
        let mut taps = Taps::default();
        let got = taps.feed(
            AT,
            0,
            b"TRAINYARD_METRIC::{bad\nTRAINYARD_METRIC::{\"a\":1}\nTRAINYARD_METRIC::\xff\n",
        );
        assert_eq!(losses(&got), vec![1.0]);
    }

    #[test]
    fn the_last_line_counts_at_the_end_without_a_newline() {
        let mut taps = Taps::default();
        assert!(taps
            .feed(AT, 0, b"VTM_PROGRESS::{\"epoch\":3,\"acc\":0.9}")
            .is_empty());
        let last = taps.end(AT);
        assert_eq!((last[0].step, losses(&last)), (Some(3.0), vec![0.9]));
        assert!(!taps.knows(AT));
    }

    #[test]
    fn an_unseeded_tap_mid_log_skips_the_unknown_first_line() {
        let mut taps = Taps::default();
        let got = taps.feed(AT, 500, b"\"x\":1}\nTRAINYARD_METRIC::{\"y\":2}\n");
        assert_eq!(losses(&got), vec![2.0]);
        let mut seeded = Taps::default();
        seeded.seed(AT, Some(b"TRAINYARD_METRIC::{".to_vec()));
        assert_eq!(losses(&seeded.feed(AT, 500, b"\"x\":1}\n")), vec![1.0]);
    }

    #[test]
    fn overlong_lines_are_dropped_without_growing_memory() {
        let mut taps = Taps::default();
        let mut offset = 0;
        let mut junk = b"TRAINYARD_METRIC::{\"a\":1".to_vec();
        junk.extend(std::iter::repeat_n(b' ', MAX_LINE_BYTES));
        assert!(taps.feed(AT, offset, &junk).is_empty());
        offset += junk.len() as u64;
        let got = taps.feed(AT, offset, b"}\nTRAINYARD_METRIC::{\"b\":2}\n");
        assert_eq!(losses(&got), vec![2.0]);
    }
}
