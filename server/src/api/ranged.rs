//! Immutable files served with an ETag (their xxh3) and single byte ranges,
//! so a cut download resumes (`Range: bytes=N-` with `If-Range`) and a
//! client that has the file is told so (`If-None-Match` → 304).

use std::io::SeekFrom;
use std::path::Path;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use trainyard_engine::EngineError;

use super::error::ApiError;

/// Bytes per body chunk (model and run-file downloads): `ReaderStream`'s default (4 KiB) makes a
/// multi-GB checkpoint a million chunks and caps loopback downloads at
/// ~120 MiB/s on this VM (docs/benchmarks.md, "Model downloads").
pub(super) const CHUNK: usize = 256 << 10;

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranged {
    /// No range, one we do not serve (several), or an `If-Range` that no
    /// longer matches: the whole file.
    Whole,
    /// Bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// Nothing of the file is in the range (416).
    Unsatisfiable,
}

/// Reads `Range: bytes=a-b | a- | -n` (one range) against `size`.
pub fn parse_range(value: &str, size: u64) -> Ranged {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let number = |s: &str| s.parse::<u64>().ok();
    match (a.is_empty(), b.is_empty()) {
        (true, false) => match number(b) {
            Some(0) => Ranged::Unsatisfiable,
            Some(n) if size > 0 => Ranged::Part {
                start: size.saturating_sub(n),
                end: size - 1,
            },
            Some(_) => Ranged::Unsatisfiable,
            None => Ranged::Whole,
        },
        (false, _) => {
            let Some(start) = number(a) else {
                return Ranged::Whole;
            };
            let end = if b.is_empty() {
                Some(size.saturating_sub(1))
            } else {
                number(b)
            };
            let Some(end) = end else {
                return Ranged::Whole;
            };
            if start >= size {
                Ranged::Unsatisfiable
            } else if end < start {
                Ranged::Whole
            } else {
                Ranged::Part {
                    start,
                    end: end.min(size - 1),
                }
            }
        }
        (true, true) => Ranged::Whole,
    }
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag
    })
}

/// `full` (`size` bytes, content hash `xxh3`) as a download named `name`.
pub async fn serve(
    headers: &HeaderMap,
    full: &Path,
    size: u64,
    xxh3: &str,
    content_type: &'static str,
    name: &str,
) -> Result<Response, ApiError> {
    let etag = format!("\"{xxh3}\"");
    let etag_value = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    let text = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok());
    if text(header::IF_NONE_MATCH).is_some_and(|list| etag_matches(list, &etag)) {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        r.headers_mut().insert(header::ETAG, etag_value);
        return Ok(r);
    }
    let if_range_ok = text(header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    let range = match text(header::RANGE) {
        Some(value) if if_range_ok => parse_range(value, size),
        _ => Ranged::Whole,
    };
    let mut response = match range {
        Ranged::Unsatisfiable => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            r
        }
        Ranged::Whole => {
            let file = open(full).await?;
            let mut r = Body::from_stream(ReaderStream::with_capacity(file, CHUNK)).into_response();
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
            r
        }
        Ranged::Part { start, end } => {
            let mut file = open(full).await?;
            file.seek(SeekFrom::Start(start))
                .await
                .map_err(|source| io(full, source))?;
            let len = end - start + 1;
            let mut r = (
                StatusCode::PARTIAL_CONTENT,
                Body::from_stream(ReaderStream::with_capacity(file.take(len), CHUNK)),
            )
                .into_response();
            let h = r.headers_mut();
            h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
                h.insert(header::CONTENT_RANGE, v);
            }
            r
        }
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, etag_value);
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // `latest` URLs change what they point at: revalidate, by ETag.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let safe: String = name
        .replace(['"', '\\'], "_")
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

async fn open(full: &Path) -> Result<tokio::fs::File, ApiError> {
    tokio::fs::File::open(full)
        .await
        .map_err(|source| io(full, source))
}

fn io(full: &Path, source: std::io::Error) -> ApiError {
    EngineError::Io {
        path: full.to_path_buf(),
        source,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_against_the_size() {
        use Ranged::*;
        assert_eq!(parse_range("bytes=0-99", 1000), Part { start: 0, end: 99 });
        assert_eq!(
            parse_range("bytes=500-", 1000),
            Part {
                start: 500,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-100", 1000),
            Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            parse_range("bytes=-5000", 1000),
            Part { start: 0, end: 999 }
        );
        assert_eq!(
            parse_range("bytes=900-5000", 1000),
            Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(parse_range("bytes=1000-", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Whole);
        assert_eq!(parse_range("bytes=9-3", 1000), Whole);
        assert_eq!(parse_range("items=0-1", 1000), Whole);
        assert_eq!(parse_range("bytes=x-", 1000), Whole);
        assert_eq!(parse_range("bytes=0-", 0), Unsatisfiable);
    }

    #[test]
    fn etags_match_strong_weak_and_star() {
        assert!(etag_matches("\"ab\"", "\"ab\""));
        assert!(etag_matches("\"x\", W/\"ab\"", "\"ab\""));
        assert!(etag_matches("*", "\"ab\""));
        assert!(!etag_matches("\"abc\"", "\"ab\""));
    }
}
