//! MLflow's model registry API driven by the real `mlflow` client
//! (mlflow-skinny from the project's .venv): register_model from a run's
//! logged directory, versions, aliases, stages and `models:/…` downloads;
//! then the same versions seen through Trainyard's own registry API, and
//! bad input over raw HTTP answered in MLflow's error shape.

use serde_json::{json, Value};
use trainyard_core::models::{ModelSource, ModelView, Stage};
use trainyard_core::protocol::paths;

use crate::harness::{config, TestServer, KEY};
use crate::mlflow_client::run_client_script;
use crate::models_api::entries;

async fn call(server: &TestServer, method: &str, path: &str, body: Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let answer = server
        .client
        .request(method, server.url(path))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .expect("sent");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_real_mlflow_client_registers_and_downloads_model_versions() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(
        &dir.path().join("data"),
        Some(KEY),
        Default::default(),
    ))
    .await;
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let out = run_client_script(&server, &scratch, "mlflow_registry.py").await;
    let name = out["name"].as_str().expect("a model name").to_string();
    let run: i64 = out["run_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("a run id");

    // MLflow's versions 1 and 2 are Trainyard's dev v0001 and v0002, from
    // the run; Production promoted version 1 into release, as its LATEST.
    let model: ModelView = server.get_json(&paths::model(&name)).await;
    let stage = |s: Stage| {
        model
            .stages
            .iter()
            .find(|v| v.stage == s)
            .expect("both stages")
    };
    let dev: Vec<&str> = stage(Stage::Dev)
        .versions
        .iter()
        .map(|v| v.version.as_str())
        .collect();
    assert_eq!(dev, ["v0001", "v0002"]);
    for v in &stage(Stage::Dev).versions {
        assert!(
            matches!(&v.source, ModelSource::Run { job_id, .. } if *job_id == run),
            "{v:?}"
        );
        assert_eq!(v.files, 3, "the model directory's files only: {v:?}");
    }
    let release = stage(Stage::Release);
    assert_eq!(release.latest.as_deref(), Some("v0001"));
    assert!(matches!(
        &release.versions[0].source,
        ModelSource::Promotion { source_version, .. } if source_version == "v0001"
    ));

    // Its bundle holds the logged directory as its payload.
    let bundle = server
        .client
        .get(server.url(&paths::model_bundle(&name, "dev", "v0001")))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(bundle.status().as_u16(), 200);
    let bytes = bundle.bytes().await.expect("the bundle").to_vec();
    let files = entries(&bytes);
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "manifest.json",
            "payload/MLmodel",
            "payload/sub/labels.txt",
            "payload/weights.bin"
        ]
    );
    let weights = &files[3].1;
    assert_eq!(weights.len(), 300_000);
    assert!(weights
        .iter()
        .enumerate()
        .all(|(i, b)| *b == ((i * 31 + 7) % 256) as u8));
    assert_eq!(files[2].1, b"cat\ndog\n");

    // Bad input over raw HTTP: MLflow's codes, 4xx (never retried), and
    // nothing changes.
    let reg = "/api/2.0/mlflow";
    for (method, path, body, status, code) in [
        (
            "GET",
            "/model-versions/get",
            json!({"name": name, "version": "abc"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "GET",
            "/model-versions/get",
            json!({"name": name, "version": "0"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "GET",
            "/model-versions/get-download-uri",
            json!({"name": name, "version": "9"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "POST",
            "/registered-models/alias",
            json!({"name": name, "alias": "latest", "version": "1"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "GET",
            "/registered-models/alias",
            json!({"name": name, "alias": "nobody"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "DELETE",
            "/registered-models/alias",
            json!({"name": name, "alias": "nobody"}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "POST",
            "/model-versions/transition-stage",
            json!({"name": name, "version": "1", "stage": "Prod"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "POST",
            "/model-versions/create",
            json!({"name": name, "source": format!("runs:/{run}/model"), "run_id": "77"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "POST",
            "/model-versions/create",
            json!({"name": name, "source": format!("runs:/{run}/../../etc")}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "POST",
            "/model-versions/create",
            json!({"name": "never-created", "source": format!("runs:/{run}/model")}),
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "POST",
            "/model-versions/create",
            json!({"name": name, "source": "models:/m-0123"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "DELETE",
            "/model-versions/delete",
            json!({"name": name, "version": "1"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "DELETE",
            "/registered-models/delete",
            json!({"name": name}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "GET",
            "/registered-models/search",
            json!({"filter": "name = "}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "GET",
            "/model-versions/search",
            json!({"filter": "nonsense = 'x'"}),
            400,
            "INVALID_PARAMETER_VALUE",
        ),
    ] {
        // GET fields travel in the query, as the client sends them.
        let (got, answer) = if method == "GET" {
            let query: Vec<(String, String)> = body
                .as_object()
                .expect("an object")
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            let answer = server
                .client
                .get(server.url(&format!("{reg}{path}")))
                .query(&query)
                .bearer_auth(KEY)
                .send()
                .await
                .expect("sent");
            let status = answer.status().as_u16();
            (status, answer.json().await.unwrap_or(Value::Null))
        } else {
            call(&server, method, &format!("{reg}{path}"), body.clone()).await
        };
        assert_eq!(got, status, "{method} {path} {body}: {answer}");
        assert_eq!(
            answer["error_code"],
            json!(code),
            "{method} {path}: {answer}"
        );
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    // A version's files are read-only through the artifact proxy.
    let answer = server
        .client
        .put(server.url(&format!(
            "/api/2.0/mlflow-artifacts/artifacts/registry/{name}/dev/v0001/weights.bin"
        )))
        .bearer_auth(KEY)
        .body("overwritten")
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status().as_u16(), 400);
    let got = server
        .client
        .get(server.url(&format!(
            "/api/2.0/mlflow-artifacts/artifacts/registry/{name}/dev/v0001/sub/labels.txt"
        )))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), b"cat\ndog\n");
    // An empty model can be deleted; its name is free again.
    let (got, _) = call(
        &server,
        "POST",
        &format!("{reg}/registered-models/create"),
        json!({"name": "scratch-model"}),
    )
    .await;
    assert_eq!(got, 200);
    let (got, _) = call(
        &server,
        "DELETE",
        &format!("{reg}/registered-models/delete"),
        json!({"name": "scratch-model"}),
    )
    .await;
    assert_eq!(got, 200);
    let model: ModelView = server.get_json(&paths::model(&name)).await;
    let dev = model
        .stages
        .iter()
        .find(|s| s.stage == Stage::Dev)
        .expect("dev");
    assert_eq!(dev.versions.len(), 2, "no version was added by bad input");
    server.stop().await.expect("a clean stop");
}
