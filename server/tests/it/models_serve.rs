//! Serving a model version (issue 14, "Serve it") with real agents and the
//! stdlib example server (`examples/model_server.py`): it answers through
//! the server's `/serve/<model>/<stage>/…` URL behind the API key, is
//! stopped, is restarted on another agent after its agent is killed, and
//! a command that exits at once fails with its output. Bad input is
//! refused naming the field.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use trainyard_core::models::ModelView;
use trainyard_core::protocol::paths;
use trainyard_core::serving::{ServingState, ServingView};
use trainyard_core::JobStatus;
use trainyard_engine::JobSettings;
use trainyard_server::models_cli::ServeOptions;
use trainyard_server::remote::ServerArgs;

use crate::harness::{config, get_json, until, TestServer, KEY};
use crate::jobs_support::{agent_config, wait_status};
use crate::killable::KillableAgent;

fn example_command() -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/model_server.py")
        .canonicalize()
        .expect("examples/model_server.py exists");
    format!(
        "python3 '{}' --model-dir {{model_dir}} --port {{port}}",
        script.display()
    )
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let answer = request.bearer_auth(KEY).send().await.expect("sent");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Uploads `model.json` as a new release version of `name`.
async fn register(base: &str, name: &str, weights: &[f64], bias: f64) {
    let body = json!({"weights": weights, "bias": bias, "name": name}).to_string();
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(body.into_bytes()).file_name("model.json"),
        )
        .text("stage", "release")
        .text("set_latest", "true");
    let (status, v) = send(
        reqwest::Client::new()
            .post(format!("{base}{}", paths::model_versions(name)))
            .multipart(form),
    )
    .await;
    assert_eq!(status, 201, "{v}");
}

async fn serve(base: &str, name: &str, body: Value) -> (u16, Value) {
    send(
        reqwest::Client::new()
            .post(format!("{base}{}", paths::model_serve(name, "release")))
            .json(&body),
    )
    .await
}

/// The model's live deployment of release once it is in `want`.
async fn wait_state(base: &str, name: &str, want: ServingState) -> ServingView {
    until(&format!("{name} release {want:?}"), || async {
        let model: ModelView = get_json(base, &paths::model(name)).await;
        model
            .serving
            .into_iter()
            .find(|s| s.stopped_ms.is_none() || want == ServingState::Stopped)
            .filter(|s| s.state == want)
    })
    .await
}

