//! Resume from the last checkpoint and preemption, with real agents,
//! the real server and `examples/train.py`: a lost job retried on another
//! host, a cancelled job resumed by a user, a low-priority job preempted
//! by a high one; each ends with one continuous metric series.

use std::time::Duration;

use trainyard_core::protocol::paths;
use trainyard_core::{ApiErrorBody, JobDetail, JobStatus, JobView, MetricSeries};
use trainyard_engine::JobSettings;
use trainyard_server::remote::ServerArgs;
use trainyard_server::resume_cli::{self, ResumeArgs};

use crate::harness::{config, get_raw, until, TestServer, KEY};
use crate::jobs_support::{agent_config, log_of, submit, wait_status};
use crate::killable::KillableAgent;

const TRAIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/train.py");

/// A config running `examples/train.py` for `epochs` epochs of 0.4 s,
/// checkpointing at most every `every` seconds (and on TERM).
fn training(epochs: u32, every: u32, extra: &str) -> String {
    format!(
        "gpus: 1\n{extra}command: [\"python3\", \"{TRAIN}\", \"--epochs\", \"{epochs}\", \"--step-seconds\", \"0.4\", \"--checkpoint-seconds\", \"{every}\"]\n"
    )
}

async fn server(dir: &std::path::Path, preempt: bool) -> (TestServer, String) {
    let mut cfg = config(dir, Some(KEY), Default::default());
    cfg.jobs = JobSettings {
        lease: Duration::from_millis(1500),
        preempt,
        ..Default::default()
    };
    let server = TestServer::start(cfg).await;
    let base = server.url("");
    (server, base)
}

/// Waits until the server holds job `id`'s `checkpoint.json` at epoch
/// `epoch` or later.
async fn wait_checkpoint(base: &str, id: i64, epoch: u64) {
    until(&format!("job {id} checkpointed epoch {epoch}"), || async {
        let answer = get_raw(
            base,
            &format!("{}checkpoint.json", paths::run_files_prefix(id)),
        )
        .await;
        if !answer.status().is_success() {
            return None;
        }
        let state: serde_json::Value = answer.json().await.ok()?;
        state["epoch"].as_u64().filter(|e| *e >= epoch)
    })
    .await;
}

/// The steps of job `id`'s series `key`, in order, one entry per point.
async fn steps(base: &str, id: i64, key: &str) -> Vec<f64> {
    let series: MetricSeries = get_raw(
        base,
        &format!("/api/v1/runs/{id}/metrics/{key}?max_points=1000"),
    )
    .await
    .json()
    .await
    .expect("a series");
    assert!(
        series.buckets.iter().all(|b| b.count == 1),
        "{key}: a step recorded twice: {series:?}"
    );
    series.buckets.iter().map(|b| b.last_step).collect()
}

fn one_to(n: u32) -> Vec<f64> {
    (1..=n).map(f64::from).collect()
}

async fn post(base: &str, path: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request is sent")
}

#[tokio::test]
async fn a_lost_job_is_retried_elsewhere_from_its_checkpoint_with_one_continuous_series() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base) = server(dir.path(), false).await;
    let a = KillableAgent::start(agent_config(
        base.clone(),
        "host-a",
        1,
        &dir.path().join("a"),
    ));
    // A checkpoint about every 2 s: one that holds still long enough for
    // the agent to ship it mid-run, while the metrics run ahead of it.
    let job = submit(&base, &training(20, 2, "retries: 1\n")).await.jobs[0].id;
    wait_checkpoint(&base, job, 4).await;
    a.kill();
    // Only now does a second host exist, so the retry runs there, with the
    // files the server has: host-a's run dir is out of reach.
    let b = KillableAgent::start(agent_config(
        base.clone(),
        "host-b",
        1,
        &dir.path().join("b"),
    ));
    let done = wait_status(&base, job, JobStatus::Succeeded).await;
    let attempts: Vec<_> = done
        .attempts
        .iter()
        .map(|a| (a.attempt, a.host_id.as_str(), a.status))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, "host-a", JobStatus::Lost),
            (2, "host-b", JobStatus::Succeeded)
        ]
    );
    let log = log_of(&base, job).await;
    assert!(
        log.contains("trainyard-agent: resuming from attempt 1"),
        "{log}"
    );
    assert!(log.contains("resuming after epoch"), "{log}");
    assert!(!log.contains("epoch 1/20"), "it did not start over: {log}");
    assert_eq!(steps(&base, job, "loss").await, one_to(20));
    assert_eq!(steps(&base, job, "val_accuracy").await, one_to(20));
    b.kill();
}

