//! Metric rows of a CSV file: a header row, then one row per step. The
//! step comes from a `step`/`global_step`/`iteration`/`iter`/`epoch`
//! column, or a nameless first column (pandas' index), else the row's
//! number. Columns may appear mid-run: the writer rewrites the file with a
//! wider header, and the rows already read are not read again.
//!
//! Pure: bytes in, points and problems out. `csv_index.rs` does the IO.

use serde::{Deserialize, Serialize};
use trainyard_core::validate_metric_key;

/// Step columns, in order of preference (compared case-insensitively).
const STEP_COLUMNS: [&str; 5] = ["step", "global_step", "iteration", "iter", "epoch"];
/// Time columns: read as the point's time, never recorded as metrics.
const TIME_COLUMNS: [&str; 4] = ["time", "timestamp", "wall_time", "walltime"];
/// Longest CSV line read; longer ones are reported and skipped.
pub const MAX_CSV_LINE: usize = 1 << 20;

/// How far a CSV file has been read; saved with the points it produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CsvCursor {
    /// Bytes consumed (always just after a newline).
    pub offset: u64,
    /// Lines consumed, header included.
    pub lines: u64,
    /// Data rows consumed.
    pub rows: u64,
    /// The header, once read.
    pub header: Option<Vec<String>>,
}

/// One metric value from a row.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvPoint {
    pub key: String,
    pub step: f64,
    pub value: f64,
    /// From a time column (Unix ms), if the row has one.
    pub time_ms: Option<i64>,
}

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    /// 1-based line number in the file.
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Default, PartialEq)]
pub struct CsvBatch {
    pub points: Vec<CsvPoint>,
    pub problems: Vec<CsvProblem>,
}

/// Reads the complete lines of `bytes` (which start at `cursor.offset`),
/// skipping data rows up to `skip_rows` (already indexed before a rewrite).
/// `key_prefix` is put before every column name (`""` for bare names).
/// Advances `cursor` past the last complete line.
pub fn read_rows(
    cursor: &mut CsvCursor,
    bytes: &[u8],
    skip_rows: u64,
    key_prefix: &str,
) -> CsvBatch {
    let mut batch = CsvBatch::default();
    let mut rest = bytes;
    while let Some(newline) = rest.iter().position(|b| *b == b'\n') {
        let (raw, after) = rest.split_at(newline);
        rest = &after[1..];
        cursor.offset += raw.len() as u64 + 1;
        cursor.lines += 1;
        let line_no = cursor.lines;
        let mut problem = |message: String| {
            batch.problems.push(CsvProblem {
                line: line_no,
                message,
            })
        };
        let text = match std::str::from_utf8(raw) {
            Ok(text) => text.trim_end_matches('\r'),
            Err(_) => {
                problem("not UTF-8 text".into());
                continue;
            }
        };
        if text.trim().is_empty() {
            continue;
        }
        if raw.len() > MAX_CSV_LINE {
            problem(format!("longer than {MAX_CSV_LINE} bytes"));
            continue;
        }
        let fields = match split_line(text) {
            Ok(fields) => fields,
            Err(message) => {
                problem(message);
                continue;
            }
        };
        let Some(header) = &cursor.header else {
            cursor.header = Some(fields.into_iter().map(|f| f.trim().to_string()).collect());
            continue;
        };
        if fields.len() > header.len() {
            problem(format!(
                "{} fields but the header has {} columns",
                fields.len(),
                header.len()
            ));
            continue;
        }
        if fields == *header {
            // A repeated header (a writer that appends one per restart).
            continue;
        }
        cursor.rows += 1;
        if cursor.rows <= skip_rows {
            continue;
        }
        let step_at = step_column(header);
        let step = match step_at {
            Some(i) => match fields.get(i).and_then(|f| number(f)) {
                Some(step) => step,
                None => {
                    problem(format!(
                        "step column {:?} is {:?}, not a number",
                        header[i],
                        fields.get(i).map(String::as_str).unwrap_or("")
                    ));
                    continue;
                }
            },
            None => (cursor.rows - 1) as f64,
        };
        let time_at = header
            .iter()
            .position(|h| TIME_COLUMNS.iter().any(|t| h.eq_ignore_ascii_case(t)));
        let time_ms = time_at
            .and_then(|i| fields.get(i))
            .and_then(|f| number(f))
            .map(to_unix_ms);
        for (i, field) in fields.iter().enumerate() {
            if Some(i) == step_at || Some(i) == time_at {
                continue;
            }
            let Some(value) = number(field) else { continue };
            let key = format!("{key_prefix}{}", header[i]);
            if validate_metric_key(&key).is_err() {
                continue;
            }
            batch.points.push(CsvPoint {
                key,
                step,
                value,
                time_ms,
            });
        }
    }
    batch
}

