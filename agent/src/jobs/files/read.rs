//! Reading run files off the async runtime: byte ranges and streaming
//! xxh3 hashes, so a multi-GB checkpoint never stalls the other tasks.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

/// Read size while hashing.
const HASH_BUFFER: usize = 1024 * 1024;

/// Runs blocking file work on tokio's blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

/// Up to `len` bytes of `path` from `offset`; fewer at the end of the file.
pub(super) fn read_range(path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.take(len).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// xxh3 of a file as read in one pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileHash {
    /// Bytes read: the file's size while it was read.
    pub size: u64,
    pub full: u64,
    /// Of the first `prefix` bytes asked for; `None` if the file is shorter.
    pub prefix: Option<u64>,
}

/// Hashes all of `path` and, in the same pass, its first `prefix` bytes.
pub(super) fn hash_file(path: &Path, prefix: Option<u64>) -> io::Result<FileHash> {
    let mut file = File::open(path)?;
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; HASH_BUFFER];
    let mut size = 0u64;
    let mut prefix_hash = (prefix == Some(0)).then(|| hasher.digest());
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let piece = &buffer[..read];
        let end = size + read as u64;
        match prefix.filter(|&at| at > size && at <= end) {
            Some(at) => {
                let (before, after) = piece.split_at((at - size) as usize);
                hasher.update(before);
                prefix_hash = Some(hasher.digest());
                hasher.update(after);
            }
            None => hasher.update(piece),
        }
        size = end;
    }
    Ok(FileHash {
        size,
        full: hasher.digest(),
        prefix: prefix_hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xxhash_rust::xxh3::xxh3_64;

    #[test]
    fn whole_and_prefix_hashes_match_one_shot_hashes() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("f.bin");
        let bytes: Vec<u8> = (0..HASH_BUFFER * 2 + 123)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &bytes).expect("the test file is written");
        for at in [0, 1, 4096, HASH_BUFFER, HASH_BUFFER + 7, bytes.len()] {
            let hash = hash_file(&path, Some(at as u64)).expect("the file hashes");
            assert_eq!(hash.size, bytes.len() as u64);
            assert_eq!(hash.full, xxh3_64(&bytes));
            assert_eq!(hash.prefix, Some(xxh3_64(&bytes[..at])), "prefix {at}");
        }
        let past = hash_file(&path, Some(bytes.len() as u64 + 1)).expect("the file hashes");
        assert_eq!(past.prefix, None);
        assert_eq!(read_range(&path, 10, 5).unwrap_or_default(), &bytes[10..15]);
        let tail = read_range(&path, bytes.len() as u64 - 2, 100).unwrap_or_default();
        assert_eq!(tail, &bytes[bytes.len() - 2..]);
    }

    #[test]
    fn an_empty_file_hashes_like_nothing() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("empty");
        std::fs::write(&path, b"").expect("the test file is written");
        let hash = hash_file(&path, Some(0)).expect("the file hashes");
        assert_eq!(
            (hash.size, hash.full, hash.prefix),
            (0, xxh3_64(b""), Some(xxh3_64(b"")))
        );
    }
}