#[tokio::test]
async fn a_cancelled_job_resumed_by_a_user_continues_from_its_checkpoint() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base) = server(dir.path(), false).await;
    let agent = KillableAgent::start(agent_config(
        base.clone(),
        "gpu-a",
        1,
        &dir.path().join("a"),
    ));
    let job = submit(&base, &training(15, 2, "")).await.jobs[0].id;
    wait_checkpoint(&base, job, 2).await;
    assert!(post(&base, &format!("/api/v1/jobs/{job}/cancel"))
        .await
        .status()
        .is_success());
    wait_status(&base, job, JobStatus::Cancelled).await;

    let resumed: JobView = post(&base, &paths::job_resume(job))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!((resumed.id, resumed.status), (job, JobStatus::Queued));
    let done = wait_status(&base, job, JobStatus::Succeeded).await;
    assert!(done.job.attempt >= 2 && done.job.free_attempts >= 1);
    assert!(log_of(&base, job).await.contains("resuming after epoch"));
    assert_eq!(steps(&base, job, "loss").await, one_to(15));

    // Bad input gets a clear answer and changes nothing.
    let again = post(&base, &paths::job_resume(job)).await;
    assert_eq!(again.status(), reqwest::StatusCode::CONFLICT);
    let body: ApiErrorBody = again.json().await.expect("JSON");
    assert_eq!(body.code, "not_resumable");
    assert!(body.message.contains("succeeded"), "{}", body.message);
    assert_eq!(
        post(&base, &paths::job_resume(job + 99)).await.status(),
        404
    );
    assert_eq!(post(&base, "/api/v1/jobs/abc/resume").await.status(), 400);
    // `trainyard resume` says the same, naming the job.
    let cli = |job| ResumeArgs {
        job,
        server: ServerArgs {
            url: base.clone(),
            api_key: Some(KEY.into()),
        },
    };
    let refused = resume_cli::run(cli(job))
        .await
        .expect_err("a succeeded job is refused");
    let message = format!("{refused:#}");
    assert!(
        message.contains(&format!("resume job {job}")) && message.contains("succeeded"),
        "{message}"
    );
    let unknown = resume_cli::run(cli(job + 99))
        .await
        .expect_err("no such job");
    assert!(format!("{unknown:#}").contains("404"), "{unknown:#}");
    agent.kill();
}

#[tokio::test]
async fn a_high_job_preempts_a_low_one_which_checkpoints_and_resumes_without_a_retry() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base) = server(dir.path(), true).await;
    let agent = KillableAgent::start(agent_config(
        base.clone(),
        "gpu-a",
        1,
        &dir.path().join("a"),
    ));
    let low = submit(&base, &training(15, 2, "priority: low\n"))
        .await
        .jobs[0]
        .id;
    wait_checkpoint(&base, low, 2).await;
    let high = submit(
        &base,
        "gpus: 1\npriority: high\ncommand: [\"sh\", \"-c\", \"echo high ran\"]\n",
    )
    .await
    .jobs[0]
        .id;
    let high_done = wait_status(&base, high, JobStatus::Succeeded).await;
    let done = wait_status(&base, low, JobStatus::Succeeded).await;
    // (An answer the agent dropped for a newer poll adds an attempt that
    // never ran, and uses no retry either.)
    assert_eq!(done.job.retries, 0);
    assert!(done.job.free_attempts >= 1, "the preemption used no retry");
    let first = &done.attempts[0];
    assert_eq!(first.status, JobStatus::Cancelled);
    assert!(
        first
            .reason
            .as_deref()
            .is_some_and(|r| r.contains(&format!("preempted by job {high}"))),
        "{first:?}"
    );
    // The high job ran on the GPU only once the low one had left it.
    let high_ran = high_done.attempts.last().expect("an attempt");
    let high_started = high_ran.started_ms.unwrap_or_default();
    assert!(
        first.finished_ms.is_some_and(|f| f <= high_started),
        "{first:?} / {:?}",
        high_done.attempts
    );
    // For docs/benchmarks.md (printed, not asserted): server clock times.
    let high_created = high_done.job.created_ms;
    eprintln!(
        "preemption figures: low submit->start {} ms on a free GPU; high submit->victim requeued {} ms; high submit->start {} ms",
        first.started_ms.unwrap_or_default() - done.job.created_ms,
        first.finished_ms.unwrap_or_default() - high_created,
        high_started - high_created,
    );
    assert!(log_of(&base, low).await.contains("resuming after epoch"));
    assert_eq!(steps(&base, low, "loss").await, one_to(15));
    agent.kill();
}

#[tokio::test]
async fn a_preempted_job_that_ignores_term_is_killed_after_its_grace_and_requeued() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base) = server(dir.path(), true).await;
    let agent = KillableAgent::start(agent_config(
        base.clone(),
        "gpu-a",
        1,
        &dir.path().join("a"),
    ));
    // The second attempt says whether it got a resume dir (nothing of its
    // own was synced by the first: it must not).
    let stubborn = "gpus: 1\npriority: low\ncommand: [\"sh\", \"-c\", \"if [ $TRAINYARD_ATTEMPT = 2 ]; then echo resume=${TRAINYARD_RESUME_DIR:-none}; exit 0; fi; trap '' TERM; echo started; sleep 60\"]\n";
    let low = submit(&base, stubborn).await.jobs[0].id;
    until("the low job started", || async {
        log_of(&base, low).await.contains("started").then_some(())
    })
    .await;
    let high = submit(&base, "gpus: 1\npriority: high\ncommand: [\"true\"]\n")
        .await
        .jobs[0]
        .id;
    wait_status(&base, high, JobStatus::Succeeded).await;
    let done: JobDetail = wait_status(&base, low, JobStatus::Succeeded).await;
    let first = &done.attempts[0];
    assert_eq!(first.status, JobStatus::Cancelled);
    assert!(
        first
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("killed after its grace period")),
        "{first:?}"
    );
    assert!(done.job.free_attempts >= 1 && done.job.retries == 0);
    assert!(log_of(&base, low).await.contains("resume=none"));
    agent.kill();
}
