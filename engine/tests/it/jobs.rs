//! Jobs through the engine: submission, dispatch, leases, cancel, reports.

use std::collections::{HashMap, HashSet};

use std::time::Duration;

use trainyard_core::work::{
    AttemptRef, FinishedReport, Outcome, PollRequest, StartedReport, StopReason,
};
use trainyard_core::{JobStatus, Priority, SubmitOptions, PROTOCOL_VERSION};
use trainyard_engine::{Engine, EngineError, JobFilter, JobSettings};

use crate::fixtures::{engine_with_settings, eventually, heartbeat, on_disk, TestEngine};

const SWEEP_2X2: &str = "project: t\ncommand: [\"true\"]\ngpus: 1\nlr: [0.1, 0.01]\nbs: [32, 64]\n";

async fn engine_with(lease: Duration) -> TestEngine {
    engine_with_settings(|s| {
        s.jobs = JobSettings {
            lease,
            max_sweep_size: 100,
            default_command: None,
            preempt: false,
        }
    })
    .await
}

fn poll_req(host: &str, free_gpus: Vec<u32>, running: Vec<AttemptRef>) -> PollRequest {
    PollRequest {
        protocol_version: PROTOCOL_VERSION,
        host_id: host.into(),
        free_gpus,
        free_cpu_slots: 1,
        free_job_slots: 100,
        running,
        wait_ms: 0,
    }
}

fn finished(outcome: Outcome, exit_code: i32) -> FinishedReport {
    FinishedReport {
        outcome,
        exit_code: Some(exit_code),
        signal: None,
        error: None,
        duration_ms: 5,
        log_size: 0,
    }
}

async fn status_of(engine: &Engine, id: i64) -> JobStatus {
    engine.job(id).await.expect("the job exists").job.status
}

#[tokio::test]
async fn a_two_by_two_sweep_becomes_four_queued_jobs_in_one_sweep() {
    let engine = engine_with(Duration::from_secs(60)).await;
    let result = engine
        .submit(
            SWEEP_2X2,
            SubmitOptions {
                priority: Some(Priority::High),
                ..Default::default()
            },
        )
        .await
        .expect("the config is accepted");
    assert_eq!(result.jobs.len(), 4);
    assert!(result.jobs.iter().all(|j| j.sweep_id == result.sweep_id
        && j.status == JobStatus::Queued
        && j.priority == Priority::High));
    let names: HashSet<_> = result.jobs.iter().map(|j| j.name.clone()).collect();
    assert_eq!(names.len(), 4, "names are unique: {names:?}");
    let listed = engine
        .jobs(JobFilter {
            sweep_id: Some(result.sweep_id),
            ..Default::default()
        })
        .await
        .expect("the jobs are listed");
    assert_eq!(listed.len(), 4);
    let detail = engine.job(result.jobs[0].id).await.expect("the job exists");
    assert!(
        !detail.config_yaml.contains('['),
        "no grid lists left: {}",
        detail.config_yaml
    );
}

#[tokio::test]
async fn bad_submissions_are_refused_and_leave_the_queue_intact() {
    let engine = engine_with(Duration::from_secs(60)).await;
    engine
        .submit(SWEEP_2X2, SubmitOptions::default())
        .await
        .expect("the config is accepted");
    let bad = [
        ("project: t\ncommand: x\nlr: [0.1, 0.2\n", "line"),
        ("command: x\npriority: urgent\n", "high, normal or low"),
        (
            "command: x\na: [1,2,3,4,5,6,7,8,9,10]\nb: [1,2,3,4,5,6,7,8,9,10,11]\n",
            "100",
        ),
        ("project: t\nlr: [1, 2]\n", "--default-command"),
    ];
    for (yaml, expected) in bad {
        let err = engine
            .submit(yaml, SubmitOptions::default())
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("accepted: {yaml}"));
        assert!(err.contains(expected), "{yaml:?} → {err}");
    }
    let bad_host = engine
        .submit(
            SWEEP_2X2,
            SubmitOptions {
                host: Some("../etc".into()),
                ..Default::default()
            },
        )
        .await;
    assert!(matches!(bad_host, Err(EngineError::BadOption(m)) if m.contains("host")));
    let all = engine
        .jobs(JobFilter::default())
        .await
        .expect("the jobs are listed");
    assert_eq!(all.len(), 4, "only the good sweep is stored");
}

