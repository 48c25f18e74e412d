//! TensorBoard event files (`events.out.tfevents.*`) read into metric
//! points, resumably: a file is read from a saved byte offset, only whole
//! records whose CRCs check are consumed, and a truncated tail (a writer
//! still writing) is left for the next read. Pure: bytes in, scalars,
//! counts and problems out; `tfevents_index.rs` does the IO.
//!
//! Corruption never stops a file for good: a record whose payload fails
//! its CRC (or is no `Event`) is reported and skipped (its length checked);
//! a header whose CRC fails, or whose length is impossible (2^60), is
//! reported once and the reader looks for the next valid header.

pub mod event;
pub mod record;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use event::{Scalar, Skips};
use record::{frame, resync, Framing, HEADER_BYTES, MAX_RECORD_BYTES};

/// Whether a file name (its last path component) is a TensorBoard event
/// file: it contains `tfevents`, as TensorBoard's own loaders decide.
pub fn is_event_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.contains("tfevents") && !name.ends_with(".profile-empty")
}

/// How far an event file has been read; saved with the points it produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TfCursor {
    /// Bytes consumed: a record boundary, or while `resyncing`, how far the
    /// search for the next header has come.
    pub offset: u64,
    /// Records read whole (CRCs checked).
    pub records: u64,
    /// Scalars read.
    pub scalars: u64,
    /// After a rewrite: records already indexed from the earlier version,
    /// read again but not recorded.
    #[serde(default)]
    pub skip_records: u64,
    /// What was counted and skipped.
    #[serde(default)]
    pub skips: Skips,
    /// Problems found (corrupt records).
    #[serde(default)]
    pub problems: u64,
    /// A corrupt header was found: looking for the next valid one.
    #[serde(default)]
    pub resyncing: bool,
    /// Each tag's plugin, from its first value that named one.
    #[serde(default)]
    pub plugins: BTreeMap<String, String>,
}

/// Something wrong at a byte offset of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TfProblem {
    pub offset: u64,
    pub message: String,
}

/// What one read produced.
#[derive(Debug, Default, PartialEq)]
pub struct TfBatch {
    pub scalars: Vec<Scalar>,
    pub problems: Vec<TfProblem>,
    /// The slice ended inside a record the file holds whole: read again
    /// from the cursor with at least this many bytes.
    pub need: Option<u64>,
}

/// Reads the records of `bytes`, which start at `cursor.offset` in a file of
/// `file_len` bytes, advancing `cursor` past what was consumed.
pub fn read_records(cursor: &mut TfCursor, bytes: &[u8], file_len: u64) -> TfBatch {
    let mut batch = TfBatch::default();
    let start = cursor.offset;
    // Position in the file; may run past `bytes` when a huge record is skipped.
    let mut at = start;
    while let Some(rest) = usize::try_from(at - start)
        .ok()
        .and_then(|pos| bytes.get(pos..))
    {
        if cursor.resyncing {
            match resync(rest) {
                Some(found) => {
                    at += found as u64;
                    cursor.resyncing = false;
                }
                None => {
                    // The last header-sized bytes may still start one.
                    at += rest.len().saturating_sub(HEADER_BYTES - 1) as u64;
                    break;
                }
            }
            continue;
        }
        match frame(rest) {
            Framing::Record { payload, size } => {
                cursor.records += 1;
                at += size;
                let mut found = Vec::new();
                let mut skips = Skips::default();
                match event::read_event(payload, &mut cursor.plugins, &mut found, &mut skips) {
                    Ok(()) if cursor.records <= cursor.skip_records => {}
                    Ok(()) => {
                        cursor.scalars += found.len() as u64;
                        cursor.skips.add(&skips);
                        batch.scalars.extend(found);
                    }
                    Err(e) => problem(
                        cursor,
                        &mut batch,
                        at - size,
                        format!(
                            "record of {} bytes is not a TensorBoard event ({e}); skipped",
                            payload.len()
                        ),
                    ),
                }
            }
            Framing::Incomplete { need } => {
                if at + need <= file_len && need > rest.len() as u64 {
                    batch.need = Some(need);
                }
                // Otherwise a writer is still writing it: wait.
                break;
            }
            Framing::TooLarge { size } => {
                if at + size > file_len {
                    break;
                }
                problem(
                    cursor,
                    &mut batch,
                    at,
                    format!(
                        "record of {} bytes is larger than the {} MiB read limit; skipped unread",
                        size - record::FRAME_BYTES,
                        MAX_RECORD_BYTES >> 20
                    ),
                );
                at += size;
            }
            Framing::BadDataCrc { size } => {
                problem(
                    cursor,
                    &mut batch,
                    at,
                    format!(
                        "record of {} bytes fails its CRC check (corrupt); skipped",
                        size - record::FRAME_BYTES
                    ),
                );
                cursor.records += 1;
                at += size;
            }
            Framing::BadHeader { length } => {
                problem(
                    cursor,
                    &mut batch,
                    at,
                    format!(
                        "corrupt record header (length field {length}, or its CRC does not match); \
                         the file is read on from the next valid record"
                    ),
                );
                cursor.resyncing = true;
                at += 1;
            }
        }
    }
    cursor.offset = at;
    batch
}

