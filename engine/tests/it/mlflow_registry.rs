//! MLflow's registry view of the models domain: version N is dev `v000N`
//! (explicitly named versions are not listed), a run's artifact directory
//! becomes a payload with paths relative to it, `Production` promotes to
//! release once per version, descriptions change without touching the
//! manifest, and bad sources name the path.

use trainyard_core::models::{RegisterFromRun, Stage};
use trainyard_core::sync::{xxh3_hex, UploadQuery};
use trainyard_core::work::AttemptRef;
use trainyard_engine::{Engine, EngineError, MlflowStage, NewMlflowVersion};

use crate::fixtures::{fresh, running_job};

async fn upload(engine: &Engine, at: AttemptRef, path: &str, data: &[u8]) {
    let q = UploadQuery {
        size: data.len() as u64,
        xxh3: xxh3_hex(data),
        offset: 0,
        chunk_xxh3: xxh3_hex(data),
    };
    engine
        .upload_run_file_chunk(at, path, &q, data)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

fn new_version(job_id: i64, dir: &str) -> NewMlflowVersion {
    NewMlflowVersion {
        job_id,
        dir: dir.into(),
        source: format!("runs:/{job_id}/model"),
        description: "first".into(),
        tags: vec![("k".into(), "v".into())],
    }
}

#[tokio::test]
async fn mlflow_versions_are_numbered_dev_versions_and_production_promotes_once() {
    let engine = fresh().await;
    let at = running_job(&engine).await;
    upload(&engine, at, "artifacts/model/MLmodel", b"flavors: {}\n").await;
    upload(&engine, at, "artifacts/model/sub/w.bin", &[7u8; 1000]).await;
    upload(&engine, at, "artifacts/other.txt", b"not the model").await;

    let missing = engine
        .register_mlflow_version("m", &new_version(at.job_id, "artifacts/model"), "t")
        .await;
    assert!(
        matches!(missing, Err(EngineError::ModelNotFound(_))),
        "{missing:?}"
    );
    engine
        .create_registered_model("m", "a model", &[])
        .await
        .expect("created");
    assert!(matches!(
        engine.create_registered_model("m", "", &[]).await,
        Err(EngineError::ModelExists(_))
    ));
    // A Trainyard version with its own name is not an MLflow version.
    engine
        .register_model_from_run(
            "m",
            &RegisterFromRun {
                job_id: at.job_id,
                files: Some(vec!["artifacts/other.txt".into()]),
                version: Some("1.0.0".into()),
                ..RegisterFromRun::default()
            },
            "t",
        )
        .await
        .expect("registered");
    let one = engine
        .register_mlflow_version("m", &new_version(at.job_id, "artifacts/model"), "t")
        .await
        .expect("version 1");
    let two = engine
        .register_mlflow_version("m", &new_version(at.job_id, "artifacts/model"), "t")
        .await
        .expect("version 2");
    assert_eq!((one.number, one.version.as_str()), (1, "v0001"));
    assert_eq!((two.number, two.version.as_str()), (2, "v0002"));
    assert_eq!(one.run_id, Some(at.job_id));
    assert_eq!(one.tags, vec![("k".to_string(), "v".to_string())]);
    let model = engine.registered_model("m").await.expect("the model");
    assert_eq!(model.versions.len(), 2, "1.0.0 is not listed");

    // The payload is the directory's content, nothing added.
    let manifest = engine
        .model_manifest("m", "dev", "v0001")
        .await
        .expect("manifest");
    let paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["MLmodel", "sub/w.bin"]);
    assert_eq!(manifest.notes, "first");

    // A description changes; the manifest keeps what it said.
    let described = engine
        .describe_registered_version("m", 1, "better")
        .await
        .expect("described");
    assert_eq!(described.description, "better");
    let manifest = engine
        .model_manifest("m", "dev", "v0001")
        .await
        .expect("manifest");
    assert_eq!(manifest.notes, "first");

    // Production promotes into release once, and points LATEST there.
    for _ in 0..2 {
        let v = engine
            .transition_registered_version("m", 1, MlflowStage::Production, false, "t")
            .await
            .expect("moved");
        assert_eq!(v.stage, MlflowStage::Production);
    }
    let view = engine.model("m").await.expect("model");
    let release = view
        .stages
        .iter()
        .find(|s| s.stage == Stage::Release)
        .expect("release");
    assert_eq!(release.versions.len(), 1);
    assert_eq!(release.latest.as_deref(), Some("v0001"));
    engine
        .transition_registered_version("m", 2, MlflowStage::Production, true, "t")
        .await
        .expect("moved");
    let model = engine.registered_model("m").await.expect("the model");
    let stages: Vec<MlflowStage> = model.versions.iter().map(|v| v.stage).collect();
    assert_eq!(stages, [MlflowStage::Archived, MlflowStage::Production]);
    let view = engine.model("m").await.expect("model");
    let release = view
        .stages
        .iter()
        .find(|s| s.stage == Stage::Release)
        .expect("release");
    assert_eq!(release.latest.as_deref(), Some("v0002"));

    // Aliases move and resolve; a missing one is its own error.
    engine
        .set_registered_alias("m", "champion", 1)
        .await
        .expect("set");
    engine
        .set_registered_alias("m", "champion", 2)
        .await
        .expect("moved");
    let v = engine
        .registered_version_by_alias("m", "champion")
        .await
        .expect("found");
    assert_eq!(v.number, 2);
    assert!(matches!(
        engine.set_registered_alias("m", "champion", 9).await,
        Err(EngineError::MlflowVersionNotFound { number: 9, .. })
    ));
    assert!(matches!(
        engine.delete_registered_alias("m", "nobody").await,
        Err(EngineError::ModelAliasNotFound { .. })
    ));

    // A source path without files names the path; nothing is registered.
    let none = engine
        .register_mlflow_version("m", &new_version(at.job_id, "artifacts/nothere"), "t")
        .await;
    match none {
        Err(EngineError::RunFilesMissing { message, .. }) => {
            assert!(message.contains("artifacts/nothere"), "{message}")
        }
        other => panic!("expected missing files, got {other:?}"),
    }
    let escape = engine
        .register_mlflow_version("m", &new_version(at.job_id, "artifacts/../x"), "t")
        .await;
    assert!(
        matches!(escape, Err(EngineError::ModelInvalid { ref field, .. }) if field == "source")
    );
    assert!(matches!(
        engine.delete_registered_model("m").await,
        Err(EngineError::ModelHasVersions(_))
    ));
    let found = engine
        .search_registered_versions(&format!("run_id = '{}'", at.job_id))
        .await
        .expect("search");
    assert_eq!(found.len(), 2);
    assert!(engine
        .search_registered_versions("name = 'other'")
        .await
        .expect("search")
        .is_empty());
}