#[tokio::test]
async fn a_four_gpu_host_takes_four_jobs_on_distinct_gpus_in_priority_order() {
    let engine = engine_with(Duration::from_secs(60)).await;
    engine
        .ingest_heartbeat(heartbeat("h", 4))
        .expect("the heartbeat is accepted");
    let low = engine
        .submit(
            "command: x\ngpus: 1\nk: [1, 2]\n",
            SubmitOptions {
                priority: Some(Priority::Low),
                ..Default::default()
            },
        )
        .await
        .expect("the config is accepted");
    let high = engine
        .submit(
            SWEEP_2X2,
            SubmitOptions {
                priority: Some(Priority::High),
                ..Default::default()
            },
        )
        .await
        .expect("the config is accepted");
    let answer = engine
        .poll(poll_req("h", vec![0, 1, 2, 3], vec![]))
        .await
        .expect("the poll is answered");
    let ids: Vec<i64> = answer.assign.iter().map(|a| a.job_id).collect();
    let high_ids: Vec<i64> = high.jobs.iter().map(|j| j.id).collect();
    assert_eq!(ids, high_ids, "high priority first, FIFO within");
    let gpus: HashSet<u32> = answer
        .assign
        .iter()
        .flat_map(|a| a.gpu_indices.clone())
        .collect();
    assert_eq!(gpus.len(), 4);
    // Full: the low-priority jobs wait, and say why.
    let again = engine
        .poll(poll_req(
            "h",
            vec![],
            answer
                .assign
                .iter()
                .map(|a| AttemptRef {
                    job_id: a.job_id,
                    attempt: a.attempt,
                })
                .collect(),
        ))
        .await
        .expect("the poll is answered");
    assert!(again.assign.is_empty());
    let waiting = engine
        .job(low.jobs[0].id)
        .await
        .expect("the job exists")
        .job;
    assert!(waiting.waiting.unwrap_or_default().contains("free GPU"));
}

