//! Chunk packs: many of the wasm splitter's chunks in one response.
//!
//! `cargo leptos build --split` cuts every lazy page into chunk files,
//! most under 1 KB: a page opened by URL needs 100–230 of them beside the
//! shell, and a browser fetches at most six at a time over HTTP/1.1, so the
//! page waited on the request count, not the bytes. A pack carries a list of
//! them in one response:
//!
//! - `GET /pkg/pack?files=chunk_18,chunk_19,split___queue_route_view_…`
//!   answers the named `.wasm` files of the site's package directory in
//!   one body (format below), compressed once per distinct pack
//!   ([`encoded`]).
//! - [`head::pack_chunk_preloads`] turns a page's per-chunk
//!   `<link rel="preload">` hints into one hint for the pack.
//! - `public/assets/chunk-pack.js`, in the browser, hands the splitter's
//!   loader each chunk out of the pack, and gathers the chunks a
//!   client-side navigation asks for at once into one pack request.
//!
//! Body: `count` (u32, little endian), then `count` lengths (u32 LE), then
//! the files' bytes back to back, in the order of `files`.

mod encoded;
pub mod head;

use std::path::{Path, PathBuf};

use axum::extract::{Query, State};
use axum::http::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, VARY};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::state::AppState;
use encoded::{encoded, Encoding};

/// The route's path for a site whose package directory is `pkg_dir`.
pub fn pack_path(pkg_dir: &str) -> String {
    format!("/{pkg_dir}/pack")
}

/// More names than any page needs (the largest needs ~230), small enough
/// that a pack's URL stays a few KB.
pub const MAX_FILES: usize = 1024;

#[derive(Deserialize)]
pub struct PackQuery {
    files: Option<String>,
}

/// `GET /pkg/pack?files=a,b,c`.
pub async fn serve_pack(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PackQuery>,
) -> Response {
    let options = &state.leptos_options;
    let pkg_dir = Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let names = match parse_files(query.files.as_deref()) {
        Ok(names) => names,
        Err(message) => return (StatusCode::BAD_REQUEST, message).into_response(),
    };
    // One blocking task reads them all: a pack is 100-230 small files.
    let raw = match tokio::task::spawn_blocking(move || read_pack(&pkg_dir, &names)).await {
        Ok(Ok(raw)) => raw,
        Ok(Err(error)) => return error.into_response(),
        Err(error) => {
            tracing::warn!(%error, "the task reading a chunk pack failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "cannot read the pack").into_response();
        }
    };
    // Like the chunk files themselves: the names are not content-hashed, so
    // a rebuild must not be masked by a cached pack.
    let plain = [
        (CONTENT_TYPE, "application/octet-stream"),
        (CACHE_CONTROL, "no-cache"),
        (VARY, "accept-encoding"),
    ];
    let accepted = headers
        .get(ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .and_then(Encoding::negotiate);
    let Some(encoding) = accepted else {
        return (plain, raw).into_response();
    };
    match encoded(raw, encoding).await {
        Ok(body) => (plain, [(CONTENT_ENCODING, encoding.header_value())], body).into_response(),
        Err(error) => {
            tracing::warn!(%error, "compressing a chunk pack");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot compress the pack",
            )
                .into_response()
        }
    }
}

/// Whether `name` can be a chunk the splitter wrote: `chunk_<n>` or
/// `split_<symbol>`, letters, digits and `_` only (no path can hide in it).
pub fn is_chunk_name(name: &str) -> bool {
    (name.starts_with("chunk_") || name.starts_with("split_"))
        && name.len() <= 200
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The `files` list, each name checked; the error names the field and the
/// offending entry.
pub fn parse_files(files: Option<&str>) -> Result<Vec<String>, String> {
    let files = files.unwrap_or_default();
    if files.is_empty() {
        return Err("files: give the chunks to pack, e.g. files=chunk_1,chunk_2".into());
    }
    let names: Vec<&str> = files.split(',').collect();
    if names.len() > MAX_FILES {
        return Err(format!(
            "files: {} names, at most {MAX_FILES} fit in one pack",
            names.len()
        ));
    }
    names
        .into_iter()
        .enumerate()
        .map(|(index, name)| {
            if is_chunk_name(name) {
                Ok(name.to_owned())
            } else {
                Err(format!(
                    "files[{index}]: {name:?} is not a wasm chunk's name (chunk_<n> or split_<name>)"
                ))
            }
        })
        .collect()
}

#[derive(Debug)]
pub enum PackError {
    Missing(String),
    Io(String, std::io::Error),
}

impl IntoResponse for PackError {
    fn into_response(self) -> Response {
        match self {
            PackError::Missing(name) => (
                StatusCode::NOT_FOUND,
                format!("files: no wasm chunk named {name:?} in the site's package directory"),
            )
                .into_response(),
            PackError::Io(name, error) => {
                tracing::warn!(%name, %error, "reading a wasm chunk for a pack");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("files: cannot read {name:?}"),
                )
                    .into_response()
            }
        }
    }
}

/// Reads `names` from `pkg_dir` (each as `<name>.wasm`) into one pack body.
pub fn read_pack(pkg_dir: &Path, names: &[String]) -> Result<Vec<u8>, PackError> {
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let path: PathBuf = pkg_dir.join(format!("{name}.wasm"));
        match std::fs::read(&path) {
            Ok(bytes) => files.push(bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(PackError::Missing(name.clone()))
            }
            Err(error) => return Err(PackError::Io(name.clone(), error)),
        }
    }
    Ok(encode_pack(&files))
}

