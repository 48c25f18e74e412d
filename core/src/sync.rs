//! File sync, agent → server: the run dir a job writes on its host arrives
//! at the server exactly once. Plain REST under
//! `/api/v1/agents/jobs/{job}/attempts/{n}/…`; see docs/agent-protocol.md.
//!
//! Two kinds of files:
//! - **append** files ([`SyncKind::Append`]: `.csv`, `.log`, `.txt`,
//!   `.jsonl`, `.tsv`, TensorBoard `*tfevents*`) grow at the end. The agent `PUT`s a chunk at an
//!   explicit byte offset with the chunk's xxh3; the server appends only at
//!   its current size, acknowledges a retry of bytes it already has, and
//!   answers a gap or overlap with 409 and its size.
//! - **whole** files (everything else: YAML, checkpoints, images) are sent
//!   as a content-addressed upload: the agent names the file's final size
//!   and xxh3, sends chunks at increasing offsets, and the server keeps the
//!   previous version until the new one is complete and its hash checks.
//!   An interrupted upload resumes at the server's `received`.
//!
//! An append file that was rewritten (it shrank, or its start changed, as
//! when pandas rewrites a CSV with a new column) is re-sent as a whole
//! upload, which replaces the server's copy; appends continue from there.
//!
//! Chunk bodies may be gzip-compressed (`Content-Encoding: gzip`); offsets,
//! sizes and hashes are always of the uncompressed bytes.

use serde::{Deserialize, Serialize};

/// Longest path (bytes) of a run file, relative to the run dir.
pub const MAX_PATH_BYTES: usize = 512;
/// Deepest directory nesting of a run file.
pub const MAX_PATH_DEPTH: usize = 16;

/// How a file travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncKind {
    /// Grows at the end: offset-checked appends.
    Append,
    /// Replaced as a whole: content-hashed, resumable uploads.
    Whole,
}

impl SyncKind {
    /// The kind of a run file, by its extension.
    pub fn of(path: &str) -> SyncKind {
        let name = path.rsplit('/').next().unwrap_or(path);
        // TensorBoard event files (`events.out.tfevents.<secs>.<host>…`)
        // only grow; appends let the server index them live.
        if name.contains("tfevents") && !name.ends_with(".profile-empty") {
            return SyncKind::Append;
        }
        let extension = name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .unwrap_or_default();
        match extension.as_str() {
            "csv" | "tsv" | "log" | "txt" | "jsonl" | "out" | "err" => SyncKind::Append,
            _ => SyncKind::Whole,
        }
    }
}

/// One file as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the run dir, `/`-separated.
    pub path: String,
    pub kind: SyncKind,
    pub size: u64,
    /// xxh3-64 of the whole file, 16 lowercase hex digits.
    pub xxh3: String,
    /// Last change on the server (Unix ms).
    pub modified_ms: i64,
}

/// An unfinished whole-file upload: where to resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadProgress {
    pub path: String,
    /// The complete file's size and hash, as named when it began.
    pub size: u64,
    pub xxh3: String,
    /// Bytes received so far: the next chunk starts here.
    pub received: u64,
}

/// `GET …/attempts/{n}/files`: everything the server has of an attempt's
/// run dir, so a reconnecting agent knows exactly what to resend.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    #[serde(default)]
    pub files: Vec<FileEntry>,
    #[serde(default)]
    pub uploads: Vec<UploadProgress>,
}

/// Answer to an append: the file's size on the server afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendAck {
    pub size: u64,
}

/// Answer to an upload chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadAck {
    /// Bytes of this upload the server has.
    pub received: u64,
    /// The file is in place (hash checked); nothing more to send.
    pub complete: bool,
}

/// Query of `PUT …/files/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendQuery {
    pub offset: u64,
    /// xxh3-64 of this chunk (uncompressed), hex.
    pub xxh3: String,
}

/// Query of `PUT …/uploads/{path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadQuery {
    /// The complete file's size and xxh3-64 (hex).
    pub size: u64,
    pub xxh3: String,
    /// Where this chunk starts.
    pub offset: u64,
    /// xxh3-64 of this chunk (uncompressed), hex.
    pub chunk_xxh3: String,
}

/// What to do with `len` bytes sent for `offset` of a file of `size` bytes:
/// the one append rule of job logs, append run files and upload staging
/// (and of the agent tests' fake server). Bytes land only at the current
/// end; a retry of bytes already there is acknowledged without writing; a
/// gap or an overlap is refused with the current size, so the sender
/// resends from there. Duplicated or missing bytes are impossible by
/// construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// They continue the file: write them.
    Append,
    /// The file already holds them (a retry): acknowledge, write nothing.
    AlreadyHeld,
    /// A gap or an overlap: refuse with the file's size.
    Mismatch,
}

/// See [`Placement`].
pub fn place(size: u64, offset: u64, len: u64) -> Placement {
    if offset == size {
        Placement::Append
    } else if offset < size && offset.saturating_add(len) <= size {
        Placement::AlreadyHeld
    } else {
        Placement::Mismatch
    }
}

/// xxh3-64 of `bytes` as 16 lowercase hex digits, the form used on the wire.
pub fn xxh3_hex(bytes: &[u8]) -> String {
    hex64(xxhash_rust::xxh3::xxh3_64(bytes))
}

/// A 64-bit hash as 16 lowercase hex digits.
pub fn hex64(hash: u64) -> String {
    format!("{hash:016x}")
}