#[tokio::test]
async fn many_concurrent_claimers_never_get_the_same_job() {
    let engine = engine_with(Duration::from_secs(60)).await;
    let hosts = 40;
    for h in 0..hosts {
        engine
            .ingest_heartbeat(heartbeat(&format!("h{h}"), 2))
            .expect("the heartbeat is accepted");
    }
    let yaml = format!(
        "command: x\ngpus: 1\ni: [{}]\n",
        (0..60).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
    engine
        .submit(&yaml, SubmitOptions::default())
        .await
        .expect("the config is accepted");
    let mut tasks = Vec::new();
    for h in 0..hosts {
        let engine = engine.clone();
        tasks.push(tokio::spawn(async move {
            let host = format!("h{h}");
            let mut mine = Vec::new();
            // Each agent polls repeatedly, as if its jobs finished instantly.
            for _ in 0..5 {
                let answer = engine
                    .poll(poll_req(&host, vec![0, 1], vec![]))
                    .await
                    .expect("the poll is answered");
                for a in answer.assign {
                    mine.push((a.job_id, host.clone()));
                    engine
                        .attempt_finished(
                            AttemptRef {
                                job_id: a.job_id,
                                attempt: a.attempt,
                            },
                            finished(Outcome::Succeeded, 0),
                        )
                        .await
                        .expect("the end is accepted");
                }
            }
            mine
        }));
    }
    let mut owner: HashMap<i64, String> = HashMap::new();
    for task in tasks {
        for (job, host) in task.await.expect("the claimer task ends") {
            if let Some(first) = owner.insert(job, host.clone()) {
                panic!("job {job} was given to {first} and {host}");
            }
        }
    }
    assert_eq!(owner.len(), 60, "every job ran exactly once");
    let all = engine
        .jobs(JobFilter::default())
        .await
        .expect("the jobs are listed");
    assert!(all
        .iter()
        .all(|j| j.status == JobStatus::Succeeded && j.attempt == 1));
}

#[tokio::test]
async fn an_expired_lease_requeues_while_retries_remain_then_marks_lost() {
    let engine = engine_with(Duration::from_millis(150)).await;
    engine
        .ingest_heartbeat(heartbeat("a", 1))
        .expect("the heartbeat is accepted");
    engine
        .ingest_heartbeat(heartbeat("b", 1))
        .expect("the heartbeat is accepted");
    let job = engine
        .submit("command: x\nretries: 1\n", SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .id;
    let first = engine
        .poll(poll_req("a", vec![0], vec![]))
        .await
        .expect("the poll is answered")
        .assign;
    assert!(
        first[0].fence,
        "retries remain, so the agent must fence itself"
    );
    let at1 = AttemptRef {
        job_id: job,
        attempt: 1,
    };
    engine
        .attempt_started(at1, StartedReport { pid: Some(1) })
        .await
        .expect("the start is accepted");
    // Agent a goes silent past its 150 ms lease.
    engine.clock.advance(Duration::from_millis(200));
    engine.expire_leases().await;
    let view = engine.job(job).await.expect("the job exists").job;
    assert_eq!(view.status, JobStatus::Queued);
    assert!(view.reason.unwrap_or_default().contains("requeued"));
    let second = engine
        .poll(poll_req("b", vec![0], vec![]))
        .await
        .expect("the poll is answered")
        .assign;
    assert_eq!((second[0].attempt, second[0].fence), (2, false));
    // The old attempt's reports are refused.
    let late = engine
        .attempt_finished(at1, finished(Outcome::Succeeded, 0))
        .await;
    assert!(matches!(late, Err(EngineError::Superseded(_))));
    // Agent a comes back listing attempt 1: told to stop it.
    let stop = engine
        .poll(poll_req("a", vec![], vec![at1]))
        .await
        .expect("the poll is answered")
        .stop;
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0].reason, StopReason::Superseded);
    // Attempt 2 is lost too: no retries left, so it waits for its agent.
    let at2 = AttemptRef {
        job_id: job,
        attempt: 2,
    };
    engine
        .attempt_started(at2, StartedReport { pid: None })
        .await
        .expect("the start is accepted");
    engine.clock.advance(Duration::from_millis(200));
    engine.expire_leases().await;
    assert_eq!(status_of(&engine, job).await, JobStatus::Lost);
    // The agent was only partitioned: it reports the real outcome.
    engine
        .attempt_finished(at2, finished(Outcome::Failed, 3))
        .await
        .expect("the end is accepted");
    let end = engine.job(job).await.expect("the job exists");
    assert_eq!(
        (end.job.status, end.job.exit_code),
        (JobStatus::Failed, Some(3))
    );
    let statuses: Vec<_> = end
        .attempts
        .iter()
        .map(|a| (a.attempt, a.host_id.clone(), a.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (1, "a".into(), JobStatus::Lost),
            (2, "b".into(), JobStatus::Failed)
        ]
    );
}

