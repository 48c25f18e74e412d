//! Preemption (`--preempt`) and *Resume* through the engine: the stop
//! order, the requeue without a retry, the files a later attempt resumes
//! from, and a metric series that continues without repeated steps.

use std::time::Duration;

use trainyard_core::sync::{xxh3_hex, AppendQuery};
use trainyard_core::work::{
    Assignment, AttemptRef, FinishedReport, Outcome, PollRequest, PollResponse, StartedReport,
    StopReason,
};
use trainyard_core::{JobStatus, JobView, Priority, SubmitOptions, PROTOCOL_VERSION};
use trainyard_engine::{Engine, EngineError, JobSettings};

use crate::fixtures::{engine_with_settings, heartbeat, TestEngine};

async fn engine(preempt: bool) -> TestEngine {
    let engine = engine_with_settings(|s| {
        s.jobs = JobSettings {
            lease: Duration::from_secs(60),
            preempt,
            ..JobSettings::default()
        }
    })
    .await;
    engine
        .ingest_heartbeat(heartbeat("h", 1))
        .expect("the heartbeat is accepted");
    engine
}

async fn submit(engine: &Engine, priority: Priority, yaml: &str) -> i64 {
    let result = engine
        .submit(
            yaml,
            SubmitOptions {
                priority: Some(priority),
                ..Default::default()
            },
        )
        .await
        .expect("the config is accepted");
    result.jobs[0].id
}

async fn poll(engine: &Engine, free_gpus: Vec<u32>, running: Vec<AttemptRef>) -> PollResponse {
    engine
        .poll(PollRequest {
            protocol_version: PROTOCOL_VERSION,
            host_id: "h".into(),
            free_gpus,
            free_cpu_slots: 0,
            free_job_slots: 10,
            running,
            wait_ms: 0,
        })
        .await
        .expect("the poll is answered")
}

fn at(a: &Assignment) -> AttemptRef {
    AttemptRef {
        job_id: a.job_id,
        attempt: a.attempt,
    }
}

fn ended(outcome: Outcome, signal: Option<i32>) -> FinishedReport {
    FinishedReport {
        outcome,
        exit_code: None,
        signal,
        error: None,
        duration_ms: 5,
        log_size: 0,
    }
}

async fn view(engine: &Engine, id: i64) -> JobView {
    engine.job(id).await.expect("the job exists").job
}

/// Starts job `id` on GPU 0 of host `h`; returns its attempt.
async fn run_on_gpu0(engine: &Engine) -> AttemptRef {
    let answer = poll(engine, vec![0], vec![]).await;
    let running = at(&answer.assign[0]);
    engine
        .attempt_started(running, StartedReport { pid: Some(1) })
        .await
        .expect("the start is accepted");
    running
}

const ONE_GPU: &str = "command: [\"x\"]\ngpus: 1\nretries: 1\n";

