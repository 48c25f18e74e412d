//! Unpacking a model bundle (`bundle.tar.gz`: `manifest.json` and
//! `payload/…`) into a directory, checked file by file against its
//! manifest. Shared by `trainyard model pull` and the agent's serving
//! attempts, which unpack into their bundle cache.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{bail, Context};
use trainyard_core::models::{ModelManifest, BUNDLE_FILE, MANIFEST_FILE, PAYLOAD_DIR};
use trainyard_core::sync::{hex64, validate_run_path};
use trainyard_core::tar;
use xxhash_rust::xxh3::Xxh3;

/// Written last in an unpacked directory: which version it holds.
pub const PULLED: &str = ".trainyard-pull.json";

/// The xxh3 of a file, as 16 hex digits.
pub fn hash_blocking(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            return Ok(hex64(hasher.digest()));
        }
        hasher.update(&buffer[..n]);
    }
}

/// Unpacks `<dir>/bundle.tar.gz` into a temp dir, checks every file
/// against the manifest, then swaps `payload/` and `manifest.json` in and
/// writes the marker.
pub fn unpack(dir: &Path, bundle_xxh3: &str, marker: &str) -> anyhow::Result<()> {
    let temp = dir.join(format!(".unpack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(&temp)?;
    let result = extract(&dir.join(BUNDLE_FILE), &temp);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&temp);
        return Err(e.context(format!("unpack bundle {bundle_xxh3}")));
    }
    let manifest: ModelManifest = serde_json::from_slice(&std::fs::read(temp.join(MANIFEST_FILE))?)
        .context("the bundle's manifest.json")?;
    for f in &manifest.files {
        let h = hash_blocking(&temp.join(PAYLOAD_DIR).join(&f.path))
            .with_context(|| format!("the bundle has no {}", f.path))?;
        if h != f.xxh3 {
            bail!("{}: does not match the manifest's hash", f.path);
        }
    }
    let _ = std::fs::remove_file(dir.join(PULLED));
    let _ = std::fs::remove_dir_all(dir.join(PAYLOAD_DIR));
    std::fs::create_dir_all(temp.join(PAYLOAD_DIR))?;
    std::fs::rename(temp.join(PAYLOAD_DIR), dir.join(PAYLOAD_DIR))?;
    std::fs::rename(temp.join(MANIFEST_FILE), dir.join(MANIFEST_FILE))?;
    let _ = std::fs::remove_dir_all(&temp);
    let mut out = std::fs::File::create(dir.join(PULLED))?;
    out.write_all(marker.as_bytes())?;
    out.sync_all()?;
    Ok(())
}

/// Extracts a bundle's regular files into `into`; any other path than
/// `manifest.json` and `payload/…`, or one that would leave `into`, is refused.
fn extract(bundle: &Path, into: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::open(bundle)?;
    let mut input = flate2::read::GzDecoder::new(std::io::BufReader::new(file));
    let mut block = [0u8; tar::BLOCK];
    let mut long_path: Option<String> = None;
    loop {
        input
            .read_exact(&mut block)
            .context("the bundle ends early")?;
        let Some(header) = tar::parse_header(&block).map_err(anyhow::Error::msg)? else {
            return Ok(());
        };
        match header.kind {
            b'x' | b'g' => {
                let mut data = vec![0u8; usize::try_from(header.size)?];
                input.read_exact(&mut data)?;
                skip(&mut input, tar::padding(header.size) as u64)?;
                if header.kind == b'x' {
                    long_path = tar::pax_path(&data);
                }
                continue;
            }
            b'0' | 0 => {}
            b'5' => {
                long_path = None;
                continue;
            }
            other => bail!("the bundle has an entry of type {:?}", other as char),
        }
        let path = long_path.take().unwrap_or(header.path);
        validate_run_path(&path).map_err(|e| anyhow::anyhow!("bundle entry {path:?}: {e}"))?;
        if path != MANIFEST_FILE && !path.starts_with(&format!("{PAYLOAD_DIR}/")) {
            bail!("bundle entry {path:?}: not manifest.json or payload/…");
        }
        let target = into.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut out = std::fs::File::create(&target)?;
        let copied = std::io::copy(&mut (&mut input).take(header.size), &mut out)?;
        if copied != header.size {
            bail!("bundle entry {path:?} ends early");
        }
        out.sync_all()?;
        skip(&mut input, tar::padding(header.size) as u64)?;
    }
}

fn skip(input: &mut impl Read, n: u64) -> std::io::Result<()> {
    std::io::copy(&mut input.take(n), &mut std::io::sink())?;
    Ok(())
}