/// The pack body for `files`, in order.
pub fn encode_pack(files: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = files.iter().map(Vec::len).sum();
    let mut body = Vec::with_capacity(4 + 4 * files.len() + total);
    body.extend_from_slice(&length_u32(files.len()).to_le_bytes());
    for file in files {
        body.extend_from_slice(&length_u32(file.len()).to_le_bytes());
    }
    for file in files {
        body.extend_from_slice(file);
    }
    body
}

/// Chunks are a few KB and a pack at most [`MAX_FILES`] of them.
fn length_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a pack body back as the browser's loader does.
    fn decode(body: &[u8]) -> Vec<Vec<u8>> {
        let word = |at: usize| u32::from_le_bytes(body[at..at + 4].try_into().unwrap()) as usize;
        let count = word(0);
        let mut offset = 4 + 4 * count;
        (0..count)
            .map(|i| {
                let len = word(4 + 4 * i);
                let file = body[offset..offset + len].to_vec();
                offset += len;
                file
            })
            .collect()
    }

    #[test]
    fn a_pack_holds_its_files_in_order() {
        let files = vec![b"\0asm one".to_vec(), Vec::new(), b"three".to_vec()];
        let body = encode_pack(&files);
        assert_eq!(body.len(), 4 + 12 + 13);
        assert_eq!(decode(&body), files);
    }

    #[test]
    fn chunk_names_are_checked_by_position() {
        assert_eq!(
            parse_files(Some("chunk_1,split___queue_route_view_12")).unwrap(),
            ["chunk_1", "split___queue_route_view_12"]
        );
        for (files, expected) in [
            (None, "files: give the chunks"),
            (Some(""), "files: give the chunks"),
            (Some("chunk_1,../secret"), "files[1]: \"../secret\" is not"),
            (Some("chunk_1,,chunk_2"), "files[1]: \"\" is not"),
            (Some("trainyard"), "files[0]: \"trainyard\" is not"),
            (Some("chunk_1.wasm"), "files[0]: \"chunk_1.wasm\" is not"),
            (Some("chunk_%2F"), "files[0]"),
        ] {
            let error = parse_files(files).unwrap_err();
            assert!(error.starts_with(expected), "{files:?}: {error}");
        }
        let too_many = vec!["chunk_1"; MAX_FILES + 1].join(",");
        assert!(parse_files(Some(&too_many))
            .unwrap_err()
            .contains("at most 1024"));
    }

    #[test]
    fn a_missing_chunk_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("chunk_1.wasm"), b"one").unwrap();
        let names = ["chunk_1".to_owned(), "chunk_2".to_owned()];
        match read_pack(dir.path(), &names) {
            Err(PackError::Missing(name)) => assert_eq!(name, "chunk_2"),
            other => panic!("{other:?}"),
        }
        let body = read_pack(dir.path(), &names[..1]).unwrap();
        assert_eq!(decode(&body), [b"one".to_vec()]);
    }
}