/// Reads a hash written by [`hex64`]; `None` unless it is 1–16 hex digits.
pub fn parse_hex64(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 16 {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}

/// Why a path from the network is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunPathError {
    #[error("the path is empty")]
    Empty,
    #[error("the path is longer than {MAX_PATH_BYTES} bytes")]
    TooLong,
    #[error("the path is absolute; run files are relative to the run dir")]
    Absolute,
    #[error("the path has more than {MAX_PATH_DEPTH} levels")]
    TooDeep,
    #[error("path component {component:?} is not allowed ({why})")]
    BadComponent {
        component: String,
        why: &'static str,
    },
}

/// Checks a run-file path from the network: relative, `/`-separated, no
/// `.` or `..` or empty components, no `\`, NUL or control characters, no
/// Windows drive prefix. Returns it split into components.
pub fn validate_run_path(path: &str) -> Result<Vec<&str>, RunPathError> {
    if path.is_empty() {
        return Err(RunPathError::Empty);
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(RunPathError::TooLong);
    }
    if path.starts_with('/') || path.starts_with('\\') {
        return Err(RunPathError::Absolute);
    }
    let components: Vec<&str> = path.split('/').collect();
    if components.len() > MAX_PATH_DEPTH {
        return Err(RunPathError::TooDeep);
    }
    for component in &components {
        validate_path_component(component)?;
    }
    if components
        .first()
        .is_some_and(|first| first.len() == 2 && first.ends_with(':'))
    {
        return Err(RunPathError::Absolute);
    }
    Ok(components)
}

/// Checks one name (a file, directory, project or run name from the
/// network): not empty, not `.` or `..`, no separator, NUL or control
/// character.
pub fn validate_path_component(component: &str) -> Result<(), RunPathError> {
    let bad = |why| {
        Err(RunPathError::BadComponent {
            component: component.chars().take(64).collect(),
            why,
        })
    };
    if component.is_empty() {
        return bad("empty: a doubled or trailing '/'");
    }
    if component == "." || component == ".." {
        return bad("it would leave or alias the directory");
    }
    if component.contains('\\') || component.contains('/') {
        return bad("a path separator");
    }
    if component.chars().any(char::is_control) {
        return bad("a control character");
    }
    if component.len() > 255 {
        return bad("longer than 255 bytes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_end_is_written_and_retries_are_recognised() {
        assert_eq!(place(6, 6, 5), Placement::Append);
        assert_eq!(place(6, 0, 6), Placement::AlreadyHeld);
        assert_eq!(place(6, 2, 3), Placement::AlreadyHeld);
        assert_eq!(place(6, 3, 10), Placement::Mismatch);
        assert_eq!(place(6, 10, 1), Placement::Mismatch);
        assert_eq!(place(0, 0, 0), Placement::Append);
        assert_eq!(place(6, 5, u64::MAX), Placement::Mismatch, "no overflow");
    }

    #[test]
    fn kinds_follow_the_extension() {
        assert_eq!(SyncKind::of("metrics.csv"), SyncKind::Append);
        assert_eq!(SyncKind::of("sub/Train.LOG"), SyncKind::Append);
        assert_eq!(SyncKind::of("events.jsonl"), SyncKind::Append);
        assert_eq!(
            SyncKind::of("tb/events.out.tfevents.1700000000.gpu1.123.0"),
            SyncKind::Append
        );
        assert_eq!(
            SyncKind::of("tb/events.out.tfevents.1700000000.gpu1.v2"),
            SyncKind::Append
        );
        assert_eq!(SyncKind::of("config.yaml"), SyncKind::Whole);
        assert_eq!(SyncKind::of("ckpt/model.pt"), SyncKind::Whole);
        assert_eq!(SyncKind::of("README"), SyncKind::Whole);
        assert_eq!(SyncKind::of("csv.d/file"), SyncKind::Whole);
    }

    #[test]
    fn good_paths_pass() {
        assert_eq!(
            validate_run_path("ckpt/epoch-3/model.pt"),
            Ok(vec!["ckpt", "epoch-3", "model.pt"])
        );
        assert!(validate_run_path(".hidden").is_ok());
        assert!(validate_run_path("a..b").is_ok());
        assert!(validate_run_path("été/résultats.csv").is_ok());
    }

    #[test]
    fn escaping_paths_are_refused() {
        for bad in [
            "",
            "/etc/passwd",
            "\\x",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "C:",
            "C:/x",
            "a\0b",
            "a\nb",
        ] {
            assert!(validate_run_path(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            validate_run_path("a/".repeat(20).trim_end_matches('/')),
            Err(RunPathError::TooDeep)
        );
        assert_eq!(
            validate_run_path(&"x".repeat(600)),
            Err(RunPathError::TooLong)
        );
    }

    #[test]
    fn errors_name_the_component() {
        let message = validate_run_path("runs/../secret")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("\"..\""), "{message}");
    }

    #[test]
    fn hashes_round_trip_as_hex() {
        let hex = xxh3_hex(b"hello");
        assert_eq!(hex.len(), 16);
        assert_eq!(parse_hex64(&hex).map(hex64), Some(hex));
        assert_eq!(parse_hex64(""), None);
        assert_eq!(parse_hex64("zz"), None);
        assert_eq!(parse_hex64(&"f".repeat(17)), None);
        assert_eq!(xxh3_hex(b""), hex64(xxhash_rust::xxh3::xxh3_64(b"")));
    }
}
