//! End-to-end: the agent runs real processes for a fake server on 127.0.0.1.

use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;
use trainyard_core::work::{AttemptRef, Outcome, StopOrder, StopReason};

use crate::support::{eventually, job, start, Setup, WAIT_FOR_GO};

const SIGTERM: i32 = 15;
const SIGKILL: i32 = 9;

/// Whether `pid` is still a live process (a zombie counts as dead).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

async fn wait_dead(pid: u32, what: &str) {
    eventually(&format!("{what} (pid {pid}) to die"), || {
        (!alive(pid)).then_some(())
    })
    .await;
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .expect("the job wrote a pid")
}

#[tokio::test]
async fn a_job_gets_its_config_and_gpus_and_its_output_reaches_the_server_in_order() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let mut assignment = job(
        1,
        r#"echo "gpus=$CUDA_VISIBLE_DEVICES attempt=$TRAINYARD_ATTEMPT"
cat "$TRAINYARD_CONFIG"
echo "argv: $1 $2"
for i in 1 2 3 4 5; do echo "line $i"; done"#,
        vec![1],
    );
    assignment
        .command
        .extend(["sh".into(), "{run_id}".into(), "{name}".into()]);
    let attempt = setup.offer(assignment);

    let report = setup.finished(attempt).await;
    assert_eq!(report.outcome, Outcome::Succeeded);
    assert_eq!(report.exit_code, Some(0));
    let server_log = setup.server.work(|w| w.log_text(attempt));
    assert_eq!(
        server_log,
        "gpus=1 attempt=1\noptimizer:\n  lr: 0.1\nlayers: [1, 2]\nargv: 1 job-1\n\
         line 1\nline 2\nline 3\nline 4\nline 5\n"
    );
    assert_eq!(report.log_size, server_log.len() as u64);
    assert_eq!(setup.local_log(attempt), server_log.as_bytes());
    assert!(setup.server.work(|w| w.started.contains_key(&attempt)));
    agent.shut_down().await;
}

#[tokio::test]
async fn a_cpu_job_sees_an_empty_cuda_visible_devices_and_lines_arrive_while_it_runs() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let script =
        format!(r#"echo "gpus=[${{CUDA_VISIBLE_DEVICES-unset}}]"; {WAIT_FOR_GO}; echo done"#);
    let attempt = setup.offer(job(2, &script, vec![]));
    // The line is on the server while the job is still running.
    setup.log_contains(attempt, "gpus=[]\n").await;
    assert!(setup.server.work(|w| !w.finished.contains_key(&attempt)));
    setup.go(attempt);
    assert_eq!(setup.finished(attempt).await.outcome, Outcome::Succeeded);
    agent.shut_down().await;
}

#[tokio::test]
async fn a_failing_command_reports_its_exit_code() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = setup.offer(job(3, "echo bye >&2; exit 3", vec![0]));
    let report = setup.finished(attempt).await;
    assert_eq!(
        (report.outcome, report.exit_code),
        (Outcome::Failed, Some(3))
    );
    assert_eq!(setup.server.work(|w| w.log_text(attempt)), "bye\n");
    agent.shut_down().await;
}

#[tokio::test]
async fn a_missing_program_fails_with_the_os_error_in_the_log() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let mut assignment = job(4, "", vec![]);
    assignment.command = vec!["/nonexistent/trainyard-no-such-program".into()];
    let attempt = setup.offer(assignment);
    let report = setup.finished(attempt).await;
    assert_eq!(report.outcome, Outcome::Failed);
    let error = report.error.unwrap_or_default();
    assert!(error.contains("No such file or directory"), "{error}");
    let log = setup.server.work(|w| w.log_text(attempt));
    assert_eq!(
        log,
        "trainyard-agent: cannot start \"/nonexistent/trainyard-no-such-program\": \
         No such file or directory (os error 2)\n"
    );
    assert!(setup.server.work(|w| !w.started.contains_key(&attempt)));
    agent.shut_down().await;
}

