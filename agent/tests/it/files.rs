//! End-to-end: what jobs write into their run dir reaches the fake server
//! byte for byte, through outages, refusals, rewrites and restarts.

use std::path::Path;

use axum::http::StatusCode;
use trainyard_core::work::{AttemptRef, Outcome};
use xxhash_rust::xxh3::xxh3_64;

use crate::support::{eventually, job, start, FileRequest, Op, Setup, WAIT_FOR_GO};

const MIB: u64 = 1024 * 1024;

/// Writes `metrics.csv` a row at a time: `epoch,loss`, then rows
/// `$1..=$2` (shell function arguments), with a short pause between rows.
const ROWS: &str = r#"rows() { i=$1; while [ $i -le $2 ]; do echo "$i,0.$i" >> metrics.csv; i=$((i+1)); sleep 0.01; done; }"#;

/// A job script that runs in its run dir with [`ROWS`] defined.
fn script(body: &str) -> String {
    format!("cd \"$TRAINYARD_RUN_DIR\" || exit 9\n{ROWS}\n{body}")
}

/// Waits for the test's `go` file named `name` (not `go`, so several can follow each other).
fn wait_for(name: &str) -> String {
    format!(r#"while [ ! -e {name} ]; do sleep 0.02; done"#)
}

/// Every file the job left in its run dir (the agent's own files aside),
/// relative path and bytes.
fn run_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut folders = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = folders.pop() {
        let entries = std::fs::read_dir(&dir).expect("the run dir is readable");
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{prefix}{name}");
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                folders.push((entry.path(), format!("{path}/")));
            } else if !AGENT_FILES.contains(&path.as_str()) {
                found.push((path, std::fs::read(entry.path()).unwrap_or_default()));
            }
        }
    }
    found.sort();
    found
}

/// The agent's and the job supervisor's own files, which are not synced.
const AGENT_FILES: [&str; 7] = [
    "output.log",
    "state.json",
    "state.json.tmp",
    "supervisor.json",
    "supervisor.json.tmp",
    "exit.json",
    "exit.json.tmp",
];

/// Offers job `job_id` running [`script`]`(body)`.
fn offer_script(setup: &Setup, job_id: i64, body: &str) -> AttemptRef {
    setup.offer(job(job_id, &script(body), vec![]))
}

/// Waits for `finished`, checks the job succeeded, then checks every local
/// run file (but `except`) has an identical copy on the server. The fake
/// server refuses file writes after `finished`, so the copies were complete
/// before it.
async fn succeeded_in_sync(setup: &Setup, attempt: AttemptRef, except: &[&str]) {
    let report = setup.finished(attempt).await;
    assert_eq!(report.outcome, Outcome::Succeeded);
    let local = run_files(&setup.run_dir(attempt));
    assert!(!local.is_empty());
    setup.server.work(|w| {
        for (path, bytes) in local.iter().filter(|(p, _)| !except.contains(&p.as_str())) {
            let Some(copy) = w.files.copy(attempt, path) else {
                panic!("no server copy of {path}");
            };
            assert!(
                copy.len() == bytes.len() && xxh3_64(copy) == xxh3_64(bytes),
                "{path}: the server has {} bytes, the run dir {}:\n{:?}\n{:?}",
                copy.len(),
                bytes.len(),
                String::from_utf8_lossy(&copy[..copy.len().min(300)]),
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)]),
            );
        }
    });
}

/// Waits until the server's copy of `path` contains `text`.
async fn server_copy_contains(setup: &Setup, attempt: AttemptRef, path: &str, text: &str) {
    setup
        .server
        .wait_until(&format!("{text:?} in the server's {path}"), |w| {
            let copy = w.files.copy(attempt, path)?;
            String::from_utf8_lossy(copy).contains(text).then_some(())
        })
        .await;
}

/// Waits until a file request matching `check` arrived; returns its index.
async fn request_seen(setup: &Setup, what: &str, check: impl Fn(&FileRequest) -> bool) -> usize {
    setup
        .server
        .wait_until(what, |w| w.files.requests.iter().position(&check))
        .await
}

/// Creates `name` in the run dir, for a job waiting on it.
fn touch(setup: &Setup, attempt: AttemptRef, name: &str) {
    let path = setup.run_dir(attempt).join(name);
    std::fs::write(&path, b"").expect("the run dir is writable");
}

