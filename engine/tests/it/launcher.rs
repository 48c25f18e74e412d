//! The launcher: catalog revisions and launches through the engine.

use std::collections::BTreeMap;

use trainyard_core::catalog::{FieldValue, LaunchRequest};
use trainyard_core::{JobStatus, Priority};
use trainyard_engine::EngineError;

use crate::fixtures::{fresh, open};

const CATALOG: &str = "\
tasks:
  - taskType: cls
    runner: {startMethod: python_script, target: train.py, python: python3}
    mlflow: {experiment: vision}
    extraFields:
      - name: lr
        valueType: float
        default: 0.1
        max: 1
      - name: model
        choices: [resnet, vit]
        default: resnet
      - name: data
        required: true
";

fn launch(values: &[(&str, FieldValue)]) -> LaunchRequest {
    LaunchRequest {
        task_type: "cls".into(),
        values: values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        gpus: Some(0),
        priority: Some(Priority::High),
        ..LaunchRequest::default()
    }
}

#[tokio::test]
async fn identical_saves_create_no_revision_and_restore_creates_one() {
    let engine = fresh().await;
    assert_eq!(engine.catalog().revision, None);
    let first = engine
        .save_catalog(CATALOG, "api key")
        .await
        .expect("saved");
    assert!(first.created);
    assert_eq!(first.revision.saved_by, "api key");
    // The same content, with or without its final newline: no new revision.
    let again = engine
        .save_catalog(CATALOG.trim_end(), "ui")
        .await
        .expect("saved");
    assert!(!again.created);
    assert_eq!(again.revision.id, first.revision.id);
    let edited = CATALOG.replace("default: 0.1", "default: 0.2");
    let second = engine.save_catalog(&edited, "ui").await.expect("saved");
    assert!(second.created);
    assert_eq!(
        engine.catalog().revision.map(|r| r.id),
        Some(second.revision.id)
    );
    let restored = engine
        .restore_catalog_revision(first.revision.id, "local")
        .await
        .expect("restored");
    assert!(restored.created, "a restore is a new revision");
    assert!(restored.revision.id > second.revision.id);
    assert_eq!(
        restored.revision.source,
        format!("restore {}", first.revision.id)
    );
    assert_eq!(engine.catalog().content, CATALOG);
    let history = engine.catalog_revisions().await.expect("listed");
    let ids: Vec<i64> = history.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [restored.revision.id, second.revision.id, first.revision.id]
    );
    let diff = engine
        .diff_catalog_revisions(first.revision.id, second.revision.id)
        .await
        .expect("diffed");
    assert!(
        diff.unified.contains("-        default: 0.1"),
        "{}",
        diff.unified
    );
    assert!(
        diff.unified.contains("+        default: 0.2"),
        "{}",
        diff.unified
    );
    assert!(matches!(
        engine.catalog_revision(999).await,
        Err(EngineError::RevisionNotFound(999))
    ));
    assert!(matches!(
        engine.restore_catalog_revision(999, "x").await,
        Err(EngineError::RevisionNotFound(999))
    ));
}

#[tokio::test]
async fn an_invalid_save_lists_every_problem_and_changes_nothing() {
    let engine = fresh().await;
    let saved = engine.save_catalog(CATALOG, "ui").await.expect("saved");
    let bad =
        "tasks:\n  - taskType: a\n    runner: {startMethod: bash, target: x}\n  - taskType: a\n";
    match engine.save_catalog(bad, "ui").await {
        Err(EngineError::InvalidCatalog(errors)) => {
            assert!(errors.0.len() >= 3, "{errors}");
            assert!(errors.0.iter().any(|e| e.line == Some(4)), "{errors}");
        }
        other => panic!("expected InvalidCatalog, got {other:?}"),
    }
    assert_eq!(engine.catalog().revision, Some(saved.revision));
    assert_eq!(engine.catalog_revisions().await.expect("listed").len(), 1);
    assert_eq!(engine.catalog_tasks().tasks.len(), 1, "still launchable");
}

