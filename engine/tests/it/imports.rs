//! Importing a CVLab-Kit style `logs/<project>/<run>.{csv,yaml,pt}` tree:
//! runs become jobs with parameters, metrics and files; changes are picked
//! up by the next scan; notes survive a re-index; bad input is skipped.

use std::path::Path;

use trainyard_core::runs::{RunNotes, RunsQuery};
use trainyard_core::JobStatus;
use trainyard_engine::Engine;

use crate::fixtures::{engine_with_settings, point_count, TestEngine};

fn write(path: &Path, text: &[u8]) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("the dir is created");
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

async fn engine_importing(root: &Path) -> TestEngine {
    engine_with_settings(|s| s.import_dirs = vec![root.to_path_buf()]).await
}

async fn runs(engine: &Engine, project: &str) -> trainyard_core::runs::RunsPage {
    engine
        .runs_page(&RunsQuery::newest(project))
        .await
        .expect("the runs page is answered")
}

#[tokio::test]
async fn a_tree_is_indexed_in_place_and_new_rows_and_runs_appear_on_the_next_scan() {
    let logs = tempfile::tempdir().expect("a temp dir");
    let cifar = logs.path().join("cifar");
    write(
        &cifar.join("resnet_lr0.1.csv"),
        b"step,epoch,loss,acc\n0,0,2.0,0.1\n1,1,1.5,0.3\n2,2,oops,0.4,extra\n",
    );
    write(
        &cifar.join("resnet_lr0.1_config.yaml"),
        b"model:\n  name: resnet18\nlr: 0.1\nepochs: 3\n",
    );
    write(&cifar.join("resnet_lr0.1.pt"), &[0u8, 1, 2, 3]);
    let engine = engine_importing(logs.path()).await;

    let report = engine.scan_imports().await;
    assert_eq!(
        (report.runs, report.added, report.updated),
        (1, 1, 0),
        "{report:?}"
    );
    let page = runs(&engine, "cifar").await;
    assert_eq!(page.total, 1);
    let run = &page.rows[0];
    assert_eq!(run.job.name, "resnet_lr0.1");
    assert!(
        run.job
            .params
            .contains(&("model.name".into(), "resnet18".into())),
        "{:?}",
        run.job.params
    );
    assert!(
        run.metrics.contains(&("loss".into(), 1.5)),
        "{:?}",
        run.metrics
    );
    assert_eq!(run.job.status, JobStatus::Running, "files are fresh");
    let id = run.job.id;
    let problems = engine
        .run_problems(id)
        .await
        .expect("the problems are listed");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].line, Some(4));

    // Files list and download come from the tree.
    let files = engine
        .run_files(id)
        .await
        .expect("the run files are listed");
    let names: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "resnet_lr0.1.csv",
            "resnet_lr0.1.pt",
            "resnet_lr0.1_config.yaml"
        ]
    );
    let (full, size) = engine
        .locate_run_file(id, "resnet_lr0.1.pt")
        .await
        .expect("the file is found");
    assert_eq!((full, size), (cifar.join("resnet_lr0.1.pt"), 4));

    // Nothing changed: nothing is read again.
    let report = engine.scan_imports().await;
    assert_eq!((report.added, report.updated), (0, 0));

    // The training loop writes its last epoch (pandas rewrites the whole
    // file, same rows first), and a second run starts.
    write(
        &cifar.join("resnet_lr0.1.csv"),
        b"step,epoch,loss,acc\n0,0,2.0,0.1\n1,1,1.5,0.3\n2,2,oops,0.4,extra\n3,2,1.2,0.5\n",
    );
    write(&cifar.join("vit.csv"), b"step,loss\n0,3.0\n");
    let report = engine.scan_imports().await;
    assert_eq!(
        (report.runs, report.added, report.updated),
        (2, 1, 1),
        "{report:?}"
    );
    let page = runs(&engine, "cifar").await;
    assert_eq!(page.total, 2);
    let resnet = page
        .rows
        .iter()
        .find(|r| r.job.id == id)
        .unwrap_or_else(|| panic!("{page:?}"));
    assert!(
        resnet.metrics.contains(&("loss".into(), 1.2)),
        "{:?}",
        resnet.metrics
    );
    assert_eq!(
        resnet.job.status,
        JobStatus::Succeeded,
        "epoch 2 of 3 (0-based) is the last"
    );
    assert_eq!(
        point_count(&engine, id, "loss").await,
        Some(3),
        "no row indexed twice"
    );

    // Notes survive a re-index, and the run keeps its id.
    engine
        .set_run_notes(
            id,
            RunNotes {
                notes: "baseline".into(),
                tags: vec!["keep".into()],
            },
        )
        .await
        .expect("the notes are saved");
    let report = engine.reindex_imports().await.expect("the re-index runs");
    assert_eq!(
        (report.runs, report.added, report.updated),
        (2, 0, 2),
        "{report:?}"
    );
    let page = runs(&engine, "cifar").await;
    let resnet = page
        .rows
        .iter()
        .find(|r| r.job.id == id)
        .unwrap_or_else(|| panic!("{page:?}"));
    assert_eq!(resnet.notes.notes, "baseline");
    assert_eq!(point_count(&engine, id, "loss").await, Some(3));
}

