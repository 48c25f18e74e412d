//! Gzip for chunk bodies, used only where it pays: metrics and logs shrink
//! several times over, checkpoints hardly at all.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

use super::api::ChunkBody;

/// Smaller bodies go as they are: gzip's framing would eat the saving.
const MIN_INPUT: usize = 1024;
/// Larger bodies are tried on a sample first, so an incompressible 4 MiB
/// checkpoint chunk costs a 64 KiB attempt, not a 4 MiB one.
const PROBE_ABOVE: usize = 256 * 1024;
const PROBE_BYTES: usize = 64 * 1024;

/// `raw` as the body to send: gzipped when that saves at least a tenth.
/// Blocking (CPU): call it off the async runtime for big chunks.
pub(super) fn encode(raw: Vec<u8>) -> ChunkBody {
    let plain = |bytes| ChunkBody { bytes, gzip: false };
    if raw.len() < MIN_INPUT {
        return plain(raw);
    }
    if raw.len() > PROBE_ABOVE {
        let sample = &raw[..PROBE_BYTES];
        if !gzip(sample).is_some_and(|packed| saves_enough(sample.len(), packed.len())) {
            return plain(raw);
        }
    }
    match gzip(&raw) {
        Some(packed) if saves_enough(raw.len(), packed.len()) => ChunkBody {
            bytes: packed,
            gzip: true,
        },
        _ => plain(raw),
    }
}

fn saves_enough(raw: usize, packed: usize) -> bool {
    packed.saturating_mul(10) <= raw.saturating_mul(9)
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn noise(len: usize) -> Vec<u8> {
        // xorshift: incompressible enough, and reproducible.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    #[test]
    fn text_is_gzipped_and_inflates_back() {
        let csv: Vec<u8> = (0..2000)
            .flat_map(|i| format!("{i},0.{i},train\n").into_bytes())
            .collect();
        let body = encode(csv.clone());
        assert!(body.gzip);
        assert!(body.bytes.len() < csv.len() / 2);
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&body.bytes[..])
            .read_to_end(&mut inflated)
            .expect("the body is valid gzip");
        assert_eq!(inflated, csv);
    }

    #[test]
    fn small_or_random_bodies_go_as_they_are() {
        let small = b"epoch,loss\n".to_vec();
        assert_eq!(
            encode(small.clone()),
            ChunkBody {
                bytes: small,
                gzip: false
            }
        );
        for len in [4096, 1024 * 1024] {
            let random = noise(len);
            assert_eq!(
                encode(random.clone()),
                ChunkBody {
                    bytes: random,
                    gzip: false
                }
            );
        }
    }
}
