//! Pages rendered by the server many at a time, on a multi-threaded runtime
//! like the real server's: every one finishes.
//!
//! The Job page once made its resources inside its Suspense; concurrent
//! loads then spun in Leptos's re-walk of the Suspense, or deadlocked two
//! of tokio's workers on the reactive graph's locks (leptos-rs/leptos#4673)
//! and with them the whole server. Pages now load their data outside their
//! Suspense, and render on threads of their own (`render_threads.rs`).

use trainyard_core::JobStatus;

use crate::harness::{fetch_page, KEY};
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