async fn predict(base: &str, name: &str, key: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/serve/{name}/release/predict?trace=1"))
        .json(&json!({"inputs": [[1.0, 2.0]]}));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let answer = request.send().await.expect("sent");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `kill -9` of the process group a killed agent's supervisor left
/// serving (job `id`, attempt `attempt`), so the test leaves nothing behind.
fn kill_orphan(work_dir: &Path, id: i64, attempt: u32) {
    let path = work_dir
        .join("runs")
        .join(format!("{id}-{attempt}/supervisor.json"));
    let ids: Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_default()).unwrap_or_default();
    for key in ["job", "supervisor"] {
        let pid = ids[key].as_i64().unwrap_or(0);
        if pid > 1 {
            let pid = libc::pid_t::try_from(pid).expect("a pid");
            // SAFETY: killpg and kill only send a signal.
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

#[tokio::test]
async fn a_served_model_answers_through_the_proxy_is_stopped_and_restarts_elsewhere_when_its_agent_dies(
) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut cfg = config(dir.path(), Some(KEY), Default::default());
    cfg.jobs = JobSettings {
        lease: Duration::from_millis(1500),
        ..Default::default()
    };
    let server = TestServer::start(cfg).await;
    let base = server.url("");
    let a_dir = dir.path().join("a");
    let a = KillableAgent::start(agent_config(base.clone(), "host-a", 0, &a_dir));
    register(&base, "lin", &[2.0, 3.0], 1.0).await;

    // Nothing serves yet: 404 through the proxy.
    let (status, v) = predict(&base, "lin", Some(KEY)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (404, Some("not_serving")),
        "{v}"
    );

    let asked = Instant::now();
    let (status, started) = serve(&base, "lin", json!({"command": example_command()})).await;
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["state"], "starting");
    assert_eq!(started["url"], "/serve/lin/release/");
    let serving = wait_state(&base, "lin", ServingState::Serving).await;
    println!("serve to healthy: {} ms", asked.elapsed().as_millis());
    assert_eq!(serving.host.as_deref(), Some("host-a"));
    assert_eq!(serving.version, "v0001");

    let (status, v) = predict(&base, "lin", Some(KEY)).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["predictions"], json!([9.0]));
    let (status, _) = predict(&base, "lin", None).await;
    assert_eq!(status, 401, "the proxy is behind the API key");
    let (status, v) =
        send(reqwest::Client::new().get(format!("{base}/serve/lin/release/nowhere"))).await;
    assert_eq!(
        status, 404,
        "the model server's own 404 passes through: {v}"
    );

    // Stop: the job is cancelled, the URL answers 404 again.
    let (status, stopped) = send(
        reqwest::Client::new().delete(format!("{base}{}", paths::model_serve("lin", "release"))),
    )
    .await;
    assert_eq!(
        (status, stopped["state"].as_str()),
        (200, Some("stopped")),
        "{stopped}"
    );
    let (status, v) = predict(&base, "lin", Some(KEY)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (404, Some("not_serving")),
        "{v}"
    );

    // Promote-then-redeploy: a new LATEST, served again with the model's
    // last command (no command given).
    register(&base, "lin", &[1.0, 1.0], 0.0).await;
    let asked = Instant::now();
    let (status, again) = serve(&base, "lin", json!({})).await;
    assert_eq!(status, 201, "{again}");
    let first = wait_state(&base, "lin", ServingState::Serving).await;
    println!("serve to healthy: {} ms", asked.elapsed().as_millis());
    assert_eq!(first.version, "v0002");
    let (status, v) = predict(&base, "lin", Some(KEY)).await;
    assert_eq!(
        (status, v["predictions"].clone()),
        (200, json!([3.0])),
        "{v}"
    );

    // The agent dies (its supervisor keeps the old server running); a
    // second host appears, the lost attempt is retried there and the same
    // URL answers again.
    a.kill();
    let b = KillableAgent::start(agent_config(
        base.clone(),
        "host-b",
        0,
        &dir.path().join("b"),
    ));
    let lost_at = Instant::now();
    let moved = until("the deployment serves from host-b", || async {
        let model: ModelView = get_json(&base, &paths::model("lin")).await;
        model.serving.into_iter().find(|s| {
            s.stopped_ms.is_none()
                && s.state == ServingState::Serving
                && s.host.as_deref() == Some("host-b")
        })
    })
    .await;
    println!(
        "agent killed to serving elsewhere: {} ms",
        lost_at.elapsed().as_millis()
    );
    assert_eq!(moved.job_id, first.job_id);
    assert_eq!(moved.attempt, first.attempt + 1);
    assert_ne!(moved.endpoint, first.endpoint);
    let (status, v) = predict(&base, "lin", Some(KEY)).await;
    assert_eq!(
        (status, v["predictions"].clone()),
        (200, json!([3.0])),
        "{v}"
    );
    kill_orphan(&a_dir, first.job_id, first.attempt);

    let (status, _) = send(
        reqwest::Client::new().delete(format!("{base}{}", paths::model_serve("lin", "release"))),
    )
    .await;
    assert_eq!(status, 200);
    // Its agent stops the process (the job ends cancelled) before it goes.
    wait_status(&base, first.job_id, JobStatus::Cancelled).await;
    b.kill();
    let _ = server.stop().await;
}