#[tokio::test]
async fn a_workdir_climbing_out_with_dotdot_is_refused() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let mut assignment = job(5, "echo never", vec![]);
    assignment.workdir = Some("../elsewhere".into());
    let report = setup.finished(setup.offer(assignment)).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(report.error.unwrap_or_default().contains(".."));
    agent.shut_down().await;
}

#[tokio::test]
async fn cancel_kills_the_whole_process_tree_and_reports_cancelled() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = setup.offer(job(
        6,
        r#"sleep 1000 & echo $! > "$TRAINYARD_RUN_DIR/grandchild.pid"; echo ready; wait"#,
        vec![0],
    ));
    setup.log_contains(attempt, "ready").await;
    let grandchild = read_pid(&setup.run_dir(attempt).join("grandchild.pid"));
    assert!(alive(grandchild));

    setup.server.work(|w| {
        w.stop_orders.push(StopOrder {
            attempt,
            reason: StopReason::Cancelled,
        })
    });
    let report = setup.finished(attempt).await;
    assert_eq!(report.outcome, Outcome::Cancelled);
    assert_eq!(report.signal, Some(SIGTERM));
    wait_dead(grandchild, "the cancelled job's grandchild").await;
    agent.shut_down().await;
}

#[tokio::test]
async fn a_job_ignoring_sigterm_is_killed_after_the_grace() {
    let setup = Setup::new().await;
    let grace = Duration::from_millis(400);
    let agent = start(setup.config().with_kill_grace(grace));
    let attempt = setup.offer(job(
        7,
        r#"trap "" TERM; echo ready; while true; do sleep 0.05; done"#,
        vec![],
    ));
    setup.log_contains(attempt, "ready").await;
    let pid = setup.pid(attempt).await;
    let cancelled_at = Instant::now();
    setup.server.work(|w| {
        w.stop_orders.push(StopOrder {
            attempt,
            reason: StopReason::Cancelled,
        })
    });
    let report = setup.finished(attempt).await;
    assert!(
        cancelled_at.elapsed() >= grace,
        "killed before the grace ended"
    );
    assert_eq!(
        (report.outcome, report.signal),
        (Outcome::Cancelled, Some(SIGKILL))
    );
    wait_dead(pid, "the job").await;
    agent.shut_down().await;
}

#[tokio::test]
async fn a_timed_out_job_is_stopped_and_fails_saying_so() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let mut assignment = job(8, "echo start; sleep 1000", vec![]);
    assignment.timeout_secs = Some(1);
    let report = setup.finished(setup.offer(assignment)).await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.error.as_deref(), Some("timed out after 1 s"));
    agent.shut_down().await;
}

/// A job that prints numbered lines for a while.
const CHATTY: &str =
    r#"i=0; while [ $i -lt 60 ]; do echo "line $i of a chatty job"; i=$((i+1)); sleep 0.01; done"#;

#[tokio::test]
async fn an_offset_mismatch_resends_from_the_server_size_and_logs_end_identical() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = setup.offer(job(
        9,
        &format!("{CHATTY}; {WAIT_FOR_GO}; {CHATTY}"),
        vec![],
    ));
    setup.log_contains(attempt, "line 59 of").await;
    // The server "loses" the second half of what it had.
    setup.server.work(|w| {
        if let Some(log) = w.logs.get_mut(&attempt) {
            let half = log.len() / 2;
            log.truncate(half);
        }
    });
    setup.go(attempt);
    let report = setup.finished(attempt).await;
    let (log, mismatches) = setup.server.work(|w| {
        (
            w.logs.get(&attempt).cloned().unwrap_or_default(),
            w.mismatches,
        )
    });
    assert!(mismatches >= 1, "the agent never hit the gap");
    assert_eq!(log, setup.local_log(attempt));
    assert_eq!(report.log_size, log.len() as u64);
    agent.shut_down().await;
}

