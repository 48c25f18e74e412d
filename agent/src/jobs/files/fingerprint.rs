//! Telling an append file that grew from one that was rewritten: the agent
//! keeps the xxh3 of the file's first bytes and of the bytes just before
//! the server's end, and checks both before appending. A pandas rewrite
//! with the same rows plus one keeps both; a new column changes the head.

use std::io;
use std::path::Path;

use xxhash_rust::xxh3::xxh3_64;

use super::read::read_range;

/// Bytes at the start, and before the server's end, that are checked.
pub(super) const EDGE: u64 = 4096;

/// Hashes of the first `min(EDGE, at)` bytes and of the `min(EDGE, at)`
/// bytes before offset `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fingerprint {
    head: u64,
    tail: u64,
}

/// Bytes of an append file from [`EDGE`] before the server's end onward,
/// plus its first bytes: enough to check the fingerprint at that end and
/// to take the one after the next append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Window {
    /// File offset of `bytes[0]`.
    start: u64,
    bytes: Vec<u8>,
    /// The file's first `EDGE` bytes, read when `start > 0`.
    head: Vec<u8>,
}

impl Window {
    /// Reads (blocking) the bytes around `acked`, with up to `max_new` after it.
    pub fn read(path: &Path, acked: u64, max_new: u64) -> io::Result<Self> {
        let start = acked.saturating_sub(EDGE);
        let bytes = read_range(path, start, (acked - start).saturating_add(max_new))?;
        let head = if start > 0 {
            read_range(path, 0, EDGE)?
        } else {
            Vec::new()
        };
        Ok(Self { start, bytes, head })
    }

    /// The fingerprint at offset `at`; `None` if the window does not hold
    /// the bytes for it (the file is shorter than `at`).
    pub fn fingerprint(&self, at: u64) -> Option<Fingerprint> {
        let edge = at.min(EDGE);
        let head = if self.start == 0 {
            &self.bytes
        } else {
            &self.head
        };
        let head = head.get(..usize::try_from(edge).ok()?)?;
        let tail_from = usize::try_from((at - edge).checked_sub(self.start)?).ok()?;
        let tail_to = usize::try_from(at.checked_sub(self.start)?).ok()?;
        let tail = self.bytes.get(tail_from..tail_to)?;
        Some(Fingerprint {
            head: xxh3_64(head),
            tail: xxh3_64(tail),
        })
    }

    /// The bytes from offset `from` on; empty if the window ends before it.
    pub fn after(&self, from: u64) -> &[u8] {
        from.checked_sub(self.start)
            .and_then(|skip| usize::try_from(skip).ok())
            .and_then(|skip| self.bytes.get(skip..))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window_of(bytes: &[u8], acked: u64) -> Window {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("metrics.csv");
        std::fs::write(&path, bytes).expect("the test file is written");
        Window::read(&path, acked, 1 << 20).expect("the window reads")
    }

    fn csv(columns: &str, rows: usize) -> Vec<u8> {
        let mut text = format!("{columns}\n");
        for i in 0..rows {
            text.push_str(&format!("{i},{}.5\n", i * 7));
        }
        text.into_bytes()
    }

    #[test]
    fn a_grown_file_keeps_its_fingerprint_and_a_new_header_changes_it() {
        for rows in [3, 2000] {
            let before = csv("epoch,loss", rows);
            let acked = before.len() as u64;
            let known = window_of(&before, acked).fingerprint(acked);
            assert!(known.is_some());

            let grown = csv("epoch,loss", rows + 1);
            let window = window_of(&grown, acked);
            assert_eq!(window.fingerprint(acked), known, "{rows} rows");
            assert_eq!(window.after(acked), &grown[before.len()..]);
            // The fingerprint after the append comes from the same window.
            let end = grown.len() as u64;
            assert_eq!(
                window.fingerprint(end),
                window_of(&grown, end).fingerprint(end)
            );

            let mut renamed = csv("epoch,loss,acc", rows + 1);
            renamed.truncate(grown.len());
            assert_ne!(window_of(&renamed, acked).fingerprint(acked), known);
        }
    }

    #[test]
    fn a_change_just_before_the_end_is_seen() {
        let before = csv("epoch,loss", 2000);
        let acked = before.len() as u64;
        let known = window_of(&before, acked).fingerprint(acked);
        let mut edited = before.clone();
        let last = edited.len() - 2;
        edited[last] = b'9';
        assert_ne!(window_of(&edited, acked).fingerprint(acked), known);
    }

    #[test]
    fn a_shorter_file_has_no_fingerprint_at_the_old_end() {
        let before = csv("epoch,loss", 100);
        let window = window_of(&before[..10], before.len() as u64);
        assert_eq!(window.fingerprint(before.len() as u64), None);
        assert!(window.after(before.len() as u64).is_empty());
        assert_eq!(window.fingerprint(u64::MAX), None);
        assert!(window.after(u64::MAX).is_empty());
    }
}