fn step_column(header: &[String]) -> Option<usize> {
    STEP_COLUMNS
        .iter()
        .find_map(|name| header.iter().position(|h| h.eq_ignore_ascii_case(name)))
        .or_else(|| header.first().filter(|h| h.is_empty()).map(|_| 0))
}

/// A finite number, or `None` (empty, `nan`, text).
fn number(field: &str) -> Option<f64> {
    field.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Seconds or milliseconds since the epoch → ms.
fn to_unix_ms(value: f64) -> i64 {
    if value.abs() < 1e11 {
        (value * 1000.0) as i64
    } else {
        value as i64
    }
}

/// Splits one CSV line (RFC 4180 quoting, no newlines inside quotes).
fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                c => field.push(c),
            }
        } else {
            match c {
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    was_quoted = false;
                }
                '"' if field.trim().is_empty() && !was_quoted => {
                    field.clear();
                    quoted = true;
                    was_quoted = true;
                }
                '"' => {
                    return Err(format!(
                        "a quote inside unquoted field {}",
                        fields.len() + 1
                    ))
                }
                c if was_quoted && !c.is_whitespace() => {
                    return Err(format!(
                        "text after the closing quote of field {}",
                        fields.len() + 1
                    ))
                }
                c => field.push(c),
            }
        }
    }
    if quoted {
        return Err(format!("field {} has no closing quote", fields.len() + 1));
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(batch: &CsvBatch) -> Vec<(String, f64, f64)> {
        batch
            .points
            .iter()
            .map(|p| (p.key.clone(), p.step, p.value))
            .collect()
    }

    #[test]
    fn reads_rows_with_a_step_column_and_keeps_partial_lines_for_later() {
        let mut cursor = CsvCursor::default();
        let batch = read_rows(&mut cursor, b"step,loss,acc\n0,1.5,0.1\n1,1.2,", 0, "");
        assert_eq!(
            keys(&batch),
            vec![("loss".into(), 0.0, 1.5), ("acc".into(), 0.0, 0.1)]
        );
        assert_eq!((cursor.offset, cursor.lines, cursor.rows), (24, 2, 1));
        let batch = read_rows(&mut cursor, b"1,1.2,0.3\n", 0, "");
        assert_eq!(
            keys(&batch),
            vec![("loss".into(), 1.0, 1.2), ("acc".into(), 1.0, 0.3)]
        );
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number_and_skipped() {
        let mut cursor = CsvCursor::default();
        let text = b"epoch,loss\n0,1.0\n1,2.0,extra\n2,\"unterminated\n3,0.5\nx,0.4\n";
        let batch = read_rows(&mut cursor, text, 0, "");
        assert_eq!(
            keys(&batch),
            vec![("loss".into(), 0.0, 1.0), ("loss".into(), 3.0, 0.5)]
        );
        let lines: Vec<u64> = batch.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![3, 4, 6], "{:?}", batch.problems);
        assert!(
            batch.problems[0].message.contains("3 fields"),
            "{:?}",
            batch.problems
        );
    }

    #[test]
    fn pandas_index_and_row_numbers_give_steps_and_blanks_are_skipped() {
        let mut cursor = CsvCursor::default();
        let batch = read_rows(&mut cursor, b",loss,lr\n0,1.0,\n1,nan,0.1\n", 0, "");
        assert_eq!(
            keys(&batch),
            vec![("loss".into(), 0.0, 1.0), ("lr".into(), 1.0, 0.1)]
        );
        let mut cursor = CsvCursor::default();
        let batch = read_rows(&mut cursor, b"loss\n3\n2\n", 0, "val/");
        assert_eq!(
            keys(&batch),
            vec![("val/loss".into(), 0.0, 3.0), ("val/loss".into(), 1.0, 2.0)]
        );
    }

    #[test]
    fn a_rewrite_with_a_new_column_reads_only_the_new_rows() {
        let mut cursor = CsvCursor::default();
        read_rows(&mut cursor, b"step,loss\n0,1.0\n1,0.9\n", 0, "");
        let seen = cursor.rows;
        let mut again = CsvCursor::default();
        let batch = read_rows(
            &mut again,
            b"step,loss,val_acc\n0,1.0,\n1,0.9,\n2,0.8,0.7\n",
            seen,
            "",
        );
        assert_eq!(
            keys(&batch),
            vec![("loss".into(), 2.0, 0.8), ("val_acc".into(), 2.0, 0.7)]
        );
    }

    #[test]
    fn quoting_time_columns_and_crlf() {
        let mut cursor = CsvCursor::default();
        let batch = read_rows(
            &mut cursor,
            b"\"step\",\"a,b\",time\r\n1,\"2.5\",1700000000\r\n",
            0,
            "",
        );
        assert_eq!(batch.points.len(), 1);
        assert_eq!(batch.points[0].key, "a,b");
        assert_eq!(batch.points[0].time_ms, Some(1_700_000_000_000));
        assert!(split_line("a,\"b\"c").is_err());
        assert!(split_line("a,b\"c").is_err());
    }
}