fn problem(cursor: &mut TfCursor, batch: &mut TfBatch, offset: u64, message: String) {
    cursor.problems += 1;
    batch.problems.push(TfProblem {
        offset,
        message: format!("at byte {offset}: {message}"),
    });
}

#[cfg(test)]
mod tests {
    use super::event::{Event, Summary, Value};
    use super::record::{encode, masked_crc};
    use super::*;
    use prost::Message;

    fn scalar_record(tag: &str, step: i64, v: f32) -> Vec<u8> {
        let event = Event {
            wall_time: 1_700_000_000.0 + step as f64,
            step,
            file_version: None,
            summary: Some(Summary {
                value: vec![Value {
                    tag: tag.as_bytes().to_vec(),
                    simple_value: Some(v),
                    obsolete_old_style_histogram: None,
                    image: None,
                    histo: None,
                    audio: None,
                    tensor: None,
                    metadata: None,
                }],
            }),
        };
        encode(&event.encode_to_vec())
    }

    fn version_record() -> Vec<u8> {
        let event = Event {
            wall_time: 1_700_000_000.0,
            step: 0,
            file_version: Some(b"brain.Event:2".to_vec()),
            summary: None,
        };
        encode(&event.encode_to_vec())
    }

    fn file(n: i64) -> Vec<u8> {
        let mut bytes = version_record();
        for step in 0..n {
            bytes.extend(scalar_record("val/accuracy", step, step as f32 / 10.0));
        }
        bytes
    }

    fn steps(batch: &TfBatch) -> Vec<i64> {
        batch.scalars.iter().map(|s| s.step).collect()
    }

    #[test]
    fn a_tensorboardx_file_keeps_tags_steps_and_wall_times() {
        let bytes = include_bytes!(
            "../../../tests/fixtures/tensorboard/logs/cifar/scalars/events.out.tfevents.1700000000.fixture"
        );
        let mut cursor = TfCursor::default();
        let batch = read_records(&mut cursor, bytes, bytes.len() as u64);
        assert_eq!(batch.scalars.len(), 900);
        assert!(batch.problems.is_empty());
        let s = &batch.scalars[3 * 7 + 1];
        assert_eq!(
            (s.tag.as_str(), s.step, s.wall_time, s.value),
            ("val/accuracy", 7, 1_700_000_007.0, f64::from(0.07f32))
        );
        assert_eq!(cursor.offset, bytes.len() as u64);
    }

    #[test]
    fn names_of_event_files() {
        assert!(is_event_file("events.out.tfevents.1700000000.host"));
        assert!(is_event_file("tb/loss/train/events.out.tfevents.1.h.2.v2"));
        assert!(!is_event_file("tb/events.out.tfevents.1.h.profile-empty"));
        assert!(!is_event_file("tfevents/metrics.csv"));
    }

    #[test]
    fn an_empty_file_gives_nothing_and_a_whole_file_everything() {
        let mut cursor = TfCursor::default();
        assert_eq!(read_records(&mut cursor, &[], 0), TfBatch::default());
        assert_eq!(cursor, TfCursor::default());
        let bytes = file(5);
        let batch = read_records(&mut cursor, &bytes, bytes.len() as u64);
        assert_eq!(steps(&batch), vec![0, 1, 2, 3, 4]);
        assert_eq!(batch.scalars[0].tag, "val/accuracy");
        assert_eq!(
            (cursor.offset, cursor.records, cursor.scalars),
            (bytes.len() as u64, 6, 5)
        );
        assert_eq!(cursor.skips.events_without_summary, 1);
    }

