//! The launcher over HTTP: a catalog task launched through the API runs on a
//! real agent with exactly the argv the catalog says; bad catalogs and bad
//! launches are 400s that name the problem.

use serde_json::{json, Value};
use trainyard_core::catalog::{CatalogView, JobLaunch, LaunchResult};
use trainyard_core::protocol::paths;
use trainyard_core::JobStatus;

use crate::harness::{get_json, KEY};
use crate::jobs_support::{log_of, server_with_agent, wait_status};

fn catalog() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/print_argv.py");
    format!(
        "\
tasks:
  - taskType: echo
    title: Echo
    runner:
      startMethod: python_script
      target: {script:?}
      python: python3
    extraFields:
      - name: note
        required: true
      - name: lr
        valueType: float
        default: 0.1
        min: 0
        max: 1
      - name: model
        choices: [resnet, vit]
        default: resnet
      - name: dry_run
        valueType: bool
        default: false
        cliArg: --dry
"
    )
}

async fn post(base: &str, path: &str, body: &Value) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .await
        .expect("the request is sent");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_catalog_task_runs_on_an_agent_with_exactly_its_argv() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, agent) = server_with_agent(dir.path(), 2).await;

    // An invalid catalog: 400 with every problem, nothing running.
    let bad = "tasks:\n  - taskType: a\n    runner: {startMethod: bash}\n  - taskType: a\n";
    let (status, body) = post(&base, &paths::catalog(), &json!({"content": bad})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid_catalog");
    let errors = body["errors"].as_array().expect("errors");
    assert!(errors.len() >= 3, "{body}");
    assert!(
        errors
            .iter()
            .any(|e| e["line"] == 4 && e["field"] == "tasks[1].taskType"),
        "{body}"
    );
    let view: CatalogView = get_json(&base, &paths::catalog()).await;
    assert_eq!(view.revision, None);

    let (status, body) = post(&base, &paths::catalog(), &json!({"content": catalog()})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["revision"]["saved_by"], "api key");
    let (status, _) = post(&base, &paths::catalog(), &json!({"content": catalog()})).await;
    assert_eq!(status, 200, "identical content: no new revision");
    let tasks: Value = get_json(&base, &paths::catalog_tasks()).await;
    assert_eq!(tasks["tasks"][0]["fields"][0]["name"], "note");

    // A sweep over two models, with a value a shell would have run.
    let evil = "x; rm -rf / $(id) `id` 'q' \"d\"";
    let (status, body) = post(
        &base,
        &paths::launch(),
        &json!({
            "taskType": "echo",
            "values": {"note": evil, "model": ["resnet", "vit"], "dry_run": true, "lr": "0.5"},
            "gpus": 1,
            "priority": "high",
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let launched: LaunchResult = serde_json::from_value(body).expect("a launch result");
    assert_eq!(launched.jobs.len(), 2);
    for (job, model) in launched.jobs.iter().zip(["resnet", "vit"]) {
        wait_status(&base, job.id, JobStatus::Succeeded).await;
        let log = log_of(&base, job.id).await;
        let line = log
            .lines()
            .find_map(|l| l.strip_prefix("ARGV="))
            .unwrap_or_else(|| panic!("no ARGV line in {log}"));
        let argv: Vec<String> = serde_json::from_str(line).expect("JSON argv");
        assert_eq!(
            argv,
            ["--note", evil, "--lr", "0.5", "--model", model, "--dry", "true"],
            "{log}"
        );
        let record: JobLaunch = get_json(&base, &paths::job_launch(job.id)).await;
        assert_eq!(record.task_type, "echo");
        assert_eq!(record.revision_id, launched.revision_id);
        assert_eq!(record.values["model"].to_string(), model);
    }

    // A preview plans the same argv and queues nothing.
    let (status, body) = post(
        &base,
        &paths::launch(),
        &json!({"taskType": "echo", "values": {"note": "n"}, "preview": true}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["jobs"], json!([]));
    assert_eq!(body["runs"][0]["argv"][2], "--note");
    agent.kill();
}

#[tokio::test]
async fn bad_launches_are_400s_that_name_the_field() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, agent) = server_with_agent(dir.path(), 1).await;
    let (status, _) = post(&base, &paths::launch(), &json!({"taskType": "echo"})).await;
    assert_eq!(status, 400, "no catalog yet");
    let (status, body) = post(&base, &paths::catalog(), &json!({"content": catalog()})).await;
    assert_eq!(status, 201, "{body}");
    let cases = [
        (json!({"taskType": "echo"}), "note: is required"),
        (
            json!({"taskType": "echo", "values": {"note": "x", "model": "mlp"}}),
            "model: mlp is not one of the choices (resnet, vit)",
        ),
        (
            json!({"taskType": "echo", "values": {"note": "x", "lr": 3}}),
            "lr: 3 is above the maximum 1",
        ),
        (
            json!({"taskType": "echo", "values": {"note": "x", "lr": "fast"}}),
            "lr: expected a number",
        ),
        (
            json!({"taskType": "echo", "values": {"note": "x", "dry_run": "maybe"}}),
            "dry_run: expected true or false",
        ),
        (
            json!({"taskType": "echo", "values": {"note": "x", "ghost": 1}}),
            "ghost: task \"echo\" has no such field",
        ),
        (json!({"taskType": "nope"}), "no task \"nope\""),
        (
            json!({"taskType": "echo", "values": {"note": "x"}, "gpus": 1000}),
            "gpus: 1000",
        ),
        (json!({"values": {}}), "taskType"),
    ];
    for (request, needle) in cases {
        let (status, body) = post(&base, &paths::launch(), &request).await;
        assert_eq!(status, 400, "{request}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{request}: {message}");
    }
    let jobs: Vec<Value> = get_json(&base, "/api/v1/jobs").await;
    assert!(jobs.is_empty(), "nothing was queued: {jobs:?}");
    let missing = reqwest::Client::new()
        .get(format!("{base}{}", paths::catalog_revision(99)))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status().as_u16(), 404);
    agent.kill();
}

#[tokio::test]
async fn trainyard_launch_and_catalog_commands_talk_to_the_server() {
    use trainyard_server::launch_cli::{run, run_catalog, CatalogArgs, CatalogCommand, LaunchArgs};
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = crate::harness::TestServer::start(crate::harness::config(
        dir.path(),
        Some(KEY),
        Default::default(),
    ))
    .await;
    let remote = trainyard_server::remote::ServerArgs {
        url: server.url(""),
        api_key: Some(KEY.into()),
    };
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/catalog.yaml");
    let save = |file: &str| CatalogArgs {
        command: CatalogCommand::Save { file: file.into() },
        server: remote.clone(),
    };
    run_catalog(save(example))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "tasks:\n  - taskType: x\n    runner: {target: a.py}\n    hiddenFields: [ghost]\n",
    )
    .expect("written");
    let refused = run_catalog(save(&bad.display().to_string()))
        .await
        .expect_err("an invalid catalog");
    assert!(
        format!("{refused:#}").contains("line 4, column 20: tasks[0].hiddenFields[0]"),
        "{refused:#}"
    );
    let launch = |set: &[&str]| LaunchArgs {
        task: "quick-train".into(),
        set: set.iter().map(|s| s.to_string()).collect(),
        priority: None,
        gpus: Some(0),
        host: None,
        min_gpu_memory_mb: None,
        preview: false,
        server: remote.clone(),
    };
    run(launch(&["lr=0.1", "lr=0.01", "batch_size=64"]))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let jobs: Vec<trainyard_core::JobView> = server.get_json("/api/v1/jobs").await;
    assert_eq!(jobs.len(), 2);
    let mut commands: Vec<Vec<String>> = jobs.into_iter().map(|j| j.command).collect();
    commands.sort();
    assert_eq!(
        commands[0],
        [
            "python3",
            "examples/train.py",
            "--epochs",
            "5",
            "--step-seconds",
            "0.2",
            "--lr",
            "0.01",
            "--batch-size",
            "64"
        ]
    );
    let refused = run(launch(&["batch_size=48"]))
        .await
        .expect_err("not a choice");
    assert!(
        format!("{refused:#}")
            .contains("batch_size: 48 is not one of the choices (16, 32, 64, 128)"),
        "{refused:#}"
    );
}
