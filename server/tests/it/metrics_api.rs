//! Metrics from a real job's output through the real agent, read back over
//! the metrics API; bad chart queries are refused by field.

use trainyard_core::{JobStatus, MetricSeries, MetricSummary};

use crate::harness::{get_json, get_raw};
use crate::jobs_support::{server_with_agent, submit, wait_status};

#[tokio::test]
async fn metric_lines_of_a_real_job_are_charted_and_bad_queries_name_the_field() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, agent) = server_with_agent(dir.path(), 1).await;

    let script = r#"for i in 1 2 3; do echo "TRAINYARD_METRIC::{\"step\":$i,\"train/loss\":0.$i}"; done; echo "TRAINYARD_METRIC::{bad"; echo 'VTM_PROGRESS::{"epoch":1,"total_epochs":2,"val_accuracy":0.75}'"#;
    let yaml = format!(
        "gpus: 0\ncommand: [\"sh\", \"-c\", {}]\n",
        serde_json::to_string(script).expect("it serializes")
    );
    let submitted = submit(&base, &yaml).await;
    let id = submitted.jobs[0].id;
    wait_status(&base, id, JobStatus::Succeeded).await;

    let keys: Vec<MetricSummary> = get_json(&base, &format!("/api/v1/runs/{id}/metrics")).await;
    let names: Vec<&str> = keys.iter().map(|k| k.key.as_str()).collect();
    // total_epochs feeds progress, not a series.
    assert_eq!(names, vec!["train/loss", "val_accuracy"]);
    let loss = &keys[0];
    assert_eq!(
        (loss.count, loss.min, loss.max, loss.last, loss.last_step),
        (3, 0.1, 0.3, 0.3, 3.0)
    );

    // The key with its `/` encoded, and as is.
    for key in ["train%2Floss", "train/loss"] {
        let series: MetricSeries = get_json(
            &base,
            &format!("/api/v1/runs/{id}/metrics/{key}?max_points=10"),
        )
        .await;
        assert_eq!(series.key, "train/loss");
        let points: Vec<(f64, f64)> = series
            .buckets
            .iter()
            .map(|b| (b.last_step, b.last))
            .collect();
        assert_eq!(points, vec![(1.0, 0.1), (2.0, 0.2), (3.0, 0.3)]);
    }
    let zoom: MetricSeries = get_json(
        &base,
        &format!("/api/v1/runs/{id}/metrics/train%2Floss?max_points=1&from=2&to=3"),
    )
    .await;
    assert_eq!(zoom.total_points, 2);
    let only = &zoom.buckets[0];
    assert_eq!(
        (only.min, only.max, only.last, only.count),
        (0.2, 0.3, 0.3, 2)
    );

    for (query, field) in [
        ("max_points=0", "max_points"),
        ("max_points=100001", "max_points"),
        ("max_points=lots", "max_points"),
        ("from=5&to=1", "from"),
        ("to=x", "to"),
    ] {
        let answer = get_raw(
            &base,
            &format!("/api/v1/runs/{id}/metrics/train%2Floss?{query}"),
        )
        .await;
        assert_eq!(answer.status(), 400, "{query}");
        let text = answer.text().await.unwrap_or_default();
        assert!(text.contains(&format!("{field}:")), "{query}: {text}");
    }
    let bad_key = get_raw(&base, &format!("/api/v1/runs/{id}/metrics/a%2F..%2Fb")).await;
    assert_eq!(bad_key.status(), 400);
    for path in [
        format!("/api/v1/runs/{id}/metrics/nope"),
        "/api/v1/runs/999999/metrics".to_string(),
        "/api/v1/runs/999999/metrics/loss".to_string(),
    ] {
        assert_eq!(get_raw(&base, &path).await.status(), 404, "{path}");
    }
    let no_key = reqwest::Client::new()
        .get(format!("{base}/api/v1/runs/{id}/metrics"))
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(no_key.status(), 401, "the API key is required");
    agent.kill();
}