#[tokio::test]
async fn a_lost_log_ack_is_resent_harmlessly() {
    let setup = Setup::new().await;
    setup.server.work(|w| w.lose_log_acks = 2);
    let agent = start(setup.config());
    let attempt = setup.offer(job(10, CHATTY, vec![]));
    setup.finished(attempt).await;
    let (log, lost, repeats_or_mismatches) = setup.server.work(|w| {
        (
            w.logs.get(&attempt).cloned().unwrap_or_default(),
            w.lose_log_acks,
            w.repeats + w.mismatches,
        )
    });
    assert_eq!(lost, 0);
    assert!(
        repeats_or_mismatches >= 1,
        "the unacknowledged chunk was never resent"
    );
    assert_eq!(log, setup.local_log(attempt));
    agent.shut_down().await;
}

#[tokio::test]
async fn a_server_outage_mid_job_keeps_it_running_and_reports_when_back() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = setup.offer(job(
        11,
        &format!("echo before; {WAIT_FOR_GO}; echo after the outage; exit 4"),
        vec![0],
    ));
    setup.log_contains(attempt, "before\n").await;
    setup.server.work(|w| w.down = true);
    setup.go(attempt);
    // The job finishes during the outage; only the local log knows.
    eventually("the job to go on during the outage", || {
        String::from_utf8_lossy(&setup.local_log(attempt))
            .contains("after the outage")
            .then_some(())
    })
    .await;
    assert!(setup.server.work(|w| w.finished.is_empty()));

    setup.server.work(|w| w.down = false);
    let report = setup.finished(attempt).await;
    assert_eq!(
        (report.outcome, report.exit_code),
        (Outcome::Failed, Some(4))
    );
    assert_eq!(
        setup.server.work(|w| w.log_text(attempt)),
        "before\nafter the outage\n"
    );
    agent.shut_down().await;
}

#[tokio::test]
async fn fencing_kills_a_fenced_job_past_the_lease_and_spares_an_unfenced_one() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let mut fenced = job(12, "echo ready; sleep 1000", vec![0]);
    fenced.fence = true;
    fenced.lease_ms = 1500;
    let mut unfenced = job(
        13,
        &format!("echo ready; {WAIT_FOR_GO}; echo survived"),
        vec![1],
    );
    unfenced.lease_ms = 1500;
    let fenced = setup.offer(fenced);
    let unfenced = setup.offer(unfenced);
    setup.log_contains(fenced, "ready").await;
    setup.log_contains(unfenced, "ready").await;
    let fenced_pid = setup.pid(fenced).await;
    let unfenced_pid = setup.pid(unfenced).await;

    setup.server.work(|w| w.down = true);
    let down_at = Instant::now();
    wait_dead(fenced_pid, "the fenced job").await;
    // Margin for a 1.5 s lease: half of it.
    assert!(
        down_at.elapsed() >= Duration::from_millis(500),
        "fenced too early"
    );
    assert!(alive(unfenced_pid), "the unfenced job was killed too");

    setup.server.work(|w| w.down = false);
    setup.go(unfenced);
    let report = setup.finished(unfenced).await;
    assert_eq!(report.outcome, Outcome::Succeeded);
    assert_eq!(
        setup.server.work(|w| w.log_text(unfenced)),
        "ready\nsurvived\n"
    );
    // The fenced attempt's reports were dropped, not delivered late.
    assert!(setup.server.work(|w| !w.finished.contains_key(&fenced)));
    agent.shut_down().await;
}