#[tokio::test]
async fn a_high_job_preempts_a_low_one_which_is_requeued_to_resume_without_a_retry() {
    let engine = engine(true).await;
    let low = submit(&engine, Priority::Low, ONE_GPU).await;
    let first = run_on_gpu0(&engine).await;
    let high = submit(&engine, Priority::High, ONE_GPU).await;

    let answer = poll(&engine, vec![], vec![first]).await;
    assert!(answer.assign.is_empty(), "the GPU is still busy");
    assert_eq!(
        answer
            .stop
            .iter()
            .map(|s| (s.attempt, s.reason))
            .collect::<Vec<_>>(),
        [(first, StopReason::Preempted)]
    );
    assert_eq!(view(&engine, low).await.preempted_for, Some(high));
    // Asked again on every poll until it ends, and decided only once.
    let again = poll(&engine, vec![], vec![first]).await;
    assert_eq!(again.stop.len(), 1);

    engine
        .attempt_finished(first, ended(Outcome::Preempted, Some(15)))
        .await
        .expect("the end is accepted");
    let requeued = view(&engine, low).await;
    assert_eq!(
        (
            requeued.status,
            requeued.free_attempts,
            requeued.preempted_for
        ),
        (JobStatus::Queued, 1, None)
    );
    let attempts = engine.job(low).await.expect("the job exists").attempts;
    assert_eq!(attempts[0].status, JobStatus::Cancelled);
    assert!(
        attempts[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains(&format!("preempted by job {high}"))),
        "{attempts:?}"
    );

    // The freed GPU goes to the high job, not back to the low one.
    let placed = poll(&engine, vec![0], vec![]).await;
    assert_eq!(
        placed.assign.iter().map(|a| a.job_id).collect::<Vec<_>>(),
        [high]
    );
    let high_at = at(&placed.assign[0]);
    engine
        .attempt_finished(high_at, ended(Outcome::Succeeded, None))
        .await
        .expect("the end is accepted");

    // Back on the GPU as attempt 2, resuming, with its one retry intact.
    let back = poll(&engine, vec![0], vec![]).await;
    let second = &back.assign[0];
    assert_eq!((second.job_id, second.attempt), (low, 2));
    assert!(second.resume && second.fence, "{second:?}");
    engine
        .attempt_finished(at(second), ended(Outcome::Lost, None))
        .await
        .expect("the end is accepted");
    assert_eq!(
        view(&engine, low).await.status,
        JobStatus::Queued,
        "a loss after a preemption still has its retry"
    );
}

#[tokio::test]
async fn a_preempted_job_that_ignores_term_is_killed_and_still_requeued() {
    let engine = engine(true).await;
    let low = submit(&engine, Priority::Normal, "command: [\"x\"]\ngpus: 1\n").await;
    let first = run_on_gpu0(&engine).await;
    submit(&engine, Priority::High, ONE_GPU).await;
    let answer = poll(&engine, vec![], vec![first]).await;
    assert_eq!(answer.stop.len(), 1);
    // An agent that only knows `failed` (KILL after the grace) still ends
    // a preemption: the server asked for it.
    engine
        .attempt_finished(first, ended(Outcome::Failed, Some(9)))
        .await
        .expect("the end is accepted");
    let requeued = view(&engine, low).await;
    assert_eq!(
        (requeued.status, requeued.free_attempts),
        (JobStatus::Queued, 1)
    );
    let attempts = engine.job(low).await.expect("the job exists").attempts;
    assert!(attempts[0]
        .reason
        .as_deref()
        .is_some_and(|r| r.contains("killed after its grace period")));
}

#[tokio::test]
async fn equal_priority_never_preempts_and_preemption_is_off_by_default() {
    let on = engine(true).await;
    submit(&on, Priority::Normal, ONE_GPU).await;
    let first = run_on_gpu0(&on).await;
    submit(&on, Priority::Normal, ONE_GPU).await;
    assert!(poll(&on, vec![], vec![first]).await.stop.is_empty());

    let off = engine(false).await;
    submit(&off, Priority::Low, ONE_GPU).await;
    let first = run_on_gpu0(&off).await;
    submit(&off, Priority::High, ONE_GPU).await;
    assert!(poll(&off, vec![], vec![first]).await.stop.is_empty());
}

#[tokio::test]
async fn a_job_pinned_to_another_host_preempts_nothing_here() {
    let engine = engine(true).await;
    submit(&engine, Priority::Low, ONE_GPU).await;
    let first = run_on_gpu0(&engine).await;
    submit(
        &engine,
        Priority::High,
        "command: [\"x\"]\ngpus: 1\nhost: elsewhere\n",
    )
    .await;
    assert!(poll(&engine, vec![], vec![first]).await.stop.is_empty());
    submit(
        &engine,
        Priority::High,
        "command: [\"x\"]\ngpus: 1\nhost: h\n",
    )
    .await;
    assert_eq!(poll(&engine, vec![], vec![first]).await.stop.len(), 1);
}

async fn append(engine: &Engine, at: AttemptRef, path: &str, data: &[u8]) {
    let query = AppendQuery {
        offset: 0,
        xxh3: xxh3_hex(data),
    };
    engine
        .append_run_file(at, path, &query, data)
        .await
        .expect("the append is accepted");
}

