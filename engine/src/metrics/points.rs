//! A series' points file: fixed 24-byte little-endian records
//! `(step f64, value f64, time_ms i64)`, appended only. Fixed records make
//! "the n-th point" an offset, so a range is found by binary search and read
//! in large sequential chunks; no per-point parsing or index is needed.
//!
//! The catalog's `count` is the commit point: records past it (a crash
//! between the file append and the catalog write) are ignored by readers
//! and cut off before the next append.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::EngineError;

/// Bytes per point.
pub const RECORD: usize = 24;
/// Points read per chunk when scanning (1.5 MiB).
const CHUNK_POINTS: usize = 64 * 1024;

/// One stored point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub step: f64,
    pub value: f64,
    pub time_ms: i64,
}

impl Point {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.step.to_le_bytes());
        out.extend_from_slice(&self.value.to_le_bytes());
        out.extend_from_slice(&self.time_ms.to_le_bytes());
    }

    fn decode(record: &[u8]) -> Point {
        let word = |i: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&record[i * 8..i * 8 + 8]);
            bytes
        };
        Point {
            step: f64::from_le_bytes(word(0)),
            value: f64::from_le_bytes(word(1)),
            time_ms: i64::from_le_bytes(word(2)),
        }
    }
}

/// `<root>/<job>/<series id>.bin`: numeric names only, keys never touch paths.
pub fn series_path(root: &Path, job_id: i64, series_id: i64) -> PathBuf {
    root.join(job_id.to_string())
        .join(format!("{series_id}.bin"))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Appends `points` after the first `committed` records, cutting off any
/// uncommitted tail first.
pub fn append(path: &Path, committed: u64, points: &[Point]) -> Result<(), EngineError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    let want = committed * RECORD as u64;
    let len = file.metadata().map_err(io(path))?.len();
    if len != want {
        if len < want {
            tracing::warn!(
                path = %path.display(),
                "metric file has {len} bytes, the catalog says {want}: points were lost (an OS crash?)"
            );
        }
        file.set_len(want.min(len)).map_err(io(path))?;
    }
    let mut bytes = Vec::with_capacity(points.len() * RECORD);
    for point in points {
        point.encode(&mut bytes);
    }
    file.write_all(&bytes).map_err(io(path))
}

/// Read access to the committed records of one series.
pub struct Reader {
    file: File,
    path: PathBuf,
    /// Committed records present in the file.
    pub len: u64,
}

impl Reader {
    /// `None` if the file does not exist (a series with no points yet).
    pub fn open(path: &Path, committed: u64) -> Result<Option<Reader>, EngineError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
        };
        let on_disk = file.metadata().map_err(io(path))?.len() / RECORD as u64;
        Ok(Some(Reader {
            file,
            path: path.to_path_buf(),
            len: committed.min(on_disk),
        }))
    }

    fn step_at(&self, index: u64) -> Result<f64, EngineError> {
        let mut bytes = [0u8; 8];
        self.file
            .read_exact_at(&mut bytes, index * RECORD as u64)
            .map_err(io(&self.path))?;
        Ok(f64::from_le_bytes(bytes))
    }

    /// First index whose step is not `before` `bound` (steps non-decreasing):
    /// with `inclusive`, the first step > bound, else the first step >= bound.
    pub fn partition(&self, bound: f64, inclusive: bool) -> Result<u64, EngineError> {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let step = self.step_at(mid)?;
            let before = if inclusive {
                step <= bound
            } else {
                step < bound
            };
            if before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// Calls `each` for records `[start, end)` in file order, reading big chunks.
    pub fn scan(
        &self,
        start: u64,
        end: u64,
        mut each: impl FnMut(Point),
    ) -> Result<(), EngineError> {
        let end = end.min(self.len);
        let mut buf = vec![0u8; CHUNK_POINTS * RECORD];
        let mut at = start;
        while at < end {
            let n = usize::try_from(end - at)
                .unwrap_or(CHUNK_POINTS)
                .min(CHUNK_POINTS);
            let bytes = &mut buf[..n * RECORD];
            self.file
                .read_exact_at(bytes, at * RECORD as u64)
                .map_err(io(&self.path))?;
            bytes
                .chunks_exact(RECORD)
                .map(Point::decode)
                .for_each(&mut each);
            at += n as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(step: f64) -> Point {
        Point {
            step,
            value: step * 2.0,
            time_ms: 7,
        }
    }

    #[test]
    fn appends_reads_back_and_cuts_an_uncommitted_tail() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = series_path(dir.path(), 1, 9);
        append(&path, 0, &[p(0.0), p(1.0), p(2.0)]).expect("append");
        // Only two were committed: the third is cut before the next append.
        append(&path, 2, &[p(5.0)]).expect("append");
        let reader = Reader::open(&path, 3)
            .expect("the engine opens")
            .unwrap_or_else(|| panic!("file exists"));
        let mut seen = Vec::new();
        reader.scan(0, 10, |pt| seen.push(pt)).expect("scan");
        assert_eq!(seen, vec![p(0.0), p(1.0), p(5.0)]);
    }

    #[test]
    fn partition_finds_ranges_with_repeated_steps() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = series_path(dir.path(), 1, 1);
        let steps = [0.0, 1.0, 1.0, 1.0, 2.0, 5.0];
        let points: Vec<Point> = steps.iter().map(|s| p(*s)).collect();
        append(&path, 0, &points).expect("append");
        let reader = Reader::open(&path, 6)
            .expect("the engine opens")
            .unwrap_or_else(|| panic!("file exists"));
        let at = |b, inc| reader.partition(b, inc).expect("partition");
        assert_eq!((at(1.0, false), at(1.0, true)), (1, 4));
        assert_eq!((at(3.0, false), at(3.0, true)), (5, 5));
        assert_eq!((at(-1.0, false), at(9.0, true)), (0, 6));
        assert!(Reader::open(&series_path(dir.path(), 1, 2), 0)
            .expect("the engine opens")
            .is_none());
    }
}
