//! Archiving, restoring and purging runs; a run's detail, origin and sync
//! state (issue 11).

use std::time::Duration;

use trainyard_core::runs::{ArchivedFilter, RunColumn, RunNotes, RunOrigin, RunSync, RunsQuery};
use trainyard_core::work::{AttemptRef, FinishedReport, Outcome};
use trainyard_engine::{EngineError, MetricPoint};

use crate::fixtures::{engine_with_settings, fresh, job, running_job};

const DAY: Duration = Duration::from_secs(86_400);

fn finished() -> FinishedReport {
    FinishedReport {
        outcome: Outcome::Succeeded,
        exit_code: Some(0),
        signal: None,
        error: None,
        duration_ms: 5,
        log_size: 0,
    }
}

/// A job that ran on host "h" and succeeded, with a `loss` series.
async fn finished_run(engine: &trainyard_engine::Engine) -> AttemptRef {
    let at = running_job(engine).await;
    let points: Vec<MetricPoint> = [0.9, 0.2, 0.5]
        .iter()
        .enumerate()
        .map(|(i, v)| MetricPoint {
            key: "loss",
            step: i as f64,
            value: *v,
            time_ms: 1,
        })
        .collect();
    engine
        .ingest_metrics(at.job_id, &points)
        .await
        .expect("the points are recorded");
    engine
        .append_log(at, 0, b"hello\n")
        .await
        .expect("the output is appended");
    engine
        .attempt_finished(at, finished())
        .await
        .expect("the end is accepted");
    at
}

fn page(archived: ArchivedFilter) -> RunsQuery {
    RunsQuery {
        archived,
        ..RunsQuery::newest("default")
    }
}

async fn ids(engine: &trainyard_engine::Engine, archived: ArchivedFilter) -> Vec<i64> {
    engine
        .runs_page(&page(archived))
        .await
        .expect("the runs are listed")
        .rows
        .iter()
        .map(|r| r.job.id)
        .collect()
}

#[tokio::test]
async fn archived_runs_are_hidden_by_default_and_restored_idempotently() {
    let engine = fresh().await;
    let done = finished_run(&engine).await.job_id;
    let queued = job(&engine).await;
    engine
        .archive_run(done)
        .await
        .expect("a finished run is archived");
    let first = engine.run_state(done).await.expect("state").archived_ms;
    assert!(first.is_some());
    engine.clock.advance(Duration::from_secs(5));
    engine
        .archive_run(done)
        .await
        .expect("archiving again is fine");
    assert_eq!(
        engine.run_state(done).await.expect("state").archived_ms,
        first
    );

    assert_eq!(ids(&engine, ArchivedFilter::Exclude).await, vec![queued]);
    assert_eq!(
        ids(&engine, ArchivedFilter::Include).await,
        vec![queued, done]
    );
    assert_eq!(ids(&engine, ArchivedFilter::Only).await, vec![done]);
    let projects = engine
        .projects(ArchivedFilter::Exclude)
        .await
        .expect("the projects are listed");
    assert_eq!(
        (
            projects[0].runs,
            projects[0].succeeded,
            projects[0].archived
        ),
        (1, 0, 1)
    );

    // A queued job cannot be archived; an unknown one is not found.
    match engine.archive_run(queued).await {
        Err(e @ EngineError::RunActive { .. }) => assert_eq!(e.code().0, "run_active"),
        other => panic!("expected run_active, got {other:?}"),
    }
    assert!(matches!(
        engine.archive_run(9_999).await,
        Err(EngineError::JobNotFound(9_999))
    ));
    assert!(matches!(
        engine.restore_run(9_999).await,
        Err(EngineError::JobNotFound(9_999))
    ));

    engine.restore_run(done).await.expect("restored");
    engine
        .restore_run(done)
        .await
        .expect("restoring again is fine");
    assert_eq!(
        ids(&engine, ArchivedFilter::Exclude).await,
        vec![queued, done]
    );
    assert_eq!(ids(&engine, ArchivedFilter::Only).await, Vec::<i64>::new());
}

