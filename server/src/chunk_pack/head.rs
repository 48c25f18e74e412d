//! A page's head asks for one pack instead of each chunk.
//!
//! Leptos writes one `<link rel="preload" as="fetch">` per wasm chunk the
//! page's lazy routes need (100–230 of them). [`pack_chunk_preloads`]
//! rewrites the head of every HTML response on its way out: those links
//! become a single preload of `/pkg/pack?files=…`, placed where the first of
//! them was, marked `data-chunk-pack` for the browser's loader
//! (`public/assets/chunk-pack.js`). The body after `</head>` streams on
//! untouched.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::Response;
use futures::{stream, StreamExt};

use super::is_chunk_name;
use crate::state::AppState;

/// A head larger than this is passed on as it is.
const MAX_HEAD_BYTES: usize = 512 * 1024;

const HEAD_END: &[u8] = b"</head>";

/// Middleware on the UI's responses: see the module's documentation.
pub async fn pack_chunk_preloads(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let pkg_prefix = format!("/{}/", state.leptos_options.site_pkg_dir);
    let (mut parts, body) = response.into_parts();
    let mut rest = body.into_data_stream();
    let mut head = Vec::new();
    let mut failed = None;
    while find(&head, HEAD_END).is_none() && head.len() < MAX_HEAD_BYTES {
        match rest.next().await {
            Some(Ok(bytes)) => head.extend_from_slice(&bytes),
            Some(Err(error)) => {
                failed = Some(error);
                break;
            }
            None => break,
        }
    }
    let head = match rewrite_head(&head, &pkg_prefix) {
        Some(rewritten) => {
            parts.headers.remove(CONTENT_LENGTH);
            rewritten
        }
        None => head,
    };
    let body = stream::once(async move { Ok(Bytes::from(head)) })
        .chain(stream::iter(failed.map(Err)))
        .chain(rest);
    Response::from_parts(parts, Body::from_stream(body))
}

/// `bytes` (the response's start, `</head>` in it) with its head's chunk
/// preloads packed; `None` when there is nothing to change.
fn rewrite_head(bytes: &[u8], pkg_prefix: &str) -> Option<Vec<u8>> {
    let end = find(bytes, HEAD_END)?;
    let packed = pack_preloads(std::str::from_utf8(&bytes[..end]).ok()?, pkg_prefix)?;
    let mut rewritten = packed.into_bytes();
    rewritten.extend_from_slice(&bytes[end..]);
    Some(rewritten)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `head` with its chunk preloads (`<link rel="preload" as="fetch"
/// href="{pkg_prefix}<chunk>.wasm">`) replaced by one preload of their
/// pack; `None` when there are fewer than two to replace.
pub fn pack_preloads(head: &str, pkg_prefix: &str) -> Option<String> {
    let mut names = Vec::new();
    let mut kept = String::with_capacity(head.len());
    let mut first_at = None;
    let mut rest = head;
    while let Some(start) = rest.find("<link ") {
        let Some(len) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + len + 1];
        kept.push_str(&rest[..start]);
        match chunk_preload(tag, pkg_prefix) {
            Some(name) => {
                first_at.get_or_insert(kept.len());
                names.push(name);
            }
            None => kept.push_str(tag),
        }
        rest = &rest[start + len + 1..];
    }
    kept.push_str(rest);
    let at = first_at.filter(|_| names.len() >= 2)?;
    // `pkg_prefix` is `/<pkg>/`, so this is `pack_path(<pkg>)`.
    let pack_href = format!("{pkg_prefix}pack?files={}", names.join(","));
    kept.insert_str(
        at,
        &format!(r#"<link rel="preload" href="{pack_href}" as="fetch" crossorigin="anonymous" data-chunk-pack="">"#),
    );
    Some(kept)
}

/// The chunk a `<link …>` tag preloads, if it is one of the splitter's.
fn chunk_preload<'a>(tag: &'a str, pkg_prefix: &str) -> Option<&'a str> {
    let attributes = attributes(tag.strip_prefix("<link ")?.strip_suffix('>')?)?;
    let get = |key: &str| attributes.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    if get("rel")? != "preload" || get("as")? != "fetch" {
        return None;
    }
    let name = get("href")?
        .strip_prefix(pkg_prefix)?
        .strip_suffix(".wasm")?;
    is_chunk_name(name).then_some(name)
}