#[tokio::test]
async fn a_rewrite_with_a_new_column_adds_only_new_rows_and_bad_names_are_skipped() {
    let logs = tempfile::tempdir().expect("a temp dir");
    let project = logs.path().join("p");
    write(&project.join("r.csv"), b"step,loss\n0,1.0\n1,0.9\n");
    write(
        &logs.path().join("bad\nname").join("x.csv"),
        b"step,loss\n0,1\n",
    );
    write(&logs.path().join("loose-file.csv"), b"not a project\n");
    let engine = engine_importing(logs.path()).await;
    let report = engine.scan_imports().await;
    assert_eq!(report.runs, 1, "{report:?}");
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert!(
        report.skipped[0].contains("control character"),
        "{report:?}"
    );

    write(
        &project.join("r.csv"),
        b"step,loss,val_acc\n0,1.0,\n1,0.9,\n2,0.8,0.6\n",
    );
    engine.scan_imports().await;
    let page = runs(&engine, "p").await;
    let id = page.rows[0].job.id;
    assert_eq!(point_count(&engine, id, "loss").await, Some(3));
    assert_eq!(point_count(&engine, id, "val_acc").await, Some(1));

    // A file that is not the run's own cannot be fetched through it.
    match engine.locate_run_file(id, "../loose-file.csv").await {
        Err(trainyard_engine::EngineError::BadRunPath { .. }) => {}
        other => panic!("expected bad path, got {other:?}"),
    }
    match engine.locate_run_file(id, "other.csv").await {
        Err(trainyard_engine::EngineError::RunFileNotFound { .. }) => {}
        other => panic!("expected not found, got {other:?}"),
    }
    // An imported run has no command to re-run without --default-command.
    match engine.rerun_job(id).await {
        Err(trainyard_engine::EngineError::NoCommand)
        | Err(trainyard_engine::EngineError::JobNotFinished { .. }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_import_dir_is_reported_not_fatal() {
    let engine = engine_importing(Path::new("/nonexistent/trainyard-logs")).await;
    let report = engine.scan_imports().await;
    assert_eq!(report.runs, 0);
    assert_eq!(report.skipped.len(), 1, "{report:?}");
}

#[tokio::test]
async fn an_archived_imported_run_stays_archived_on_rescan_and_a_purge_leaves_its_files() {
    let logs = tempfile::tempdir().expect("a temp dir");
    let csv = logs.path().join("cifar").join("old.csv");
    write(&csv, b"step,loss\n0,2.0\n1,1.0\n");
    let engine = engine_importing(logs.path()).await;
    engine.scan_imports().await;
    let id = runs(&engine, "cifar").await.rows[0].job.id;
    let state = engine.run_state(id).await.expect("state");
    assert_eq!(
        state.server_origin,
        Some(trainyard_core::runs::RunOrigin::Imported)
    );
    // Fresh files make it "running"; an imported run is archived anyway.
    engine.archive_run(id).await.expect("archived");
    engine.reindex_imports().await.expect("re-indexed");
    assert_eq!(runs(&engine, "cifar").await.total, 0, "still archived");
    let report = engine.purge_archived_runs(0).await.expect("the purge runs");
    assert!(report.purged.is_empty());
    assert!(report.skipped[0].contains("imported"), "{report:?}");
    assert!(csv.exists(), "the import tree is never touched");
}