#[tokio::test]
async fn a_purge_deletes_only_runs_archived_long_enough_ago_with_their_data() {
    let engine = fresh().await;
    let old = finished_run(&engine).await.job_id;
    let kept = finished_run(&engine).await.job_id;
    engine
        .set_run_notes(
            old,
            RunNotes {
                notes: "bad seed".into(),
                tags: vec!["x".into()],
            },
        )
        .await
        .expect("notes saved");
    let data = engine.settings().data_dir.clone();
    let old_dirs = [
        data.join("metrics").join(old.to_string()),
        data.join("logs").join(old.to_string()),
    ];
    for dir in &old_dirs {
        assert!(dir.exists(), "{} exists before the purge", dir.display());
    }
    engine.archive_run(old).await.expect("archived");
    engine.clock.advance(2 * DAY);
    engine.archive_run(kept).await.expect("archived");

    let none = engine
        .purge_archived_runs(3 * DAY.as_millis() as i64)
        .await
        .expect("the purge runs");
    assert!(none.purged.is_empty());
    let report = engine
        .purge_archived_runs(DAY.as_millis() as i64)
        .await
        .expect("the purge runs");
    assert_eq!(report.purged, vec![old]);
    for dir in &old_dirs {
        assert!(!dir.exists(), "{} is gone after the purge", dir.display());
    }
    assert!(matches!(
        engine.run_detail(old).await,
        Err(EngineError::JobNotFound(_))
    ));
    // The other run and its data are untouched.
    let detail = engine
        .run_detail(kept)
        .await
        .expect("the kept run is there");
    assert_eq!(detail.metrics.len(), 1);
    assert!(data.join("metrics").join(kept.to_string()).exists());
    assert!(matches!(
        engine.purge_archived_runs(-1).await,
        Err(EngineError::BadOption(m)) if m.starts_with("older_than")
    ));
}

#[tokio::test]
async fn a_run_detail_has_best_values_files_notes_and_state() {
    let engine = fresh().await;
    let at = running_job(&engine).await;
    let state = engine.run_state(at.job_id).await.expect("state");
    assert_eq!(
        state.server_origin,
        Some(RunOrigin::Remote {
            host_id: "h".into()
        })
    );
    assert_eq!(state.sync_status, Some(RunSync::Syncing));
    // Its host falls silent: what the server has may be out of date.
    engine.clock.advance(Duration::from_secs(20));
    assert_eq!(
        engine
            .run_state(at.job_id)
            .await
            .expect("state")
            .sync_status,
        Some(RunSync::Outdated)
    );
    let engine = fresh().await;
    let done = finished_run(&engine).await.job_id;
    let detail = engine.run_detail(done).await.expect("the detail");
    assert_eq!(detail.state.sync_status, Some(RunSync::Synced));
    let loss = &detail.metrics[0];
    assert_eq!((loss.key.as_str(), loss.lower_is_better), ("loss", true));
    assert_eq!(
        (loss.last.value, loss.best.value, loss.best.step),
        (0.5, 0.2, 1.0)
    );
    assert_eq!(detail.files.count, 1);
    assert_eq!(detail.files.files, vec![("output.log".to_string(), 6)]);
    assert!(detail.config_yaml.contains("command"));
    assert!(matches!(
        engine.run_detail(4_242).await,
        Err(EngineError::JobNotFound(4_242))
    ));
}

#[tokio::test]
async fn runs_of_the_local_agent_show_as_local() {
    let engine = engine_with_settings(|s| s.local_host_id = Some("h".into())).await;
    let done = finished_run(&engine).await.job_id;
    let row = engine
        .runs_page(&page(ArchivedFilter::Exclude))
        .await
        .expect("the runs are listed")
        .rows
        .remove(0);
    assert_eq!(row.job.id, done);
    assert_eq!(
        row.state.server_origin.map(|o| o.label().to_string()),
        Some("local".into())
    );
    assert_eq!(row.state.sync_status, Some(RunSync::Synced));
}

#[tokio::test]
async fn unknown_sort_columns_are_refused_naming_the_field() {
    let engine = fresh().await;
    finished_run(&engine).await;
    for sort in [
        RunColumn::Metric("val_acc".into()),
        RunColumn::Param("lr".into()),
    ] {
        let q = RunsQuery {
            sort,
            ..RunsQuery::newest("default")
        };
        match engine.runs_page(&q).await {
            Err(EngineError::BadOption(m)) => assert!(m.starts_with("sort:"), "{m}"),
            other => panic!("expected a bad sort, got {other:?}"),
        }
    }
    let ok = RunsQuery {
        sort: RunColumn::Metric("loss".into()),
        ..RunsQuery::newest("default")
    };
    assert!(engine.runs_page(&ok).await.is_ok());
}