/// `key="value"` pairs as Leptos renders them; `None` for anything else, so
/// a tag this cannot read is left as it was.
fn attributes(mut text: &str) -> Option<Vec<(&str, &str)>> {
    let mut pairs = Vec::new();
    loop {
        text = text.trim_start();
        if text.is_empty() || text == "/" {
            return Some(pairs);
        }
        let eq = text.find('=')?;
        let key = &text[..eq];
        if key.is_empty() || key.contains(char::is_whitespace) {
            return None;
        }
        let value_and_rest = text[eq + 1..].strip_prefix('"')?;
        let close = value_and_rest.find('"')?;
        pairs.push((key, &value_and_rest[..close]));
        text = &value_and_rest[close + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK_18: &str = r#"<link as="fetch" crossorigin="n0" href="/pkg/chunk_18.wasm" rel="preload" type="application/wasm">"#;
    const SPLIT: &str = r#"<link as="fetch" crossorigin="n0" href="/pkg/split___queue_route_view_1.wasm" rel="preload" type="application/wasm">"#;
    const MAIN: &str = r#"<link rel="preload" href="/pkg/trainyard.wasm" as="fetch" type="application/wasm" crossorigin="n0">"#;
    const CSS: &str = r#"<link id="leptos" rel="stylesheet" href="/pkg/trainyard.css">"#;

    #[test]
    fn chunk_preloads_become_one_pack_where_the_first_was() {
        let head = format!("<head>{MAIN}{CSS}{CHUNK_18}{SPLIT}<title>t</title>");
        let packed = pack_preloads(&head, "/pkg/").unwrap();
        assert_eq!(
            packed,
            format!(
                r#"<head>{MAIN}{CSS}<link rel="preload" href="/pkg/pack?files=chunk_18,split___queue_route_view_1" as="fetch" crossorigin="anonymous" data-chunk-pack=""><title>t</title>"#
            )
        );
    }

    #[test]
    fn a_head_without_two_chunks_is_left_alone() {
        assert_eq!(pack_preloads(&format!("<head>{MAIN}{CSS}"), "/pkg/"), None);
        assert_eq!(
            pack_preloads(&format!("<head>{MAIN}{CHUNK_18}"), "/pkg/"),
            None
        );
        assert_eq!(pack_preloads("", "/pkg/"), None);
    }

    #[test]
    fn links_it_cannot_read_or_that_are_not_chunks_stay() {
        let odd = [
            // another package directory
            r#"<link as="fetch" href="/other/chunk_1.wasm" rel="preload">"#,
            // not a preload
            r#"<link as="fetch" href="/pkg/chunk_2.wasm" rel="prefetch">"#,
            // unquoted attribute
            r#"<link as=fetch href="/pkg/chunk_3.wasm" rel="preload">"#,
            // a name the pack route would refuse
            r#"<link as="fetch" href="/pkg/chunk_4.x.wasm" rel="preload">"#,
            // not wasm
            r#"<link as="fetch" href="/pkg/chunk_5.js" rel="preload">"#,
        ];
        let head = format!("<head>{}{CHUNK_18}{SPLIT}", odd.concat());
        let packed = pack_preloads(&head, "/pkg/").unwrap();
        assert!(
            packed.starts_with(&format!("<head>{}", odd.concat())),
            "{packed}"
        );
        assert!(packed.ends_with("data-chunk-pack=\"\">"), "{packed}");
        // An unterminated tag at the end of the head: nothing lost.
        let cut = format!("<head>{CHUNK_18}{SPLIT}<link rel=\"preload\"");
        assert!(pack_preloads(&cut, "/pkg/")
            .unwrap()
            .ends_with("<link rel=\"preload\""));
    }
}
