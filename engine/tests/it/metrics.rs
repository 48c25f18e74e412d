//! Metric series through the engine: ingest, bucketed queries, output
//! lines, and what survives a restart.

use trainyard_core::MetricSeries;
use trainyard_engine::{Engine, EngineError, MetricPoint};

use crate::fixtures::{fresh, job, open, running_job};

fn points<'a>(key: &'a str, steps: impl Iterator<Item = (f64, f64)>) -> Vec<MetricPoint<'a>> {
    steps
        .map(|(step, value)| MetricPoint {
            key,
            step,
            value,
            time_ms: 1,
        })
        .collect()
}

async fn series(
    engine: &Engine,
    job: i64,
    key: &str,
    max: u32,
    from: Option<f64>,
    to: Option<f64>,
) -> MetricSeries {
    engine
        .metric_series(job, key, max, from, to)
        .await
        .expect("the series is answered")
}

#[tokio::test]
async fn a_spike_in_a_long_series_survives_bucketing_in_every_range() {
    let engine = fresh().await;
    let job = job(&engine).await;
    let values = (0..100_000).map(|i| (f64::from(i), if i == 77_777 { 50.0 } else { 1.0 }));
    let batch = points("train/loss", values);
    for chunk in batch.chunks(1_000) {
        engine
            .ingest_metrics(job, chunk)
            .await
            .expect("the points are recorded");
    }
    let all = series(&engine, job, "train/loss", 500, None, None).await;
    assert_eq!(all.total_points, 100_000);
    assert!(all.buckets.len() <= 500);
    assert_eq!(all.buckets.iter().map(|b| b.count).sum::<u64>(), 100_000);
    assert_eq!(all.buckets.iter().filter(|b| b.max == 50.0).count(), 1);
    assert_eq!((all.from, all.to), (Some(0.0), Some(99_999.0)));

    let zoom = series(
        &engine,
        job,
        "train/loss",
        100,
        Some(70_000.0),
        Some(80_000.0),
    )
    .await;
    assert_eq!(zoom.total_points, 10_001);
    assert!(zoom.buckets.iter().any(|b| b.max == 50.0));
    assert!(zoom
        .buckets
        .iter()
        .all(|b| b.step_start >= 70_000.0 && b.step_end <= 80_000.0));

    let tiny = series(
        &engine,
        job,
        "train/loss",
        100,
        Some(77_776.0),
        Some(77_778.0),
    )
    .await;
    let exact: Vec<(f64, f64)> = tiny.buckets.iter().map(|b| (b.last_step, b.last)).collect();
    assert_eq!(
        exact,
        vec![(77_776.0, 1.0), (77_777.0, 50.0), (77_778.0, 1.0)]
    );

    let keys = engine
        .metric_keys(job)
        .await
        .expect("the metric keys are listed");
    assert_eq!(keys.len(), 1);
    assert_eq!(
        (
            keys[0].count,
            keys[0].min,
            keys[0].max,
            keys[0].last,
            keys[0].last_step
        ),
        (100_000, 1.0, 50.0, 1.0, 99_999.0)
    );
}

#[tokio::test]
async fn steps_that_go_back_are_still_answered_correctly() {
    let engine = fresh().await;
    let job = job(&engine).await;
    // A resumed run reports steps 0..10 again after reaching 20.
    let steps = (0..20)
        .chain(0..10)
        .map(|s| (f64::from(s), f64::from(s) * 10.0));
    engine
        .ingest_metrics(job, &points("acc", steps))
        .await
        .expect("the points are recorded");
    let range = series(&engine, job, "acc", 100, Some(5.0), Some(12.0)).await;
    assert_eq!(range.total_points, 8 + 5);
    let steps: Vec<f64> = range.buckets.iter().map(|b| b.last_step).collect();
    assert_eq!(
        steps,
        vec![5.0, 5.0, 6.0, 6.0, 7.0, 7.0, 8.0, 8.0, 9.0, 9.0, 10.0, 11.0, 12.0]
    );
    let coarse = series(&engine, job, "acc", 2, None, None).await;
    assert_eq!(coarse.buckets.len(), 2);
    assert_eq!(coarse.buckets[0].count + coarse.buckets[1].count, 30);
    assert_eq!((coarse.buckets[0].min, coarse.buckets[1].max), (0.0, 190.0));
}

