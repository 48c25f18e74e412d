//! Results through the engine: projects, the runs table (sort, filter,
//! search, pages), notes and tags, comparisons and CSV export.

use trainyard_core::runs::{RunColumn, RunNotes, RunsQuery, MAX_NOTES_CHARS};
use trainyard_core::{JobStatus, SubmitOptions};
use trainyard_engine::{Engine, EngineError, MetricPoint};

use crate::fixtures::fresh as engine;

/// Submits a sweep of `lr` values to `project`; returns the job ids.
async fn sweep(engine: &Engine, project: &str, lrs: &[f64]) -> Vec<i64> {
    let list: Vec<String> = lrs.iter().map(f64::to_string).collect();
    let yaml = format!(
        "project: {project}\nname: \"lr{{{{lr}}}}\"\ncommand: x\ngpus: 0\nlr: [{}]\n",
        list.join(", ")
    );
    engine
        .submit(&yaml, SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs
        .iter()
        .map(|j| j.id)
        .collect()
}

async fn record(engine: &Engine, job: i64, key: &str, values: &[f64]) {
    let points: Vec<MetricPoint> = values
        .iter()
        .enumerate()
        .map(|(i, v)| MetricPoint {
            key,
            step: i as f64,
            value: *v,
            time_ms: 1,
        })
        .collect();
    engine
        .ingest_metrics(job, &points)
        .await
        .expect("the points are recorded");
}

fn query(project: &str, sort: RunColumn, descending: bool) -> RunsQuery {
    RunsQuery {
        sort,
        descending,
        ..RunsQuery::newest(project)
    }
}

fn bad_option(result: Result<impl std::fmt::Debug, EngineError>) -> String {
    match result {
        Err(EngineError::BadOption(message)) => message,
        other => panic!("expected a bad option, got {other:?}"),
    }
}

#[tokio::test]
async fn projects_are_listed_with_their_run_counts() {
    let engine = engine().await;
    sweep(&engine, "vision", &[0.1, 0.2, 0.3]).await;
    sweep(&engine, "nlp", &[0.1]).await;
    let projects = engine
        .projects(Default::default())
        .await
        .expect("the projects are listed");
    let counts: Vec<(String, u64, u64)> = projects
        .into_iter()
        .map(|p| (p.name, p.runs, p.active))
        .collect();
    assert_eq!(counts, vec![("nlp".into(), 1, 1), ("vision".into(), 3, 3)]);
}

#[tokio::test]
async fn the_runs_table_sorts_by_final_metric_and_parameter_and_pages() {
    let engine = engine().await;
    let ids = sweep(&engine, "p", &[0.5, 0.01, 0.2, 3.0]).await;
    // Final losses 0.4, 0.1, 0.3, and none for the last run.
    for (id, last) in ids.iter().zip([0.4, 0.1, 0.3]) {
        record(&engine, *id, "loss", &[1.0, last]).await;
    }
    let by_loss = engine
        .runs_page(&query("p", RunColumn::Metric("loss".into()), false))
        .await
        .expect("the runs page is answered");
    let order: Vec<i64> = by_loss.rows.iter().map(|r| r.job.id).collect();
    // Lowest loss first; the run without the metric last.
    assert_eq!(order, vec![ids[1], ids[2], ids[0], ids[3]]);
    assert_eq!(by_loss.rows[0].metrics, vec![("loss".to_string(), 0.1)]);
    assert_eq!(by_loss.metric_keys, vec!["loss"]);
    assert_eq!(by_loss.param_keys, vec!["lr"]);

    // Parameters are text but sort as numbers: 0.01 < 0.2 < 0.5 < 3.
    let by_lr = engine
        .runs_page(&query("p", RunColumn::Param("lr".into()), true))
        .await
        .expect("the runs page is answered");
    let order: Vec<i64> = by_lr.rows.iter().map(|r| r.job.id).collect();
    assert_eq!(order, vec![ids[3], ids[0], ids[2], ids[1]]);

    let mut paged = query("p", RunColumn::Id, false);
    paged.page_size = 3;
    paged.page = 1;
    let second = engine
        .runs_page(&paged)
        .await
        .expect("the runs page is answered");
    assert_eq!((second.total, second.rows.len()), (4, 1));
    assert_eq!(second.rows[0].job.id, ids[3]);
    paged.page = 2;
    let past = bad_option(engine.runs_page(&paged).await);
    assert!(past.contains("past the end"), "{past}");
}

#[tokio::test]
async fn status_filter_and_search_narrow_the_table() {
    let engine = engine().await;
    let ids = sweep(&engine, "p", &[0.1, 0.2, 0.3]).await;
    engine
        .cancel_job(ids[0])
        .await
        .expect("the cancel is accepted");
    let mut q = RunsQuery::newest("p");
    q.status = Some(JobStatus::Cancelled);
    let cancelled = engine
        .runs_page(&q)
        .await
        .expect("the runs page is answered");
    assert_eq!(
        cancelled.rows.iter().map(|r| r.job.id).collect::<Vec<_>>(),
        vec![ids[0]]
    );

    let mut q = RunsQuery::newest("p");
    q.search = "LR0.2".into();
    let found = engine
        .runs_page(&q)
        .await
        .expect("the runs page is answered");
    assert_eq!(
        found.rows.iter().map(|r| r.job.id).collect::<Vec<_>>(),
        vec![ids[1]]
    );
    // Wildcards are literal.
    q.search = "%".into();
    assert_eq!(engine.runs_page(&q).await.map(|p| p.total).ok(), Some(0));
}

#[tokio::test]
async fn notes_and_tags_are_kept_searchable_and_bounded() {
    let engine = engine().await;
    let ids = sweep(&engine, "p", &[0.1, 0.2]).await;
    let saved = engine
        .set_run_notes(
            ids[1],
            RunNotes {
                notes: "diverged after warmup".into(),
                tags: vec![" baseline".into(), "baseline".into()],
            },
        )
        .await
        .expect("the notes are saved");
    assert_eq!(saved.tags, vec!["baseline"]);
    let mut q = RunsQuery::newest("p");
    q.search = "baseline".into();
    let page = engine
        .runs_page(&q)
        .await
        .expect("the runs page is answered");
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].notes.notes, "diverged after warmup");

    let huge = RunNotes {
        notes: "x".repeat(MAX_NOTES_CHARS + 1),
        tags: vec![],
    };
    let message = bad_option(engine.set_run_notes(ids[0], huge).await);
    assert!(message.contains("at most 4000"), "{message}");
    assert!(matches!(
        engine.set_run_notes(9_999, RunNotes::default()).await,
        Err(EngineError::JobNotFound(9_999))
    ));
}