/// Waits until the spooled state records the job's outcome.
async fn outcome_spooled(setup: &Setup, attempt: AttemptRef) {
    let state = setup.run_dir(attempt).join("state.json");
    eventually("the outcome to be spooled", || {
        std::fs::read_to_string(&state)
            .unwrap_or_default()
            .contains("\"outcome\": {")
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_csv_a_yaml_and_a_checkpoint_arrive_identical_with_batched_rows() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = offer_script(
        &setup,
        101,
        "echo epoch,loss > metrics.csv; rows 1 60
             printf 'lr: 0.1\\nbatch: 32\\n' > params.yaml
             mkdir -p ckpt && head -c 5000000 /dev/urandom > ckpt/model.bin
             rows 61 80",
    );
    succeeded_in_sync(&setup, attempt, &[]).await;
    let (csv, appends) = setup.server.work(|w| {
        let csv = String::from_utf8_lossy(w.files.copy(attempt, "metrics.csv").unwrap_or_default())
            .into_owned();
        (csv, w.files.requests_for("metrics.csv"))
    });
    let mut rows: Vec<&str> = csv.lines().skip(1).collect();
    assert_eq!(rows.len(), 80);
    rows.dedup();
    assert_eq!(rows.len(), 80, "duplicated rows");
    // Rows that accumulate between passes go out together.
    assert!(appends.len() < 40, "{} requests for 80 rows", appends.len());
    assert!(appends.iter().all(|r| r.op == Op::Append));
    // The 5 MB checkpoint went whole, in two chunks, once.
    let chunks: Vec<u64> = setup
        .server
        .work(|w| w.files.requests_for("ckpt/model.bin"))
        .iter()
        .map(|r| r.offset)
        .collect();
    assert_eq!(chunks, [0, 4 * MIB]);
    agent.shut_down().await;
}

#[tokio::test]
async fn an_outage_mid_run_ends_with_identical_copies() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = offer_script(
        &setup,
        102,
        &format!(
            "echo epoch,loss > metrics.csv; rows 1 10; {WAIT_FOR_GO}
             rows 11 40; head -c 300000 /dev/urandom > weights.bin; echo done > done.txt"
        ),
    );
    server_copy_contains(&setup, attempt, "metrics.csv", "\n10,").await;
    setup.server.work(|w| w.down = true);
    setup.go(attempt);
    eventually("the job to go on during the outage", || {
        setup
            .run_dir(attempt)
            .join("done.txt")
            .exists()
            .then_some(())
    })
    .await;
    setup.server.work(|w| w.down = false);
    succeeded_in_sync(&setup, attempt, &[]).await;
    agent.shut_down().await;
}

#[tokio::test]
async fn an_offset_mismatch_continues_from_the_server_size() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    // Writing on for longer than a pass and its batching delay, so a pass
    // while it runs meets the gap.
    let attempt = offer_script(
        &setup,
        103,
        &format!(
            "echo epoch,loss > metrics.csv; rows 1 30; {WAIT_FOR_GO}; rows 31 100; sleep 4; rows 101 200"
        ),
    );
    server_copy_contains(&setup, attempt, "metrics.csv", "\n30,").await;
    // The server "loses" the second half of what it had.
    setup.server.work(|w| {
        if let Some(copy) = w.files.copy_mut(attempt, "metrics.csv") {
            copy.truncate(copy.len() / 2);
        }
    });
    setup.go(attempt);
    succeeded_in_sync(&setup, attempt, &[]).await;
    let conflicts = setup.server.work(|w| {
        w.files
            .requests_for("metrics.csv")
            .iter()
            .filter(|r| r.status == StatusCode::CONFLICT)
            .count()
    });
    assert!(conflicts >= 1, "the agent never hit the gap");
    agent.shut_down().await;
}