#[tokio::test]
async fn serving_refuses_bad_input_and_a_command_that_exits_at_once_fails_with_its_output() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let agent = KillableAgent::start(agent_config(
        base.clone(),
        "host-a",
        0,
        &dir.path().join("a"),
    ));
    register(&base, "m", &[1.0], 0.0).await;

    let cases = [
        (
            "nope",
            "release",
            json!({"command": "python3 x.py"}),
            404,
            "model_not_found",
            "nope",
        ),
        (
            "m",
            "prod",
            json!({"command": "python3 x.py"}),
            404,
            "stage_not_found",
            "prod",
        ),
        (
            "m",
            "release",
            json!({"command": "serve --dir {modeldir} -p {port}"}),
            400,
            "invalid_model_request",
            "{modeldir}",
        ),
        (
            "m",
            "release",
            json!({"command": "python3 'x.py"}),
            400,
            "invalid_model_request",
            "command",
        ),
        (
            "m",
            "release",
            json!({"command": "python3 x.py", "health_path": "health"}),
            400,
            "invalid_model_request",
            "health_path",
        ),
        (
            "m",
            "release",
            json!({"command": "python3 x.py", "gpus": 1000}),
            400,
            "bad_option",
            "gpus",
        ),
    ];
    for (model, stage, body, want_status, want_code, named) in cases {
        let (status, v) = send(
            reqwest::Client::new()
                .post(format!("{base}{}", paths::model_serve(model, stage)))
                .json(&body),
        )
        .await;
        assert_eq!(
            (status, v["code"].as_str()),
            (want_status, Some(want_code)),
            "{body}: {v}"
        );
        assert!(
            v["message"].as_str().unwrap_or("").contains(named),
            "{body}: {v}"
        );
    }
    let (status, v) = send(
        reqwest::Client::new()
            .post(format!("{base}{}", paths::model_serve("m", "dev")))
            .json(&json!({"command": "x"})),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (404, Some("model_version_not_found")),
        "{v}"
    );
    let (status, v) = send(
        reqwest::Client::new().delete(format!("{base}{}", paths::model_serve("m", "release"))),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (404, Some("not_serving")),
        "{v}"
    );

    // A command that exits at once, served with the CLI's library call
    // (`trainyard model serve m --command … --wait`): failed, with its
    // output, not restarted.
    let server_args = ServerArgs {
        url: base.clone(),
        api_key: Some(KEY.into()),
    };
    let options = ServeOptions {
        name: "m".into(),
        stage: "release".into(),
        command: Some("sh -c 'echo cannot bind {port} >&2; exit 3'".into()),
        gpus: None,
        host: None,
        health_path: None,
        stop: false,
        wait: true,
    };
    let cli = trainyard_server::models_cli::serve(&server_args, &options);
    let failed = tokio::time::timeout(Duration::from_secs(20), cli)
        .await
        .expect("it fails within 20 s")
        .expect("the server answers");
    assert_eq!(failed.state, ServingState::Failed, "{failed:?}");
    assert!(
        failed
            .last_lines
            .iter()
            .any(|l| l.starts_with("cannot bind ")),
        "{failed:?}"
    );
    assert!(
        failed.reason.as_deref().unwrap_or("").contains("code 3"),
        "{failed:?}"
    );
    assert_eq!(failed.attempt, 1, "an exit is a failure, not retried");
    let (status, v) = predict(&base, "m", Some(KEY)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (502, Some("serving_unreachable")),
        "{v}"
    );
    agent.kill();
    let _ = server.stop().await;
}

#[tokio::test]
async fn a_restarted_agent_adopts_its_serving_job_and_the_url_keeps_answering() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let work = dir.path().join("a");
    let a = KillableAgent::start(agent_config(base.clone(), "host-a", 0, &work));
    register(&base, "ad", &[1.0, 0.0], 5.0).await;
    let (status, v) = serve(&base, "ad", json!({"command": example_command()})).await;
    assert_eq!(status, 201, "{v}");
    let before = wait_state(&base, "ad", ServingState::Serving).await;

    // The agent dies and comes back on the same work dir within its lease:
    // the server process ran on under its supervisor and is adopted.
    a.kill();
    let again = KillableAgent::start(agent_config(base.clone(), "host-a", 0, &work));
    let (status, v) = predict(&base, "ad", Some(KEY)).await;
    assert_eq!(
        (status, v["predictions"].clone()),
        (200, json!([6.0])),
        "{v}"
    );
    until("the adopting agent renews the serving job", || async {
        let detail: trainyard_core::JobDetail = get_json(&base, &paths::job(before.job_id)).await;
        (detail.job.status == JobStatus::Running).then_some(())
    })
    .await;
    let after = wait_state(&base, "ad", ServingState::Serving).await;
    assert_eq!(
        (after.job_id, after.attempt, after.endpoint.clone()),
        (before.job_id, before.attempt, before.endpoint.clone()),
        "the same attempt serves on"
    );

    let (status, _) = send(
        reqwest::Client::new().delete(format!("{base}{}", paths::model_serve("ad", "release"))),
    )
    .await;
    assert_eq!(status, 200);
    until("the adopted server is stopped", || async {
        let model: ModelView = get_json(&base, &paths::model("ad")).await;
        let job: trainyard_core::JobDetail = get_json(&base, &paths::job(before.job_id)).await;
        (model
            .serving
            .iter()
            .all(|s| s.state == ServingState::Stopped)
            && job.job.status == JobStatus::Cancelled)
            .then_some(())
    })
    .await;
    again.kill();
    let _ = server.stop().await;
}