#[tokio::test]
async fn bad_runs_queries_say_what_is_wrong() {
    let engine = engine().await;
    sweep(&engine, "p", &[0.1]).await;
    let unknown = bad_option(engine.runs_page(&RunsQuery::newest("nope")).await);
    assert!(unknown.contains("no project named \"nope\""), "{unknown}");
    let mut q = RunsQuery::newest("p");
    q.page_size = 0;
    assert!(bad_option(engine.runs_page(&q).await).contains("page_size"));
}

#[tokio::test]
async fn a_comparison_finds_each_runs_best_value_and_its_step() {
    let engine = engine().await;
    let ids = sweep(&engine, "p", &[0.1, 0.2]).await;
    // 5,000 points: the lowest loss at step 3,210, the highest accuracy at 4,000.
    let loss: Vec<f64> = (0..5_000)
        .map(|i| if i == 3_210 { 0.01 } else { 1.0 })
        .collect();
    let acc: Vec<f64> = (0..5_000)
        .map(|i| if i == 4_000 { 0.99 } else { 0.5 })
        .collect();
    record(&engine, ids[0], "loss", &loss).await;
    record(&engine, ids[0], "accuracy", &acc).await;
    record(&engine, ids[1], "loss", &[2.0, 1.5]).await;
    let cmp = engine
        .compare_runs(&[ids[0], ids[1], ids[0]], 200)
        .await
        .expect("the comparison is answered");
    assert_eq!(cmp.runs.len(), 2);
    assert_eq!(cmp.keys, vec!["accuracy", "loss"]);
    assert_eq!(cmp.param_keys, vec!["lr"]);
    let first = &cmp.runs[0];
    assert!(first.series.iter().all(|s| s.buckets.len() <= 200));
    let loss = first
        .finals
        .iter()
        .find(|f| f.key == "loss")
        .unwrap_or_else(|| panic!("no loss"));
    assert_eq!((loss.min.step, loss.min.value), (3_210.0, 0.01));
    assert_eq!((loss.last.step, loss.last.value), (4_999.0, 1.0));
    let acc = first
        .finals
        .iter()
        .find(|f| f.key == "accuracy")
        .unwrap_or_else(|| panic!("no acc"));
    assert_eq!((acc.max.step, acc.max.value), (4_000.0, 0.99));
    assert_eq!(cmp.runs[1].finals[0].best(true).step, 1.0);

    assert!(matches!(
        engine.compare_runs(&[ids[0], 424_242], 100).await,
        Err(EngineError::JobNotFound(424_242))
    ));
    assert!(bad_option(engine.compare_runs(&[], 100).await).contains("between 1 and"));
}

#[tokio::test]
async fn the_csv_export_has_every_matching_run_with_params_and_metrics() {
    let engine = engine().await;
    let ids = sweep(&engine, "p", &[0.1, 0.2]).await;
    record(&engine, ids[0], "loss", &[0.5]).await;
    engine
        .set_run_notes(
            ids[0],
            RunNotes {
                notes: "a, b".into(),
                tags: vec![],
            },
        )
        .await
        .expect("the notes are saved");
    let mut q = query("p", RunColumn::Id, false);
    q.page_size = 1;
    let csv = engine.runs_csv(&q).await.expect("the CSV is exported");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,name,status,started_ms,duration_s,lr,loss,tags,notes,server_origin,sync_status,archived_ms"
    );
    assert_eq!(
        lines[1],
        format!("{},lr0.1,queued,,,0.1,0.5,,\"a, b\",,,", ids[0])
    );
    assert_eq!(lines.len(), 3);
}
