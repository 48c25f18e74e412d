//! `GET /pkg/pack`: many wasm chunks in one response, with the login
//! required elsewhere not required here (like the chunk files themselves).

use std::io::Read;

use crate::harness::{config, TestServer, KEY};

#[tokio::test]
async fn a_pack_answers_the_named_chunks_in_order_and_refuses_bad_names() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).expect("pkg dir");
    std::fs::write(site.join("pkg/chunk_1.wasm"), b"\0asm one").expect("write");
    std::fs::write(site.join("pkg/split___queue_view_7.wasm"), b"\0asm split").expect("write");
    std::fs::write(site.join("secret.wasm"), b"not a chunk").expect("write");
    let mut settings = config(dir.path(), Some(KEY), Default::default());
    settings.site_root = site.clone();
    let server = TestServer::start(settings).await;

    // No session cookie or key: packs are public, like the chunks.
    let answer = server
        .client
        .get(server.url("/pkg/pack?files=split___queue_view_7,chunk_1"))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200);
    let body = answer.bytes().await.expect("body");
    // Two files; 10 and 8 bytes (u32, little endian); then the bytes in order.
    let expected = [
        &[2, 0, 0, 0, 10, 0, 0, 0, 8, 0, 0, 0][..],
        b"\0asm split",
        b"\0asm one",
    ]
    .concat();
    assert_eq!(&body[..], &expected[..]);

    // A browser gets it compressed, brotli first, and the same bytes inside.
    for (accept, encoding) in [("gzip, deflate, br, zstd", "br"), ("gzip", "gzip")] {
        let answer = server
            .client
            .get(server.url("/pkg/pack?files=split___queue_view_7,chunk_1"))
            .header("accept-encoding", accept)
            .send()
            .await
            .expect("sent");
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()["content-encoding"], encoding, "{accept}");
        let compressed = answer.bytes().await.expect("body");
        let mut decoded = Vec::new();
        if encoding == "br" {
            brotli::Decompressor::new(&compressed[..], 4096).read_to_end(&mut decoded)
        } else {
            flate2::read::GzDecoder::new(&compressed[..]).read_to_end(&mut decoded)
        }
        .expect("decodes");
        assert_eq!(decoded, expected, "{accept}");
    }

    for (query, status, says) in [
        ("", 400, "files: give the chunks"),
        ("?files=", 400, "files: give the chunks"),
        ("?files=chunk_1,..%2Fsecret", 400, "files[1]: \"../secret\""),
        (
            "?files=chunk_1,%2Fetc%2Fpasswd",
            400,
            "files[1]: \"/etc/passwd\"",
        ),
        ("?files=chunk_2", 404, "no wasm chunk named \"chunk_2\""),
        ("?files=chunk_1,chunk_1,chunk_9", 404, "\"chunk_9\""),
    ] {
        let answer = server
            .client
            .get(server.url(&format!("/pkg/pack{query}")))
            .send()
            .await
            .expect("sent");
        assert_eq!(answer.status(), status, "{query}");
        let text = answer.text().await.expect("text");
        assert!(text.contains(says), "{query}: {text}");
    }
    // Nothing was changed by the refused requests.
    assert_eq!(
        std::fs::read(site.join("pkg/chunk_1.wasm")).expect("read"),
        b"\0asm one"
    );

    // Pages still render through the head rewrite, and load the pack loader.
    let login = server
        .client
        .get(server.url("/login"))
        .send()
        .await
        .expect("sent");
    assert_eq!(login.status(), 200);
    let html = login.text().await.expect("html");
    assert!(html.contains("/assets/chunk-pack.js"), "{html}");
    assert!(
        html.contains("</head>") && html.contains("</html>"),
        "{html}"
    );
    server.stop().await.expect("stops");
}
