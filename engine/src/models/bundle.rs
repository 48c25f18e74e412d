//! `bundle.tar.gz`: `manifest.json`, then `payload/<path>` for every file
//! in path order, each entry with mode 0644, owner 0 and time 0, gzipped
//! with no name or time in its header. The same manifest and files give the
//! same bytes, so the bundle's hash is its ETag and a Range resumes it. Built
//! once per version, streaming: each payload file is hashed again as it is
//! packed, so a file that changed since it was staged is caught.

use std::io::{Read, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use trainyard_core::models::{ModelFile, BUNDLE_FILE, MANIFEST_FILE, PAYLOAD_DIR};
use trainyard_core::sync::hex64;
use trainyard_core::tar;
use xxhash_rust::xxh3::Xxh3;

/// Counts and hashes what passes through to the file.
struct Hashing<W> {
    inner: W,
    hasher: Xxh3,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hasher.update(&data[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `<dir>/bundle.tar.gz` from `manifest` and `<dir>/payload/…`;
/// returns its size and xxh3 (hex).
pub(super) fn build(
    dir: &Path,
    manifest: &[u8],
    files: &[ModelFile],
) -> std::io::Result<(u64, String)> {
    let file = std::fs::File::create(dir.join(BUNDLE_FILE))?;
    let hashing = Hashing {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        hasher: Xxh3::new(),
        bytes: 0,
    };
    // Level 1: checkpoints barely compress, and this runs on every
    // registration; downloads do not pay for it.
    let mut gz: GzEncoder<_> = GzBuilder::new()
        .mtime(0)
        .write(hashing, Compression::fast());
    gz.write_all(&tar::file_header(MANIFEST_FILE, manifest.len() as u64))?;
    gz.write_all(manifest)?;
    pad(&mut gz, manifest.len() as u64)?;
    let mut buffer = vec![0u8; 1 << 20];
    for f in files {
        let path = dir.join(PAYLOAD_DIR).join(&f.path);
        let mut input = std::fs::File::open(&path)?;
        gz.write_all(&tar::file_header(
            &format!("{PAYLOAD_DIR}/{}", f.path),
            f.bytes,
        ))?;
        let mut hasher = Xxh3::new();
        let mut left = f.bytes;
        while left > 0 {
            let want = buffer
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = input.read(&mut buffer[..want])?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            gz.write_all(&buffer[..n])?;
            left -= n as u64;
        }
        if left > 0 || hex64(hasher.digest()) != f.xxh3 {
            return Err(std::io::Error::other(format!(
                "{}: changed while the version was being built",
                path.display()
            )));
        }
        pad(&mut gz, f.bytes)?;
    }
    gz.write_all(&tar::end_of_archive())?;
    let mut hashing = gz.finish()?;
    hashing.flush()?;
    let Hashing {
        inner,
        hasher,
        bytes,
    } = hashing;
    let file = inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok((bytes, hex64(hasher.digest())))
}

fn pad(out: &mut impl Write, size: u64) -> std::io::Result<()> {
    out.write_all(&[0u8; tar::BLOCK][..tar::padding(size)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::sync::xxh3_hex;

    #[test]
    fn the_same_manifest_and_files_give_the_same_bundle_and_a_changed_file_is_caught() {
        let a = tempfile::tempdir().expect("a temp dir");
        let b = tempfile::tempdir().expect("a temp dir");
        let data = b"weights".repeat(1000);
        let files = vec![ModelFile {
            path: "m.pt".into(),
            bytes: data.len() as u64,
            xxh3: xxh3_hex(&data),
        }];
        for dir in [a.path(), b.path()] {
            std::fs::create_dir_all(dir.join(PAYLOAD_DIR)).expect("payload dir");
            std::fs::write(dir.join(PAYLOAD_DIR).join("m.pt"), &data).expect("written");
        }
        let first = build(a.path(), b"{}", &files).expect("built");
        // Different modification times, same bytes.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = build(b.path(), b"{}", &files).expect("built");
        assert_eq!(first, second);
        let read = |d: &Path| std::fs::read(d.join(BUNDLE_FILE)).expect("readable");
        assert_eq!(read(a.path()), read(b.path()));
        assert_eq!(first.1, xxh3_hex(&read(a.path())));
        std::fs::write(b.path().join(PAYLOAD_DIR).join("m.pt"), b"other").expect("changed");
        assert!(build(b.path(), b"{}", &files).is_err());
    }
}