#[tokio::test]
async fn a_hash_mismatch_is_resent_and_accepted() {
    let setup = Setup::new().await;
    setup.server.work(|w| w.files.hash_failures = 1);
    let agent = start(setup.config());
    let attempt = offer_script(&setup, 104, "echo epoch,loss > metrics.csv; rows 1 20");
    succeeded_in_sync(&setup, attempt, &[]).await;
    let statuses: Vec<StatusCode> = setup
        .server
        .work(|w| w.files.requests.iter().map(|r| r.status).collect());
    assert_eq!(statuses[0], StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        statuses[1..].iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    agent.shut_down().await;
}

#[tokio::test]
async fn an_interrupted_upload_resumes_where_the_server_stopped() {
    let setup = Setup::new().await;
    setup
        .server
        .work(|w| w.files.break_upload_at = Some(("ckpt.bin".into(), 4 * MIB)));
    let agent = start(setup.config());
    let attempt = offer_script(
        &setup,
        105,
        &format!("head -c 10000000 /dev/urandom > ckpt.bin; {WAIT_FOR_GO}"),
    );
    let broken = request_seen(&setup, "the broken chunk", |r| {
        r.path == "ckpt.bin" && r.status == StatusCode::INTERNAL_SERVER_ERROR
    })
    .await;
    // The server "restarts" while the agent retries.
    assert!(setup.server.work(|w| w.down));
    setup.server.work(|w| w.down = false);
    setup.go(attempt);
    succeeded_in_sync(&setup, attempt, &[]).await;
    let after: Vec<u64> = setup.server.work(|w| {
        w.files.requests[broken + 1..]
            .iter()
            .filter(|r| r.path == "ckpt.bin")
            .map(|r| r.offset)
            .collect()
    });
    assert_eq!(
        after,
        [4 * MIB, 8 * MIB],
        "the upload did not resume at 4 MiB"
    );
    agent.shut_down().await;
}

#[tokio::test]
async fn a_csv_rewritten_with_a_new_column_is_sent_whole_then_appended() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = offer_script(
        &setup,
        106,
        &format!(
            "echo epoch,loss > metrics.csv; rows 1 20; {WAIT_FOR_GO}
             sed 's/$/,0.9/; 1s/,0.9$/,acc/' metrics.csv > new.tmp && mv new.tmp metrics.csv
             rows 21 30"
        ),
    );
    server_copy_contains(&setup, attempt, "metrics.csv", "\n20,").await;
    setup.go(attempt);
    succeeded_in_sync(&setup, attempt, &[]).await;
    let (csv, uploads) = setup.server.work(|w| {
        let csv = String::from_utf8_lossy(w.files.copy(attempt, "metrics.csv").unwrap_or_default())
            .into_owned();
        let uploads = w
            .files
            .requests_for("metrics.csv")
            .iter()
            .filter(|r| r.op == Op::Upload)
            .count();
        (csv, uploads)
    });
    assert!(csv.starts_with("epoch,loss,acc\n1,0.1,0.9\n"), "{csv}");
    assert!(csv.ends_with("\n30,0.30\n"), "{csv}");
    assert!(uploads >= 1, "the rewrite was not sent whole");
    agent.shut_down().await;
}

#[tokio::test]
async fn a_pandas_style_rewrite_with_one_more_row_is_a_plain_append() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = offer_script(
        &setup,
        107,
        &format!(
            "echo epoch,loss > metrics.csv; rows 1 20; {WAIT_FOR_GO}
             cp metrics.csv new.tmp && echo 21,0.21 >> new.tmp && mv new.tmp metrics.csv"
        ),
    );
    server_copy_contains(&setup, attempt, "metrics.csv", "\n20,").await;
    setup.go(attempt);
    succeeded_in_sync(&setup, attempt, &[]).await;
    let requests = setup.server.work(|w| w.files.requests_for("metrics.csv"));
    assert!(requests.iter().all(|r| r.op == Op::Append), "{requests:?}");
    agent.shut_down().await;
}

#[tokio::test]
async fn files_with_bad_names_are_skipped_and_the_rest_syncs() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = offer_script(
        &setup,
        108,
        "echo a > 'back\\slash.csv'; printf 'x' > \"$(printf 'bell\\007.txt')\"
             mkdir -p \"$(printf 'tab\\tdir')\" && echo b > \"$(printf 'tab\\tdir')/inner.txt\"
             echo epoch,loss > metrics.csv; rows 1 5",
    );
    let skipped = ["back\\slash.csv", "bell\u{7}.txt", "tab\tdir/inner.txt"];
    succeeded_in_sync(&setup, attempt, &skipped).await;
    let names = run_files(&setup.run_dir(attempt));
    assert!(
        names.iter().any(|(path, _)| path == "back\\slash.csv"),
        "{names:?}"
    );
    setup.server.work(|w| {
        assert!(w
            .files
            .requests
            .iter()
            .all(|r| !skipped.contains(&r.path.as_str())));
        assert!(w
            .files
            .requests
            .iter()
            .all(|r| r.status != StatusCode::BAD_REQUEST));
    });
    agent.shut_down().await;
}

