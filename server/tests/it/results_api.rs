//! Results over REST for scripts (issue 11): projects, the runs table,
//! a run's detail, notes and tags, compare, archive, restore and purge, the
//! web helper's envelope routes, and `trainyard runs` against a real server
//! and agent. Bad input is refused naming the field, and nothing is lost.

use serde_json::Value;
use trainyard_core::protocol::paths;
use trainyard_core::runs::{
    ProjectSummary, PurgeReport, RunComparison, RunDetail, RunNotes, RunOrigin, RunState, RunSync,
    RunsPage,
};
use trainyard_core::JobStatus;
use trainyard_server::runs_cli::{run as runs_cli, Format, RunsArgs, RunsCommand};

use crate::harness::{get_json, page_html, KEY};
use crate::jobs_support::{server_with_agent, submit, wait_status};

async fn call(
    method: reqwest::Method,
    base: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(KEY);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.expect("the request is sent");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    call(reqwest::Method::GET, base, path, None).await
}

async fn post(base: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call(reqwest::Method::POST, base, path, body).await
}

/// A refusal: its status, and its message starting with `field`.
fn refused(answer: (u16, Value), status: u16, code: &str, field: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    let message = answer.1["message"].as_str().unwrap_or_default();
    assert!(message.contains(field), "{message:?} names {field:?}");
}

fn args(base: &str) -> RunsArgs {
    RunsArgs {
        command: None,
        project: Some("vision".into()),
        sort: None,
        status: None,
        search: None,
        archived: Default::default(),
        limit: None,
        format: Format::Table,
        server: trainyard_server::remote::ServerArgs {
            url: base.to_string(),
            api_key: Some(KEY.into()),
        },
    }
}