#[tokio::test]
async fn bad_queries_name_the_field_and_unknowns_are_not_found() {
    let engine = fresh().await;
    let job = job(&engine).await;
    engine
        .ingest_metrics(job, &points("loss", [(0.0, 1.0)].into_iter()))
        .await
        .expect("the points are recorded");
    let field = |r: Result<MetricSeries, EngineError>| match r {
        Err(EngineError::BadMetricQuery { field, .. }) => field,
        other => panic!("expected a bad query, got {other:?}"),
    };
    assert_eq!(
        field(engine.metric_series(job, "loss", 0, None, None).await),
        "max_points"
    );
    assert_eq!(
        field(engine.metric_series(job, "loss", 100_001, None, None).await),
        "max_points"
    );
    assert_eq!(
        field(
            engine
                .metric_series(job, "loss", 10, Some(5.0), Some(1.0))
                .await
        ),
        "from"
    );
    assert_eq!(
        field(
            engine
                .metric_series(job, "loss", 10, Some(f64::NAN), None)
                .await
        ),
        "from"
    );
    assert_eq!(
        field(engine.metric_series(job, "a/../b", 10, None, None).await),
        "key"
    );
    assert!(matches!(
        engine.metric_series(job, "nope", 10, None, None).await,
        Err(EngineError::MetricNotFound { .. })
    ));
    assert!(matches!(
        engine
            .metric_series(job + 100, "loss", 10, None, None)
            .await,
        Err(EngineError::JobNotFound(_))
    ));
    assert!(matches!(
        engine
            .ingest_metrics(job, &points("x", [(0.0, f64::INFINITY)].into_iter()))
            .await,
        Err(EngineError::BadMetricQuery { field: "value", .. })
    ));
    // A range past the data is empty, not an error.
    let past = series(&engine, job, "loss", 10, Some(5.0), None).await;
    assert_eq!((past.total_points, past.buckets.len()), (0, 0));
}

#[tokio::test]
async fn output_lines_become_metrics_once_even_when_split_and_retried() {
    let engine = fresh().await;
    let at = running_job(&engine).await;
    let log = |offset: u64, data: &'static [u8]| {
        let engine = &engine;
        async move {
            engine
                .append_log(at, offset, data)
                .await
                .expect("the log chunk is accepted")
        }
    };
    let first: &[u8] =
        b"start\nTRAINYARD_METRIC::{\"step\":1,\"loss\":0.5}\nTRAINYARD_METRIC::{\"st";
    let size = log(0, first).await;
    // The agent did not see the answer and sends the same chunk again.
    assert_eq!(log(0, first).await, size);
    let size = log(size, b"ep\":2,\"loss\":0.25}\nTRAINYARD_METRIC::{bad\n").await;
    log(
        size,
        b"VTM_PROGRESS::{\"epoch\":3,\"loss\":0.125,\"phase\":\"val\"}\n",
    )
    .await;
    let loss = series(&engine, at.job_id, "loss", 10, None, None).await;
    let got: Vec<(f64, f64)> = loss.buckets.iter().map(|b| (b.last_step, b.last)).collect();
    assert_eq!(got, vec![(1.0, 0.5), (2.0, 0.25), (3.0, 0.125)]);
}

#[tokio::test]
async fn series_and_the_unfinished_line_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (at, size) = {
        let engine = open(dir.path()).await;
        let at = running_job(&engine).await;
        engine
            .ingest_metrics(
                at.job_id,
                &points("a", (0..1_000).map(|s| (f64::from(s), 1.0))),
            )
            .await
            .expect("the points are recorded");
        let size = engine
            .append_log(
                at,
                0,
                b"TRAINYARD_METRIC::{\"b\":7}\nTRAINYARD_METRIC::{\"b\"",
            )
            .await
            .expect("the log chunk is accepted");
        // No close(): as if killed.
        (at, size)
    };
    let engine = open(dir.path()).await;
    engine
        .append_log(at, size, b":8}\n")
        .await
        .expect("the log chunk is accepted");
    let keys = engine
        .metric_keys(at.job_id)
        .await
        .expect("the metric keys are listed");
    let counts: Vec<(String, u64)> = keys.iter().map(|k| (k.key.clone(), k.count)).collect();
    assert_eq!(counts, vec![("a".into(), 1_000), ("b".into(), 2)]);
    let b = series(&engine, at.job_id, "b", 10, None, None).await;
    let values: Vec<f64> = b.buckets.iter().map(|b| b.last).collect();
    assert_eq!(values, vec![7.0, 8.0]);
    // The points file holds exactly what the catalog counts.
    let files = dir.path().join("metrics").join(at.job_id.to_string());
    let mut sizes: Vec<u64> = std::fs::read_dir(&files)
        .expect("read dir")
        .map(|f| {
            f.expect("a dir entry")
                .metadata()
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, vec![2 * 24, 1_000 * 24]);
    let a = series(&engine, at.job_id, "a", 2_000, None, None).await;
    assert_eq!(a.total_points, 1_000);
}
