//! Packs compressed once, not per request.
//!
//! Every visitor of a page asks for the same pack (1–2 MB of wasm before
//! compression), so compressing it on each request cost the server tens of
//! milliseconds per page load. A pack is compressed the first time it is
//! asked for, in the best encoding the browser accepts (brotli, else gzip),
//! and kept by its content's hash: a rebuilt site's chunks make new entries,
//! and the oldest are dropped beyond [`CAPACITY`].

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::body::Bytes;
use xxhash_rust::xxh3::xxh3_128;

/// Distinct packs kept: one per page plus the navigations' packs between
/// the pages visited most.
const CAPACITY: usize = 64;

/// Brotli quality: ~5 compresses 1.5 MB of wasm in ~0.1 s, within ~10% of
/// the best (11, seconds); gzip's default level beside it.
const BROTLI_QUALITY: u32 = 5;
const BROTLI_WINDOW: u32 = 22;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    pub fn header_value(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }

    /// The best one `accept_encoding` allows (`br`, then `gzip`); `None`
    /// for identity. A `q=0` entry refuses its encoding.
    pub fn negotiate(accept_encoding: &str) -> Option<Encoding> {
        let accepts = |name: &str| {
            accept_encoding.split(',').any(|entry| {
                let mut parts = entry.split(';');
                let token = parts.next().unwrap_or_default().trim();
                let refused = parts.any(|param| {
                    let param = param.trim();
                    param
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                (token.eq_ignore_ascii_case(name) || token == "*") && !refused
            })
        };
        if accepts("br") {
            Some(Encoding::Brotli)
        } else if accepts("gzip") {
            Some(Encoding::Gzip)
        } else {
            None
        }
    }

    fn compress(self, raw: &[u8]) -> std::io::Result<Vec<u8>> {
        match self {
            Encoding::Brotli => {
                let mut out = Vec::with_capacity(raw.len() / 3);
                {
                    let mut writer = brotli::CompressorWriter::new(
                        &mut out,
                        64 * 1024,
                        BROTLI_QUALITY,
                        BROTLI_WINDOW,
                    );
                    writer.write_all(raw)?;
                    writer.flush()?;
                }
                Ok(out)
            }
            Encoding::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(raw.len() / 2),
                    flate2::Compression::default(),
                );
                encoder.write_all(raw)?;
                encoder.finish()
            }
        }
    }
}

type Entry = (u128, Encoding, Bytes);

fn cache() -> &'static Mutex<VecDeque<Entry>> {
    static CACHE: OnceLock<Mutex<VecDeque<Entry>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(VecDeque::with_capacity(CAPACITY)))
}

/// `raw` in `encoding`, compressed now or taken from the cache.
pub async fn encoded(raw: Vec<u8>, encoding: Encoding) -> std::io::Result<Bytes> {
    let key = xxh3_128(&raw);
    if let Some(hit) = lookup(key, encoding) {
        return Ok(hit);
    }
    let compressed = tokio::task::spawn_blocking(move || encoding.compress(&raw))
        .await
        .map_err(std::io::Error::other)??;
    let compressed = Bytes::from(compressed);
    let mut entries = cache()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !entries.iter().any(|(k, e, _)| *k == key && *e == encoding) {
        if entries.len() == CAPACITY {
            entries.pop_front();
        }
        entries.push_back((key, encoding, compressed.clone()));
    }
    Ok(compressed)
}

fn lookup(key: u128, encoding: Encoding) -> Option<Bytes> {
    let entries = cache()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    entries
        .iter()
        .find(|(k, e, _)| *k == key && *e == encoding)
        .map(|(_, _, bytes)| bytes.clone())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn the_best_accepted_encoding_is_chosen() {
        for (header, expected) in [
            ("gzip, deflate, br, zstd", Some(Encoding::Brotli)),
            ("gzip", Some(Encoding::Gzip)),
            ("GZIP;q=0.5", Some(Encoding::Gzip)),
            ("br;q=0, gzip", Some(Encoding::Gzip)),
            ("br;q=0.0, gzip;q=0", None),
            ("identity", None),
            ("", None),
            ("*", Some(Encoding::Brotli)),
            ("br;q=nonsense", Some(Encoding::Brotli)),
            (",,;;", None),
        ] {
            assert_eq!(Encoding::negotiate(header), expected, "{header:?}");
        }
    }

    #[tokio::test]
    async fn a_pack_is_compressed_once_and_decodes_to_itself() {
        let raw: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let br = encoded(raw.clone(), Encoding::Brotli).await.unwrap();
        let mut back = Vec::new();
        brotli::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, raw);
        let gz = encoded(raw.clone(), Encoding::Gzip).await.unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, raw);
        // The second ask is the cached bytes themselves.
        let again = encoded(raw, Encoding::Brotli).await.unwrap();
        assert_eq!(again.as_ptr(), br.as_ptr());
    }
}