#[tokio::test]
async fn a_launch_queues_jobs_that_remember_their_task_revision_and_values() {
    let engine = fresh().await;
    let saved = engine.save_catalog(CATALOG, "ui").await.expect("saved");
    let result = engine
        .launch(launch(&[
            ("data", FieldValue::Text("/d; rm -rf /".into())),
            ("model", FieldValue::Text("resnet,vit".into())),
        ]))
        .await
        .expect("launched");
    assert_eq!(result.jobs.len(), 2);
    assert_eq!(result.revision_id, saved.revision.id);
    let job = &result.jobs[1];
    assert_eq!(job.project, "vision");
    assert_eq!(job.priority, Priority::High);
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.gpus, 0);
    assert_eq!(
        job.command,
        [
            "python3",
            "train.py",
            "--lr",
            "0.1",
            "--model",
            "vit",
            "--data",
            "/d; rm -rf /"
        ]
    );
    assert_eq!(job.params, [("model".to_string(), "vit".to_string())]);
    let detail = engine.job(job.id).await.expect("stored");
    assert!(
        detail.config_yaml.contains("model: \"vit\""),
        "{}",
        detail.config_yaml
    );
    let record = engine.job_launch(job.id).await.expect("recorded");
    assert_eq!(record.task_type, "cls");
    assert_eq!(record.revision_id, saved.revision.id);
    assert_eq!(record.values["model"], FieldValue::Text("vit".into()));
    assert_eq!(record.values["lr"], FieldValue::Float(0.1));
    // A job submitted as a config was not launched.
    let plain = crate::fixtures::job(&engine).await;
    assert!(matches!(
        engine.job_launch(plain).await,
        Err(EngineError::NotLaunched(_))
    ));
}

#[tokio::test]
async fn bad_launches_are_refused_before_anything_is_queued() {
    let engine = fresh().await;
    let unknown = engine.launch(launch(&[])).await;
    assert!(
        matches!(unknown, Err(EngineError::UnknownTask { .. })),
        "{unknown:?}"
    );
    engine.save_catalog(CATALOG, "ui").await.expect("saved");
    match engine.launch(launch(&[])).await {
        Err(EngineError::InvalidLaunch(e)) => assert_eq!(e.0[0].field.as_deref(), Some("data")),
        other => panic!("expected InvalidLaunch, got {other:?}"),
    }
    let e = engine
        .launch(launch(&[
            ("data", FieldValue::Text("x".into())),
            ("lr", FieldValue::Float(5.0)),
        ]))
        .await
        .expect_err("out of range");
    assert!(
        e.to_string().contains("lr: 5 is above the maximum 1"),
        "{e}"
    );
    let mut other = launch(&[("data", FieldValue::Text("x".into()))]);
    other.task_type = "nope".into();
    let e = engine.launch(other).await.expect_err("unknown task");
    assert!(e.to_string().contains("tasks: cls"), "{e}");
    // A preview plans without queueing.
    let mut preview = launch(&[("data", FieldValue::Text("x".into()))]);
    preview.preview = true;
    let planned = engine.launch(preview).await.expect("planned");
    assert_eq!(planned.runs.len(), 1);
    assert!(planned.jobs.is_empty() && planned.sweep_id.is_none());
    assert!(engine
        .jobs(trainyard_engine::JobFilter::default())
        .await
        .expect("listed")
        .is_empty());
}

#[tokio::test]
async fn the_newest_revision_is_running_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = open(dir.path()).await;
    let file = dir.path().join("catalog.yaml");
    std::fs::write(&file, CATALOG).expect("written");
    let saved = engine.load_catalog_file(&file).await.expect("loaded");
    assert!(saved.created);
    assert!(saved.revision.source.starts_with("file "));
    assert_eq!(saved.revision.saved_by, "local");
    assert!(
        !engine
            .load_catalog_file(&file)
            .await
            .expect("loaded")
            .created
    );
    engine.close().await;
    drop(engine);
    let engine = open(dir.path()).await;
    assert_eq!(
        engine.catalog().revision.map(|r| r.id),
        Some(saved.revision.id)
    );
    assert_eq!(engine.catalog_tasks().tasks[0].task_type, "cls");
}