#[tokio::test]
async fn scripts_read_sort_annotate_compare_archive_and_purge_runs() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, _agent) = server_with_agent(dir.path(), 1).await;
    let script = r#"echo "TRAINYARD_METRIC::{\"step\":1,\"score\":0.9}"; echo "TRAINYARD_METRIC::{\"step\":2,\"score\":0.5}""#;
    let yaml = format!(
        "project: vision\nname: \"acc{{{{acc}}}}\"\ngpus: 0\nacc: [0.9, 0.5]\ncommand: [\"sh\", \"-c\", {}]\n",
        serde_json::to_string(script).expect("it serializes")
    );
    let submitted = submit(&base, &yaml).await;
    let ids: Vec<i64> = submitted.jobs.iter().map(|j| j.id).collect();
    for id in &ids {
        wait_status(&base, *id, JobStatus::Succeeded).await;
    }

    let projects: Vec<ProjectSummary> = get_json(&base, &paths::projects()).await;
    assert_eq!((projects[0].name.as_str(), projects[0].runs), ("vision", 2));

    // The runs table, sorted by a parameter, with origin and sync state.
    let page: RunsPage = get_json(
        &base,
        &format!(
            "{}?sort=-param:acc&page_size=10",
            paths::project_runs("vision")
        ),
    )
    .await;
    assert_eq!(page.total, 2);
    assert_eq!(page.param_keys, vec!["acc"]);
    assert_eq!(page.rows[0].job.params, vec![("acc".into(), "0.9".into())]);
    let state = &page.rows[0].state;
    assert_eq!(
        state.server_origin,
        Some(RunOrigin::Remote {
            host_id: "gpu-a".into()
        })
    );
    assert_eq!(state.sync_status, Some(RunSync::Synced));

    // One run in detail.
    let first = page.rows[0].job.id;
    let detail: RunDetail = get_json(&base, &paths::run(first)).await;
    assert!(detail.files.files.iter().any(|(p, _)| p == "output.log"));
    assert_eq!(detail.state.sync_status, Some(RunSync::Synced));

    // Notes and tags, each replacing only itself.
    let (status, _) = call(
        reqwest::Method::PUT,
        &base,
        &paths::run_notes(first),
        Some(serde_json::json!({"notes": "the best"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(
        reqwest::Method::PUT,
        &base,
        &paths::run_tags(first),
        Some(serde_json::json!({"tags": ["keep", " keep "]})),
    )
    .await;
    assert_eq!(status, 200);
    let notes: RunNotes = serde_json::from_value(body).expect("notes");
    assert_eq!(
        notes,
        RunNotes {
            notes: "the best".into(),
            tags: vec!["keep".into()]
        }
    );

    let cmp: RunComparison = get_json(
        &base,
        &format!("{}?runs={},{}", paths::compare(), ids[0], ids[1]),
    )
    .await;
    assert_eq!(cmp.runs.len(), 2);

    // Bad input, each named.
    refused(
        get(&base, &paths::run(424_242)).await,
        404,
        "job_not_found",
        "424242",
    );
    refused(
        get(&base, "/api/v1/runs/abc").await,
        400,
        "bad_job_id",
        "abc",
    );
    let runs = paths::project_runs("vision");
    refused(
        get(&base, &format!("{runs}?sort=colour")).await,
        400,
        "bad_query",
        "sort",
    );
    refused(
        get(&base, &format!("{runs}?sort=metric:val_acc")).await,
        400,
        "bad_option",
        "sort",
    );
    refused(
        get(&base, &format!("{runs}?page_size=0")).await,
        400,
        "bad_option",
        "page_size",
    );
    refused(
        get(&base, &format!("{runs}?page_size=many")).await,
        400,
        "bad_query",
        "page_size",
    );
    refused(
        get(&base, &format!("{runs}?archived=all")).await,
        400,
        "bad_query",
        "archived",
    );
    refused(
        get(&base, &paths::project_runs("nope")).await,
        400,
        "bad_option",
        "nope",
    );
    refused(
        get(&base, &format!("{}?runs=1,x", paths::compare())).await,
        400,
        "bad_query",
        "runs",
    );
    refused(
        call(
            reqwest::Method::PUT,
            &base,
            &paths::run_tags(first),
            Some(serde_json::json!({"tags": "a"})),
        )
        .await,
        400,
        "bad_body",
        "tags",
    );
    refused(
        post(&base, &paths::runs_purge(), None).await,
        400,
        "bad_query",
        "older_than",
    );
    refused(
        post(
            &base,
            &format!("{}?older_than=30days", paths::runs_purge()),
            None,
        )
        .await,
        400,
        "bad_query",
        "older_than",
    );

    // The CLI reads the same table; a bad sort is an error, not a crash.
    let mut sorted = args(&base);
    sorted.sort = Some("-score".into());
    sorted.format = Format::Csv;
    runs_cli(sorted).await.unwrap_or_else(|e| panic!("{e:#}"));
    let mut bad = args(&base);
    bad.sort = Some("-val_acc".into());
    let err = runs_cli(bad).await.expect_err("no metric val_acc");
    assert!(format!("{err:#}").contains("sort"), "{err:#}");

    // Archive hides the run, restore brings it back, both idempotent.
    for _ in 0..2 {
        let (status, body) = post(&base, &paths::run_archive(first), None).await;
        assert_eq!(status, 200, "{body}");
        let state: RunState = serde_json::from_value(body).expect("state");
        assert!(state.archived_ms.is_some());
    }
    let visible: RunsPage = get_json(&base, &runs).await;
    assert_eq!(visible.total, 1);
    let only: RunsPage = get_json(&base, &format!("{runs}?archived=only")).await;
    assert_eq!(only.rows[0].job.id, first);
    let mut restore = args(&base);
    restore.command = Some(RunsCommand::Restore { ids: vec![first] });
    runs_cli(restore).await.unwrap_or_else(|e| panic!("{e:#}"));
    let visible: RunsPage = get_json(&base, &runs).await;
    assert_eq!(visible.total, 2);

    // Purge: only archived runs, and then they are gone for good.
    let mut archive = args(&base);
    archive.command = Some(RunsCommand::Archive { ids: vec![first] });
    runs_cli(archive).await.unwrap_or_else(|e| panic!("{e:#}"));
    let (status, body) = post(
        &base,
        &format!("{}?older_than=0s", paths::runs_purge()),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let report: PurgeReport = serde_json::from_value(body).expect("report");
    assert_eq!(report.purged, vec![first]);
    refused(
        get(&base, &paths::run(first)).await,
        404,
        "job_not_found",
        "",
    );
    let left: RunDetail = get_json(&base, &paths::run(ids[0] + ids[1] - first)).await;
    assert_eq!(left.job.status, JobStatus::Succeeded);
}

#[tokio::test]
async fn the_web_helper_routes_answer_in_cvlab_kits_envelope() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, _agent) = server_with_agent(dir.path(), 1).await;
    let yaml = "project: seg\nname: base\ngpus: 0\ncommand: [\"sh\", \"-c\", \"echo ok\"]\n";
    let id = submit(&base, yaml).await.jobs[0].id;
    wait_status(&base, id, JobStatus::Succeeded).await;

    let (status, body) = get(&base, "/api/projects").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["name"], "seg");
    assert!(body["meta"]["message"].is_string());

    let (status, body) = get(&base, "/api/runs?project=seg").await;
    assert_eq!(status, 200, "{body}");
    let run = &body["data"][0];
    assert_eq!(
        (&run["run_name"], &run["server_origin"], &run["sync_status"]),
        (
            &Value::from("base"),
            &Value::from("gpu-a"),
            &Value::from("synced")
        )
    );
    refused(get(&base, "/api/runs").await, 400, "bad_query", "project");

    let (status, body) = get(&base, "/api/run/seg/base").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["job"]["id"], id);
    refused(
        get(&base, "/api/run/seg/nope").await,
        404,
        "run_not_found",
        "nope",
    );

    let (status, body) = post(
        &base,
        "/api/run/rerun",
        Some(serde_json::json!({"project": "seg", "run_name": "base"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let again = body["data"]["id"].as_i64().expect("a job id");
    let (status, body) = get(&base, "/api/queue").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"].is_array());
    let (status, body) = post(&base, &format!("/api/queue/cancel/{again}"), None).await;
    assert!(status == 200 || status == 409, "{status} {body}");
    refused(
        post(&base, "/api/queue/cancel/x", None).await,
        400,
        "bad_job_id",
        "x",
    );
    refused(
        post(
            &base,
            "/api/run/rerun",
            Some(serde_json::json!({"project": "seg"})),
        )
        .await,
        400,
        "bad_body",
        "run_name",
    );

    let (status, body) = get(&base, "/api/devices").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["host_id"], "gpu-a");
}

#[tokio::test]
async fn the_projects_page_renders_origin_sync_and_archive_controls() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, _agent) = server_with_agent(dir.path(), 1).await;
    let yaml = "project: ui\nname: one\ngpus: 0\ncommand: [\"sh\", \"-c\", \"echo ok\"]\n";
    let id = submit(&base, yaml).await.jobs[0].id;
    wait_status(&base, id, JobStatus::Succeeded).await;
    let html = page_html(&base, "/projects/ui").await;
    for needle in [
        "data-testid=\"runs-archived\"",
        "data-testid=\"run-origin\"",
        "data-sync=\"synced\"",
        "data-testid=\"run-archive\"",
        "gpu-a",
    ] {
        assert!(html.contains(needle), "{needle} in {html}");
    }
    let (status, _) = post(&base, &paths::run_archive(id), None).await;
    assert_eq!(status, 200);
    let html = page_html(&base, "/projects").await;
    assert!(
        html.contains("data-testid=\"project-archived\" class=\"num\">1<"),
        "{html}"
    );
    let html = page_html(&base, &format!("/jobs/{id}")).await;
    assert!(html.contains("data-testid=\"run-archived\""), "{html}");
}

#[tokio::test]
async fn the_dashboard_defers_its_activity_and_a_project_renders_its_run_timeline() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, _agent) = server_with_agent(dir.path(), 1).await;
    let yaml = "project: dash\nname: one\ngpus: 0\ncommand: [\"sh\", \"-c\", \"echo ok\"]\n";
    let id = submit(&base, yaml).await.jobs[0].id;
    wait_status(&base, id, JobStatus::Succeeded).await;
    // The Dashboard's jobs, timeline and GPU load come from their own chunk
    // once the page is interactive (the browser suite's devices test sees
    // them): the server sends the counts and a placeholder.
    let html = page_html(&base, "/").await;
    assert!(
        html.contains("data-testid=\"stat-hosts-healthy\""),
        "{html}"
    );
    assert!(
        html.contains("data-testid=\"dashboard-activity-loading\""),
        "{html}"
    );
    assert!(!html.contains("data-testid=\"fleet-telemetry\""), "{html}");
    let html = page_html(&base, "/projects/dash").await;
    for needle in [
        "data-testid=\"run-timeline\"",
        "data-testid=\"timeline-run\"",
        &format!("data-job-id=\"{id}\""),
        "data-status=\"succeeded\"",
    ] {
        assert!(html.contains(needle), "{needle} in {html}");
    }
}