#[tokio::test]
async fn resume_needs_an_ended_job_with_synced_files_and_hands_them_to_the_next_attempt() {
    let engine = engine(false).await;
    let job = submit(&engine, Priority::Normal, ONE_GPU).await;
    let reason = |r: Result<JobView, EngineError>| match r {
        Err(EngineError::NotResumable { why, .. }) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(reason(engine.resume_job(job).await).contains("queued"));
    assert!(matches!(
        engine.resume_job(job + 100).await,
        Err(EngineError::JobNotFound(_))
    ));

    let first = run_on_gpu0(&engine).await;
    engine
        .attempt_finished(first, ended(Outcome::Failed, None))
        .await
        .expect("the end is accepted");
    assert!(
        reason(engine.resume_job(job).await).contains("none of its attempts synced"),
        "nothing synced: nothing to resume"
    );

    // A new job whose attempt synced a checkpoint before it failed.
    let job = submit(&engine, Priority::Normal, ONE_GPU).await;
    let first = run_on_gpu0(&engine).await;
    append(&engine, first, "ckpt/checkpoint.json", b"{\"epoch\": 3}\n").await;
    engine
        .attempt_finished(first, ended(Outcome::Failed, None))
        .await
        .expect("the end is accepted");
    let resumed = engine.resume_job(job).await.expect("it resumes");
    assert_eq!(
        (resumed.status, resumed.free_attempts),
        (JobStatus::Queued, 1)
    );
    let answer = poll(&engine, vec![0], vec![]).await;
    let second = &answer.assign[0];
    assert_eq!(
        (second.job_id, second.attempt, second.resume),
        (job, 2, true)
    );
    let files = engine.resume_files(at(second)).await.expect("listed");
    assert_eq!(files.from_attempt, Some(1));
    assert_eq!(
        files
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>(),
        ["ckpt/checkpoint.json"]
    );
    let (full, size) = engine
        .locate_resume_file(at(second), "ckpt/checkpoint.json")
        .await
        .expect("found");
    assert_eq!(size, 13);
    assert_eq!(std::fs::read(full).expect("readable"), b"{\"epoch\": 3}\n");
    assert!(matches!(
        engine.locate_resume_file(at(second), "../x").await,
        Err(EngineError::BadRunPath { .. })
    ));
    // Only the current attempt may ask.
    assert!(matches!(
        engine.resume_files(first).await,
        Err(EngineError::Superseded(_))
    ));

    engine
        .attempt_finished(at(second), ended(Outcome::Succeeded, None))
        .await
        .expect("the end is accepted");
    assert!(reason(engine.resume_job(job).await).contains("succeeded"));
}

#[tokio::test]
async fn a_retried_attempt_continues_the_series_without_repeating_steps() {
    let engine = engine(false).await;
    let job = submit(&engine, Priority::Normal, ONE_GPU).await;
    let first = run_on_gpu0(&engine).await;
    let lines: String = (1..=3)
        .map(|s| format!("TRAINYARD_METRIC::{{\"step\":{s},\"loss\":{s}}}\n"))
        .collect();
    engine
        .append_log(first, 0, lines.as_bytes())
        .await
        .expect("the log is accepted");
    engine
        .attempt_finished(first, ended(Outcome::Lost, None))
        .await
        .expect("the end is accepted");
    assert_eq!(view(&engine, job).await.status, JobStatus::Queued);

    let answer = poll(&engine, vec![0], vec![]).await;
    let second = at(&answer.assign[0]);
    // Its checkpoint was from step 2: it repeats step 3, then goes on.
    let lines =
        "TRAINYARD_METRIC::{\"step\":3,\"loss\":30}\nTRAINYARD_METRIC::{\"step\":4,\"loss\":4}\n";
    engine
        .append_log(second, 0, lines.as_bytes())
        .await
        .expect("the log is accepted");
    let series = engine
        .metric_series(job, "loss", 100, None, None)
        .await
        .expect("the series exists");
    let points: Vec<(f64, f64)> = series
        .buckets
        .iter()
        .map(|b| (b.last_step, b.last))
        .collect();
    assert_eq!(points, [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 4.0)]);
}