#[tokio::test]
async fn a_superseded_answer_stops_the_process_and_drops_its_reports() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = setup.offer(job(
        14,
        "while true; do echo tick; sleep 0.05; done",
        vec![0],
    ));
    setup.log_contains(attempt, "tick").await;
    let pid = setup.pid(attempt).await;
    setup.server.work(|w| {
        w.superseded.insert(attempt);
    });
    wait_dead(pid, "the superseded job").await;
    // Its slot is free again and it is no longer listed.
    setup
        .server
        .wait_until("a poll without the superseded attempt", |w| {
            let last = w.polls.last()?;
            (last.running.is_empty() && last.free_gpus == [0, 1]).then_some(())
        })
        .await;
    assert!(setup.server.work(|w| w.finished.is_empty()));
    agent.shut_down().await;
}

#[tokio::test]
async fn polls_advertise_the_gpus_its_own_jobs_leave_free() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let first_poll = setup
        .server
        .wait_until("a poll", |w| w.polls.first().cloned())
        .await;
    assert_eq!(first_poll.free_gpus, [0, 1]);
    assert_eq!(first_poll.free_cpu_slots, 1);

    let script = WAIT_FOR_GO;
    let a = setup.offer(job(21, script, vec![0]));
    let poll = wait_for_poll(&setup, &[a]).await;
    assert_eq!(poll.free_gpus, [1]);

    let b = setup.offer(job(22, script, vec![1]));
    let poll = wait_for_poll(&setup, &[a, b]).await;
    assert!(poll.free_gpus.is_empty());

    // A slot frees up: a new poll goes out at once (not after 25 s).
    setup.go(a);
    setup.finished(a).await;
    let poll = wait_for_poll(&setup, &[b]).await;
    assert_eq!(poll.free_gpus, [0]);

    let c = setup.offer(job(23, script, vec![0]));
    let poll = wait_for_poll(&setup, &[b, c]).await;
    assert!(poll.free_gpus.is_empty());

    setup.go(b);
    setup.go(c);
    setup.finished(b).await;
    setup.finished(c).await;
    let poll = wait_for_poll(&setup, &[]).await;
    assert_eq!(poll.free_gpus, [0, 1]);
    agent.shut_down().await;
}

/// The first poll after now that lists exactly `running`.
async fn wait_for_poll(setup: &Setup, running: &[AttemptRef]) -> trainyard_core::work::PollRequest {
    setup
        .server
        .wait_until(&format!("a poll listing {running:?}"), |w| {
            w.polls.iter().rev().find(|p| p.running == running).cloned()
        })
        .await
}

#[tokio::test]
async fn max_jobs_one_advertises_no_free_job_slot_while_a_job_runs() {
    let setup = Setup::new().await;
    let agent = start(setup.config().with_max_jobs(Some(1)).with_cpu_slots(2));
    let first = setup
        .server
        .wait_until("a poll", |w| w.polls.first().cloned())
        .await;
    assert_eq!((first.free_job_slots, first.free_cpu_slots), (1, 2));

    let attempt = setup.offer(job(31, WAIT_FOR_GO, vec![]));
    let busy = wait_for_poll(&setup, &[attempt]).await;
    assert_eq!((busy.free_job_slots, busy.free_cpu_slots), (0, 1));
    assert_eq!(busy.free_gpus, [0, 1]);

    // A poll may list the attempt before its process (and run dir) exists:
    // go only once it has started.
    setup.pid(attempt).await;
    setup.go(attempt);
    setup.finished(attempt).await;
    let idle = wait_for_poll(&setup, &[]).await;
    assert_eq!(idle.free_job_slots, 1);
    agent.shut_down().await;
}

