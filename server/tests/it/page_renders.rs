//! Pages rendered by the server: many at a time, on a multi-threaded
//! runtime like the real server's, every one finishes; a page whose load
//! awaits another's renders what both loaded.
//!
//! The Job page once made its resources inside its Suspense; concurrent
//! loads then spun in Leptos's re-walk of the Suspense, or deadlocked two
//! of tokio's workers on the reactive graph's locks (leptos-rs/leptos#4673)
//! and with them the whole server. Pages now load their data outside their
//! Suspense, and render on threads of their own (`render_threads.rs`).

use trainyard_core::JobStatus;

use crate::harness::{config, fetch_page, page_html, TestServer, KEY};
use crate::jobs_support::{server_with_agent, submit, wait_status};

/// Each round loads all of these at once, the Job page several times.
const PAGES: &[&str] = &[
    "/",
    "/queue",
    "/execute",
    "/launch",
    "/catalog",
    "/devices",
    "/projects",
    "/projects/ui",
    "/compare",
    "/components",
    "/components?path=model/toy.py",
    "/components?path=model/toy.py",
    "/components?path=model/none.py",
    "/models",
    "/settings",
    "/jobs/1",
    "/jobs/1",
    "/jobs/1",
    "/jobs/1",
    "/jobs/1",
    "/jobs/1",
    "/jobs/1",
    "/jobs/1",
    "/jobs/2",
    "/jobs/not-a-number",
];

const ROUNDS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_loaded_many_at_a_time_all_finish() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, _agent) = server_with_agent(dir.path(), 1).await;
    let yaml = "project: ui\nname: one\ngpus: 0\ncommand: [\"sh\", \"-c\", \"echo ok\"]\n";
    let id = submit(&base, yaml).await.jobs[0].id;
    assert_eq!(id, 1, "the pages name job 1");
    wait_status(&base, id, JobStatus::Succeeded).await;
    let uploaded = reqwest::Client::new()
        .post(format!("{base}/api/v1/components/versions/upload"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"path": "model/toy.py", "content": "V = 'one'\n"}))
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(
        uploaded.status(),
        200,
        "{}",
        uploaded.text().await.unwrap_or_default()
    );

    let mut failed = Vec::new();
    for round in 0..ROUNDS {
        let loads: Vec<_> = PAGES
            .iter()
            .map(|path| {
                let base = base.clone();
                tokio::spawn(async move { (*path, fetch_page(&base, path).await) })
            })
            .collect();
        for load in loads {
            match load.await {
                // Rendered to the end, the resolved resources included.
                Ok((_, Ok(html))) if html.contains("</html>") => {}
                Ok((path, Ok(html))) => failed.push(format!(
                    "round {round}: {path} ended early: …{}",
                    &html[html.len().saturating_sub(300)..]
                )),
                Ok((_, Err(e))) => failed.push(format!("round {round}: {e}")),
                Err(e) => failed.push(format!("round {round}: the load panicked: {e}")),
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Uploads `content` as a new (active) version of `path`; returns its hash.
async fn upload_version(base: &str, path: &str, content: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/components/versions/upload"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"path": path, "content": content}))
        .send()
        .await
        .expect("the request is sent");
    let status = response.status();
    let body: serde_json::Value = response.json().await.expect("a JSON answer");
    assert_eq!(status, 200, "{body}");
    body["data"]["hash"]
        .as_str()
        .unwrap_or_else(|| panic!("the upload names its hash: {body}"))
        .to_string()
}

/// How many version rows the Components page shows.
fn version_rows(html: &str) -> usize {
    html.matches("data-testid=\"version-row\"").count()
}

/// The Components page's code view awaits the version list when the URL
/// names no version: the server's render shows the active version's code,
/// a named version's code when asked, and an unknown version as an error,
/// with the list intact.
#[tokio::test]
async fn the_components_page_renders_the_active_or_named_versions_code() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let first = upload_version(&base, "model/toy.py", "first_version = 1\n").await;
    upload_version(&base, "model/toy.py", "second_version = 2\n").await;

    let html = page_html(&base, "/components?path=model/toy.py").await;
    assert_eq!(version_rows(&html), 2, "{html}");
    assert!(
        html.contains("second_version = 2"),
        "the active version's code: {html}"
    );
    assert!(
        !html.contains("first_version"),
        "only the shown version's code: {html}"
    );

    let html = page_html(
        &base,
        &format!("/components?path=model/toy.py&hash={first}"),
    )
    .await;
    assert!(
        html.contains("first_version = 1"),
        "the named version's code: {html}"
    );
    assert!(!html.contains("second_version"), "{html}");

    let unknown = "0".repeat(first.len());
    let html = page_html(
        &base,
        &format!("/components?path=model/toy.py&hash={unknown}"),
    )
    .await;
    assert_eq!(version_rows(&html), 2, "the list is still shown: {html}");
    assert!(
        html.contains("role=\"alert\""),
        "an unknown version is an error on the page: {html}"
    );
    assert!(
        !html.contains("data-testid=\"code-viewer\""),
        "no code for an unknown version: {html}"
    );

    // A path with no versions: no rows, no code.
    let html = page_html(&base, "/components?path=model/none.py").await;
    assert_eq!(version_rows(&html), 0, "{html}");
    assert!(!html.contains("data-testid=\"code-viewer\""), "{html}");
}