    #[test]
    fn a_truncated_tail_waits_at_every_cut_and_resumes_exactly() {
        let bytes = file(4);
        for cut in 0..bytes.len() {
            let mut cursor = TfCursor::default();
            let first = read_records(&mut cursor, &bytes[..cut], cut as u64);
            assert!(first.problems.is_empty(), "cut {cut}: {:?}", first.problems);
            assert_eq!(first.need, None);
            let offset = cursor.offset as usize;
            let second = read_records(&mut cursor, &bytes[offset..], bytes.len() as u64);
            let mut all = steps(&first);
            all.extend(steps(&second));
            assert_eq!(all, vec![0, 1, 2, 3], "cut {cut}");
            assert_eq!(cursor.offset, bytes.len() as u64);
        }
    }

    #[test]
    fn a_short_read_window_asks_for_more_bytes() {
        let bytes = file(2);
        let mut cursor = TfCursor::default();
        let batch = read_records(&mut cursor, &bytes[..50], bytes.len() as u64);
        assert_eq!(cursor.offset, version_record().len() as u64);
        assert!(batch.need.is_some());
    }

    #[test]
    fn a_bad_data_crc_is_reported_and_the_rest_read() {
        let mut bytes = file(3);
        let second = version_record().len() + scalar_record("val/accuracy", 0, 0.0).len();
        bytes[second + 14] ^= 0xff;
        let mut cursor = TfCursor::default();
        let batch = read_records(&mut cursor, &bytes, bytes.len() as u64);
        assert_eq!(steps(&batch), vec![0, 2]);
        assert_eq!(batch.problems.len(), 1);
        assert_eq!(batch.problems[0].offset, second as u64);
        assert!(
            batch.problems[0].message.contains("CRC"),
            "{:?}",
            batch.problems
        );
    }

    #[test]
    fn a_bad_header_or_a_huge_length_resyncs_at_the_next_record() {
        for bad in [
            {
                let mut r = scalar_record("x", 9, 9.0);
                r[8] ^= 1;
                r
            },
            {
                let huge = (1u64 << 60).to_le_bytes();
                let mut r = huge.to_vec();
                r.extend_from_slice(&masked_crc(&huge).to_le_bytes());
                r
            },
            b"garbage bytes, no record at all".to_vec(),
        ] {
            let mut bytes = file(1);
            bytes.extend(&bad);
            bytes.extend(scalar_record("val/accuracy", 5, 0.5));
            let mut cursor = TfCursor::default();
            let batch = read_records(&mut cursor, &bytes, bytes.len() as u64);
            assert_eq!(steps(&batch), vec![0, 5]);
            assert_eq!(batch.problems.len(), 1, "{:?}", batch.problems);
            assert!(!cursor.resyncing);
            assert_eq!(cursor.offset, bytes.len() as u64);
        }
    }

    #[test]
    fn garbage_alone_is_one_problem_and_no_loop() {
        let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut cursor = TfCursor::default();
        let batch = read_records(&mut cursor, &garbage, garbage.len() as u64);
        assert!(batch.scalars.is_empty());
        assert_eq!(batch.problems.len(), 1);
        assert!(cursor.resyncing);
        assert_eq!(cursor.offset, garbage.len() as u64 - 11);
        // Read again from there: nothing new, no new problem.
        let tail = &garbage[cursor.offset as usize..];
        let again = read_records(&mut cursor, tail, garbage.len() as u64);
        assert_eq!(again, TfBatch::default());
    }

    #[test]
    fn a_rewritten_file_skips_records_already_indexed() {
        let bytes = file(4);
        let mut cursor = TfCursor {
            skip_records: 3,
            ..TfCursor::default()
        };
        let batch = read_records(&mut cursor, &bytes, bytes.len() as u64);
        assert_eq!(steps(&batch), vec![2, 3]);
    }
}