#[tokio::test]
async fn compressible_chunks_travel_gzipped_and_random_ones_do_not() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = offer_script(&setup, 109, "i=0; while [ $i -lt 3000 ]; do echo \"{\\\"step\\\": $i, \\\"loss\\\": 0.5}\"; i=$((i+1)); done > events.jsonl
             head -c 2000000 /dev/urandom > noise.bin");
    succeeded_in_sync(&setup, attempt, &[]).await;
    setup.server.work(|w| {
        let events = w.files.requests_for("events.jsonl");
        assert!(events.iter().any(|r| r.gzip && r.len > 1024), "{events:?}");
        let noise = w.files.requests_for("noise.bin");
        assert!(
            !noise.is_empty() && noise.iter().all(|r| !r.gzip),
            "{noise:?}"
        );
    });
    agent.shut_down().await;
}

#[tokio::test]
async fn a_file_past_the_server_limit_is_given_up_and_finished_still_arrives() {
    let setup = Setup::new().await;
    setup.server.work(|w| w.files.max_file_bytes = Some(MIB));
    let agent = start(setup.config());
    let attempt = offer_script(
        &setup,
        110,
        "head -c 2000000 /dev/urandom > big.bin; echo 'a: 1' > small.yaml",
    );
    succeeded_in_sync(&setup, attempt, &["big.bin"]).await;
    let big = setup.server.work(|w| w.files.requests_for("big.bin"));
    assert_eq!(big.len(), 1, "{big:?}");
    assert_eq!(big[0].status, StatusCode::PAYLOAD_TOO_LARGE);
    agent.shut_down().await;
}

#[tokio::test]
async fn absurd_acknowledgements_neither_panic_nor_stop_the_job() {
    let setup = Setup::new().await;
    setup.server.work(|w| w.files.absurd_acks = 4);
    let agent = start(setup.config());
    let attempt = offer_script(
        &setup,
        112,
        "echo epoch,loss > metrics.csv; rows 1 20; echo 'a: 1' > small.yaml",
    );
    succeeded_in_sync(&setup, attempt, &[]).await;
    assert_eq!(setup.server.work(|w| w.files.absurd_acks), 0);
    agent.shut_down().await;
}

#[tokio::test]
async fn a_restarted_agent_completes_the_files_from_the_server_status() {
    let setup = Setup::new().await;
    let agent = start(setup.config());
    let attempt = offer_script(
        &setup,
        111,
        &format!(
            "echo epoch,loss > metrics.csv; rows 1 20; {}
             head -c 10000000 /dev/urandom > ckpt.bin; {WAIT_FOR_GO}; rows 21 40",
            wait_for("go1")
        ),
    );
    server_copy_contains(&setup, attempt, "metrics.csv", "\n20,").await;
    // The server goes down in the middle of the checkpoint.
    setup
        .server
        .work(|w| w.files.break_upload_at = Some(("ckpt.bin".into(), 4 * MIB)));
    touch(&setup, attempt, "go1");
    request_seen(&setup, "the broken chunk", |r| {
        r.path == "ckpt.bin" && r.status == StatusCode::INTERNAL_SERVER_ERROR
    })
    .await;
    setup.go(attempt);
    outcome_spooled(&setup, attempt).await;
    agent.crash().await;

    let (before, csv_size) = setup.server.work(|w| {
        w.down = false;
        let csv = w.files.copy(attempt, "metrics.csv").map_or(0, <[u8]>::len);
        (w.files.requests.len(), csv as u64)
    });
    let agent = start(setup.config());
    succeeded_in_sync(&setup, attempt, &[]).await;
    let after: Vec<FileRequest> = setup.server.work(|w| w.files.requests[before..].to_vec());
    let ckpt: Vec<u64> = after
        .iter()
        .filter(|r| r.path == "ckpt.bin")
        .map(|r| r.offset)
        .collect();
    assert_eq!(
        ckpt,
        [4 * MIB, 8 * MIB],
        "the upload did not resume at 4 MiB"
    );
    let csv: Vec<u64> = after
        .iter()
        .filter(|r| r.path == "metrics.csv")
        .map(|r| r.offset)
        .collect();
    assert_eq!(csv.first(), Some(&csv_size), "{csv:?}");
    agent.shut_down().await;
}