#[tokio::test]
async fn cancel_stops_queued_jobs_at_once_and_running_ones_through_the_agent() {
    let engine = engine_with(Duration::from_secs(60)).await;
    engine
        .ingest_heartbeat(heartbeat("h", 1))
        .expect("the heartbeat is accepted");
    let jobs = engine
        .submit("command: x\nk: [1, 2]\n", SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs;
    let (running, queued) = (jobs[0].id, jobs[1].id);
    let a = engine
        .poll(poll_req("h", vec![0], vec![]))
        .await
        .expect("the poll is answered")
        .assign;
    let at = AttemptRef {
        job_id: a[0].job_id,
        attempt: 1,
    };
    assert_eq!(at.job_id, running);
    engine
        .attempt_started(at, StartedReport { pid: None })
        .await
        .expect("the start is accepted");

    let q = engine
        .cancel_job(queued)
        .await
        .expect("the cancel is accepted");
    assert_eq!(q.status, JobStatus::Cancelled);
    let r = engine
        .cancel_job(running)
        .await
        .expect("the cancel is accepted");
    assert!(r.cancel_requested && r.status == JobStatus::Running);
    let stop = engine
        .poll(poll_req("h", vec![], vec![at]))
        .await
        .expect("the poll is answered")
        .stop;
    assert_eq!(stop[0].reason, StopReason::Cancelled);
    // Killed by TERM: the agent reports failed-by-signal; it is still a cancel.
    let mut report = finished(Outcome::Failed, -1);
    report.exit_code = None;
    report.signal = Some(15);
    engine
        .attempt_finished(at, report.clone())
        .await
        .expect("the end is accepted");
    assert_eq!(status_of(&engine, running).await, JobStatus::Cancelled);
    // Repeated report: acknowledged, nothing changes.
    engine
        .attempt_finished(at, report)
        .await
        .expect("the end is accepted");
    assert!(matches!(
        engine.cancel_job(running).await,
        Err(EngineError::JobFinished { .. })
    ));
    assert!(matches!(
        engine.cancel_job(999).await,
        Err(EngineError::JobNotFound(999))
    ));
}

#[tokio::test]
async fn an_assignment_the_agent_never_received_goes_back_to_the_queue() {
    let engine = engine_with(Duration::from_secs(60)).await;
    engine
        .ingest_heartbeat(heartbeat("h", 1))
        .expect("the heartbeat is accepted");
    let job = engine
        .submit("command: x\n", SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .id;
    let lost_answer = engine
        .poll(poll_req("h", vec![0], vec![]))
        .await
        .expect("the poll is answered");
    assert_eq!(lost_answer.assign.len(), 1);
    // The next poll does not list it: the answer never arrived. It is handed out again.
    let again = engine
        .poll(poll_req("h", vec![0], vec![]))
        .await
        .expect("the poll is answered");
    assert_eq!(again.assign.len(), 1);
    assert_eq!((again.assign[0].job_id, again.assign[0].attempt), (job, 2));
    assert_eq!(
        engine.job(job).await.expect("the job exists").job.retries,
        0
    );
}

#[tokio::test]
async fn priority_rerun_and_waiting_reasons() {
    let engine = engine_with(Duration::from_secs(60)).await;
    let pinned = engine
        .submit("command: x\nhost: gpu-9\n", SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .id;
    let view = engine.job(pinned).await.expect("the job exists").job;
    assert!(
        view.waiting.unwrap_or_default().contains("gpu-9"),
        "a pin to an unknown host says so"
    );
    let changed = engine
        .set_priority(pinned, Priority::High)
        .await
        .expect("the priority change is accepted");
    assert_eq!(changed.priority, Priority::High);
    assert!(matches!(
        engine.rerun_job(pinned).await,
        Err(EngineError::JobNotFinished { .. })
    ));
    engine
        .cancel_job(pinned)
        .await
        .expect("the cancel is accepted");
    assert!(matches!(
        engine.set_priority(pinned, Priority::Low).await,
        Err(EngineError::JobFinished { .. })
    ));
    let again = engine
        .rerun_job(pinned)
        .await
        .expect("the re-run is accepted");
    assert_eq!(
        (again.status, again.rerun_of),
        (JobStatus::Queued, Some(pinned))
    );
    let original = engine.job(pinned).await.expect("the job exists");
    let copy = engine.job(again.id).await.expect("the job exists");
    assert_eq!(original.config_yaml, copy.config_yaml);
}

#[tokio::test]
async fn log_appends_are_offset_checked_and_readable() {
    let engine = engine_with(Duration::from_secs(60)).await;
    engine
        .ingest_heartbeat(heartbeat("h", 0))
        .expect("the heartbeat is accepted");
    let job = engine
        .submit("command: x\ngpus: 0\n", SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .id;
    let a = engine
        .poll(poll_req("h", vec![], vec![]))
        .await
        .expect("the poll is answered")
        .assign;
    assert_eq!(a.len(), 1, "a CPU job runs on a GPU-less host");
    let at = AttemptRef {
        job_id: job,
        attempt: 1,
    };
    assert_eq!(
        engine
            .append_log(at, 0, b"epoch 1\n")
            .await
            .expect("the log chunk is accepted"),
        8
    );
    assert_eq!(
        engine
            .append_log(at, 0, b"epoch 1\n")
            .await
            .expect("the log chunk is accepted"),
        8
    );
    assert!(matches!(
        engine.append_log(at, 20, b"x").await,
        Err(EngineError::LogOffsetMismatch { size: 8, .. })
    ));
    let stale = AttemptRef {
        job_id: job,
        attempt: 7,
    };
    assert!(matches!(
        engine.append_log(stale, 0, b"x").await,
        Err(EngineError::Superseded(_))
    ));
    let read = engine
        .read_log(job, None, 0, 1 << 20)
        .await
        .expect("the log is readable");
    assert_eq!(read.slice.data, b"epoch 1\n");
}

#[tokio::test]
async fn queued_and_running_jobs_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = on_disk(dir.path());
    let (running, queued) = {
        let engine = Engine::open(config.clone())
            .await
            .expect("the engine opens");
        engine
            .ingest_heartbeat(heartbeat("h", 1))
            .expect("the heartbeat is accepted");
        let jobs = engine
            .submit("command: x\nk: [1, 2]\n", SubmitOptions::default())
            .await
            .expect("the config is accepted")
            .jobs;
        let a = engine
            .poll(poll_req("h", vec![0], vec![]))
            .await
            .expect("the poll is answered")
            .assign;
        let at = AttemptRef {
            job_id: a[0].job_id,
            attempt: 1,
        };
        engine
            .attempt_started(at, StartedReport { pid: None })
            .await
            .expect("the start is accepted");
        engine
            .append_log(at, 0, b"hello\n")
            .await
            .expect("the log chunk is accepted");
        // No close(): as if killed.
        (jobs[0].id, jobs[1].id)
    };
    let engine = Engine::open(config).await.expect("the engine opens");
    assert_eq!(status_of(&engine, running).await, JobStatus::Running);
    assert_eq!(status_of(&engine, queued).await, JobStatus::Queued);
    let at = AttemptRef {
        job_id: running,
        attempt: 1,
    };
    assert_eq!(
        engine
            .append_log(at, 6, b"world\n")
            .await
            .expect("the log chunk is accepted"),
        12
    );
    engine
        .attempt_finished(at, finished(Outcome::Succeeded, 0))
        .await
        .expect("the end is accepted");
    assert_eq!(status_of(&engine, running).await, JobStatus::Succeeded);
}

#[tokio::test]
async fn an_older_poll_still_held_open_hands_out_nothing_once_a_newer_one_arrives() {
    let engine = engine_with(Duration::from_secs(60)).await;
    engine
        .ingest_heartbeat(heartbeat("h", 1))
        .expect("the heartbeat is accepted");
    let mut old = poll_req("h", vec![0], vec![]);
    old.wait_ms = 2_000;
    let held = tokio::spawn({
        let engine = engine.clone();
        async move { engine.poll(old).await }
    });
    eventually("the first poll is held", || engine.held_polls() == 1).await;
    // The agent gave up on that request and asks again; then work arrives.
    let mut newer = poll_req("h", vec![0], vec![]);
    newer.wait_ms = 2_000;
    let current = tokio::spawn({
        let engine = engine.clone();
        async move { engine.poll(newer).await }
    });
    eventually("both polls are held", || engine.held_polls() == 2).await;
    engine
        .submit("command: x\n", SubmitOptions::default())
        .await
        .expect("the config is accepted");
    let current = current
        .await
        .expect("the poll task ends")
        .expect("the poll is answered");
    assert_eq!(current.assign.len(), 1, "the newest poll gets the job");
    let held = held
        .await
        .expect("the poll task ends")
        .expect("the poll is answered");
    assert!(held.assign.is_empty());
}

#[tokio::test]
async fn a_waiting_jobs_reason_is_republished_when_the_fleet_changes() {
    let engine = engine_with(Duration::from_secs(60)).await;
    let job = engine
        .submit("command: x\ngpus: 2\n", SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .id;
    let mut sub = engine.events().subscribe(None);
    engine.refresh_waiting_reasons().await;
    engine
        .ingest_heartbeat(heartbeat("small", 1))
        .expect("the heartbeat is accepted");
    engine.refresh_waiting_reasons().await;
    engine.refresh_waiting_reasons().await;
    let mut reasons = Vec::new();
    while let Ok(event) = sub.live.try_recv() {
        if let Ok(trainyard_core::ServerEvent::Job { job: view }) =
            serde_json::from_str(event.data())
        {
            assert_eq!(view.id, job);
            reasons.push(view.waiting.unwrap_or_default());
        }
    }
    assert_eq!(reasons.len(), 2, "published once per change: {reasons:?}");
    assert!(reasons[0].contains("no healthy host"), "{}", reasons[0]);
    assert!(
        reasons[1].contains("2 GPU(s) on one host") && reasons[1].contains("is 1"),
        "{}",
        reasons[1]
    );
}

#[tokio::test]
async fn a_poll_that_arrives_before_the_hosts_first_heartbeat_still_gets_queued_work() {
    let engine = engine_with(Duration::from_secs(60)).await;
    engine
        .submit("command: x\n", SubmitOptions::default())
        .await
        .expect("the config is accepted");
    let mut early = poll_req("late", vec![0], vec![]);
    early.wait_ms = 10_000;
    let started = std::time::Instant::now();
    let poll = tokio::spawn({
        let engine = engine.clone();
        async move { engine.poll(early).await }
    });
    eventually("the poll is held", || engine.held_polls() == 1).await;
    engine
        .ingest_heartbeat(heartbeat("late", 1))
        .expect("the heartbeat is accepted");
    let answer = poll
        .await
        .expect("the poll task ends")
        .expect("the poll is answered");
    assert_eq!(answer.assign.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "not held until the poll's deadline"
    );
}

#[tokio::test]
async fn a_device_list_pinned_to_a_host_gets_exactly_those_gpus_under_torchrun() {
    let engine = engine_with(Duration::from_secs(60)).await;
    engine
        .ingest_heartbeat(heartbeat("h", 4))
        .expect("the heartbeat is accepted");
    let config = "command: python ddp.py\nhost: h\nlauncher: torchrun\ndevice: [2, 3]\n";
    let job = engine
        .submit(config, SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .clone();
    assert_eq!((job.gpus, job.gpu_ids.as_slice()), (2, &[2, 3][..]));
    assert_eq!(
        job.command,
        [
            "torchrun",
            "--standalone",
            "--nproc_per_node=2",
            "--no-python",
            "python",
            "ddp.py"
        ]
    );
    // GPU 3 is busy: the job waits for its own GPUs, and says which.
    let busy = engine
        .poll(poll_req("h", vec![0, 1, 2], vec![]))
        .await
        .expect("the poll is answered");
    assert!(busy.assign.is_empty(), "{:?}", busy.assign);
    let waiting = engine
        .job(job.id)
        .await
        .expect("the job exists")
        .job
        .waiting;
    assert!(
        waiting.as_deref().unwrap_or_default().contains("GPUs 2,3"),
        "{waiting:?}"
    );
    let free = engine
        .poll(poll_req("h", vec![0, 1, 2, 3], vec![]))
        .await
        .expect("the poll is answered");
    assert_eq!(free.assign.len(), 1);
    assert_eq!(free.assign[0].gpu_indices, [2, 3]);
    assert_eq!(free.assign[0].command[0], "torchrun");

    // Unpinned, a device list only counts GPUs.
    let loose = engine
        .submit("command: x\ndevice: [5, 6, 7]\n", SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .clone();
    assert_eq!((loose.gpus, loose.gpu_ids.len()), (3, 0));
    // A pinned host that lacks the named GPUs says so.
    let lacking = engine
        .submit(
            "command: x\nhost: h\ndevice: [6, 7]\n",
            SubmitOptions::default(),
        )
        .await
        .expect("the config is accepted")
        .jobs[0]
        .id;
    let waiting = engine
        .job(lacking)
        .await
        .expect("the job exists")
        .job
        .waiting;
    assert!(
        waiting
            .as_deref()
            .unwrap_or_default()
            .contains("needs GPUs 6,7"),
        "{waiting:?}"
    );
}

#[tokio::test]
async fn gpu_options_that_contradict_device_or_launcher_are_refused_and_nothing_is_queued() {
    let engine = engine_with(Duration::from_secs(60)).await;
    for (config, gpus, needle) in [
        (
            "command: x\ndevice: [0, 1]\n",
            Some(1),
            "disagrees with the config's `device:`",
        ),
        (
            "command: x\nlauncher: torchrun\n",
            Some(0),
            "no GPU to start a process on",
        ),
    ] {
        let refused = engine
            .submit(
                config,
                SubmitOptions {
                    gpus,
                    ..Default::default()
                },
            )
            .await;
        match refused {
            Err(EngineError::BadOption(message)) => {
                assert!(message.contains(needle), "{message}")
            }
            other => panic!("{config}: {other:?}"),
        }
    }
    let refused = engine
        .submit(
            "command: x\ngpus: 0\nlauncher: torchrun\n",
            SubmitOptions::default(),
        )
        .await;
    assert!(
        matches!(refused, Err(EngineError::Config(_))),
        "{refused:?}"
    );
    let jobs = engine.jobs(JobFilter::default()).await.expect("jobs list");
    assert!(jobs.is_empty(), "{jobs:?}");
}