#[tokio::test]
async fn a_restarted_agent_adopts_running_jobs_and_reports_what_ran_before() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    // One job finishes while the server is away; another is still running
    // when the agent dies.
    let done = setup.offer(job(
        41,
        &format!("echo first; {WAIT_FOR_GO}; echo done"),
        vec![0],
    ));
    let orphan = setup.offer(job(
        42,
        &format!("echo orphan; {WAIT_FOR_GO}; echo adopted"),
        vec![1],
    ));
    setup.log_contains(done, "first").await;
    setup.log_contains(orphan, "orphan").await;
    let orphan_pid = setup.pid(orphan).await;
    setup.server.work(|w| w.down = true);
    setup.go(done);
    let state = setup.run_dir(done).join("state.json");
    eventually("the outcome to be spooled", || {
        std::fs::read_to_string(&state)
            .unwrap_or_default()
            .contains("\"succeeded\"")
            .then_some(())
    })
    .await;
    agent.crash().await;
    assert!(alive(orphan_pid), "the job should outlive a crashed agent");

    setup.server.work(|w| w.down = false);
    let agent = start(setup.config());
    let report = setup.finished(done).await;
    assert_eq!(
        (report.outcome, report.exit_code),
        (Outcome::Succeeded, Some(0))
    );
    assert_eq!(setup.server.work(|w| w.log_text(done)), "first\ndone\n");

    // The new agent holds the adopted job's GPU and lists it in its polls.
    let poll = wait_for_poll(&setup, &[orphan]).await;
    assert_eq!(poll.free_gpus, [0]);
    assert!(alive(orphan_pid), "the adopted job keeps running");
    setup.go(orphan);
    let report = setup.finished(orphan).await;
    assert_eq!(
        (report.outcome, report.exit_code, report.error),
        (Outcome::Succeeded, Some(0), None)
    );
    assert_eq!(
        setup.server.work(|w| w.log_text(orphan)),
        "orphan\nadopted\n"
    );
    agent.shut_down().await;
}

#[tokio::test]
async fn a_job_that_ends_or_vanishes_while_no_agent_runs_is_reported_failed_or_lost() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let failing = setup.offer(job(
        43,
        &format!("echo one; {WAIT_FOR_GO}; exit 7"),
        vec![0],
    ));
    let killed = setup.offer(job(44, "echo two; sleep 1000", vec![1]));
    setup.log_contains(failing, "one").await;
    setup.log_contains(killed, "two").await;
    let killed_pid = setup.pid(killed).await;
    agent.crash().await;

    // While no agent runs: one job exits 7 (its supervisor records it);
    // the other is killed with its supervisor, as a reboot would.
    setup.go(failing);
    eventually("the exit status to be recorded", || {
        setup
            .run_dir(failing)
            .join("exit.json")
            .exists()
            .then_some(())
    })
    .await;
    let supervisor: serde_json::Value = serde_json::from_slice(
        &std::fs::read(setup.run_dir(killed).join("supervisor.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    let supervisor_pid = supervisor["supervisor"].as_u64().unwrap_or(0);
    assert!(supervisor_pid > 1, "supervisor.json names the supervisor");
    // SAFETY: kill/killpg only send signals.
    unsafe {
        libc::kill(supervisor_pid as i32, SIGKILL);
        libc::killpg(killed_pid as i32, SIGKILL);
    }
    wait_dead(killed_pid, "the killed job").await;
    wait_dead(supervisor_pid as u32, "its supervisor").await;

    let agent = start(setup.config());
    let report = setup.finished(failing).await;
    assert_eq!(
        (report.outcome, report.exit_code),
        (Outcome::Failed, Some(7))
    );
    let report = setup.finished(killed).await;
    assert_eq!(report.outcome, Outcome::Lost);
    assert!(
        report
            .error
            .as_deref()
            .is_some_and(|e| e.contains("while no agent watched it")),
        "{report:?}"
    );
    agent.shut_down().await;
}

#[tokio::test]
async fn stopping_the_agent_stops_its_jobs_and_reports_them_failed() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = setup.offer(job(51, "echo running; sleep 1000", vec![0]));
    setup.log_contains(attempt, "running").await;
    let pid = setup.pid(attempt).await;
    agent.shut_down().await;
    assert!(!alive(pid), "the job outlived the agent");
    let report = setup.server.work(|w| w.finished.get(&attempt).cloned());
    let report = report.expect("the finished report arrived before run() returned");
    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.error.as_deref(), Some("the agent was stopped"));
}
