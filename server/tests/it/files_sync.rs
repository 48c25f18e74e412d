//! Run files from a real agent to a real server: the server is killed like
//! `kill -9` and later stopped gracefully while the job writes a CSV, a
//! rewritten checkpoint and a YAML; afterwards every file on the server is
//! byte-identical to the agent's (same xxh3) and every CSV row was indexed
//! exactly once. Plus the REST surface's bad input.

use std::time::Duration;

use trainyard_core::sync::{xxh3_hex, FileEntry};
use trainyard_core::{JobStatus, MetricSummary};

use crate::harness::{get_json, until, TestServer, KEY};
use crate::jobs_support::{killable_server_with_agent, server_with_agent, submit, wait_status};
use crate::killable::KillableServer;

/// Rows the job writes, one every 50 ms.
const ROWS: usize = 200;

fn job_yaml() -> String {
    let script = format!(
        r#"
import os, time
d = os.environ["TRAINYARD_RUN_DIR"]
os.makedirs(os.path.join(d, "ckpt"), exist_ok=True)
with open(os.path.join(d, "metrics.csv"), "w") as f:
    f.write("step,loss\n")
for i in range({ROWS}):
    with open(os.path.join(d, "metrics.csv"), "a") as f:
        f.write("%d,%.6f\n" % (i, 1.0 / (i + 1)))
    if i % 40 == 0:
        with open(os.path.join(d, "ckpt", "model.pt"), "wb") as f:
            f.write(os.urandom(3_000_000))
    time.sleep(0.05)
with open(os.path.join(d, "summary.yaml"), "w") as f:
    f.write("done: true\nrows: {ROWS}\n")
"#
    );
    format!(
        "gpus: 1\ncommand: [\"python3\", \"-c\", {}]\n",
        serde_json::to_string(&script).expect("it serializes")
    )
}

async fn server_file_size(base: &str, id: i64, path: &str) -> Option<u64> {
    let files: Vec<FileEntry> = get_json(base, &format!("/api/v1/runs/{id}/files")).await;
    files.into_iter().find(|f| f.path == path).map(|f| f.size)
}

#[tokio::test]
async fn files_come_home_byte_identical_across_a_killed_and_a_stopped_server() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (cfg, server, base, agent) = killable_server_with_agent(dir.path()).await;
    let id = submit(&base, &job_yaml()).await.jobs[0].id;
    wait_status(&base, id, JobStatus::Running).await;
    until("CSV rows reach the server", || async {
        server_file_size(&base, id, "metrics.csv")
            .await
            .filter(|size| *size > 100)
    })
    .await;

    // Outage 1: killed like kill -9, for 2 s.
    server.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server = TestServer::start(cfg.clone()).await;
    let before = server_file_size(&base, id, "metrics.csv")
        .await
        .unwrap_or(0);
    until("the CSV grows again", || async {
        server_file_size(&base, id, "metrics.csv")
            .await
            .filter(|size| *size > before)
    })
    .await;

    // Outage 2: a graceful stop, for 2 s, while the job still writes.
    server.stop().await.expect("the server stops");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let server = TestServer::start(cfg).await;

    let done = wait_status(&base, id, JobStatus::Succeeded).await;
    assert_eq!(done.attempts.len(), 1, "the job ran once");
    let run_dir = dir.path().join(format!("agent/runs/{id}-1"));
    let files: Vec<FileEntry> = get_json(&base, &format!("/api/v1/runs/{id}/files")).await;
    for name in [
        "metrics.csv",
        "ckpt/model.pt",
        "summary.yaml",
        "config.yaml",
    ] {
        let local = std::fs::read(run_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let remote = files
            .iter()
            .find(|f| f.path == name)
            .unwrap_or_else(|| panic!("{name} missing on the server: {files:?}"));
        assert_eq!(remote.size, local.len() as u64, "{name} size");
        assert_eq!(remote.xxh3, xxh3_hex(&local), "{name} hash");
    }
    assert!(
        !files.iter().any(|f| f.path == "state.json"),
        "agent bookkeeping is not a run file"
    );
    // Downloading gives the same bytes; every CSV row once.
    let csv = reqwest::Client::new()
        .get(format!("{base}/api/v1/runs/{id}/files/metrics.csv"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request is sent")
        .bytes()
        .await
        .expect("bytes");
    let text = String::from_utf8_lossy(&csv);
    assert_eq!(text.lines().count(), ROWS + 1, "header + one line per row");
    let keys: Vec<MetricSummary> = get_json(&base, &format!("/api/v1/runs/{id}/metrics")).await;
    let loss = keys
        .iter()
        .find(|k| k.key == "loss")
        .unwrap_or_else(|| panic!("no loss series: {keys:?}"));
    assert_eq!(
        loss.count, ROWS as u64,
        "every CSV row indexed exactly once"
    );
    agent.kill();
    server.stop().await.expect("the server stops");
}

async fn put(url: String, body: Vec<u8>, gzip: bool) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().put(url).bearer_auth(KEY).body(body);
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    let response = request.send().await.expect("the request is sent");
    let status = response.status().as_u16();
    let json = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, json)
}

#[tokio::test]
async fn bad_run_file_requests_get_clear_errors_and_write_nothing() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, base, agent) = server_with_agent(dir.path(), 1).await;
    let yaml = "gpus: 1\ncommand: [\"sleep\", \"30\"]\n";
    let id = submit(&base, yaml).await.jobs[0].id;
    wait_status(&base, id, JobStatus::Running).await;
    let at = format!("{base}/api/v1/agents/jobs/{id}/attempts/1");

    // Escaping paths: 400 bad_path, nothing outside the data dir.
    for bad in [
        "..%2Fescape.csv",
        "a/..%2F..%2Fescape.csv",
        "%2Fabs.csv",
        "a%5Cb.csv",
        "a//b.csv",
    ] {
        let (status, body) = put(
            format!("{at}/files/{bad}?offset=0&xxh3={}", xxh3_hex(b"x\n")),
            b"x\n".to_vec(),
            false,
        )
        .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["code"], "bad_path", "{bad}: {body}");
    }
    assert!(!dir.path().join("escape.csv").exists());
    assert!(!dir.path().join("runs").join("escape.csv").exists());

    // Wrong offset: 409 with the server's size.
    let (status, _) = put(
        format!("{at}/files/x.log?offset=0&xxh3={}", xxh3_hex(b"abc")),
        b"abc".to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = put(
        format!("{at}/files/x.log?offset=10&xxh3={}", xxh3_hex(b"def")),
        b"def".to_vec(),
        false,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str(), body["size"].as_u64()),
        (409, Some("offset_mismatch"), Some(3)),
        "{body}"
    );
    // Hash mismatch: 422.
    let (status, body) = put(
        format!("{at}/files/x.log?offset=3&xxh3={}", xxh3_hex(b"def")),
        b"DEF".to_vec(),
        false,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("hash_mismatch")),
        "{body}"
    );
    // Missing query, bad hex, broken gzip.
    let (status, body) = put(format!("{at}/files/x.log"), b"def".to_vec(), false).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_query")),
        "{body}"
    );
    let (status, _) = put(
        format!("{at}/files/x.log?offset=3&xxh3=zz"),
        b"def".to_vec(),
        false,
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = put(
        format!("{at}/files/x.log?offset=3&xxh3={}", xxh3_hex(b"def")),
        b"not gzip".to_vec(),
        true,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_body")),
        "{body}"
    );
    // Gzip that inflates right is accepted.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, b"def").expect("write all");
    let gz = gz.finish().expect("finish");
    let (status, body) = put(
        format!("{at}/files/x.log?offset=3&xxh3={}", xxh3_hex(b"def")),
        gz,
        true,
    )
    .await;
    assert_eq!((status, body["size"].as_u64()), (200, Some(6)), "{body}");
    // Too large for the server: 413.
    let (status, body) = put(
        format!(
            "{at}/uploads/huge.pt?size={}&xxh3=1&offset=0&chunk_xxh3={}",
            1u64 << 50,
            xxh3_hex(b"")
        ),
        Vec::new(),
        false,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );
    // A report for an attempt that is not current: superseded.
    let (status, body) = put(
        format!(
            "{base}/api/v1/agents/jobs/{id}/attempts/7/files/x.log?offset=0&xxh3={}",
            xxh3_hex(b"a")
        ),
        b"a".to_vec(),
        false,
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("superseded")),
        "{body}"
    );
    // What was stored is intact, and downloads of unknown or escaping files are refused.
    let files: Vec<FileEntry> = get_json(&base, &format!("/api/v1/runs/{id}/files")).await;
    let log = files
        .iter()
        .find(|f| f.path == "x.log")
        .unwrap_or_else(|| panic!("{files:?}"));
    assert_eq!(log.xxh3, xxh3_hex(b"abcdef"));
    for (path, want) in [("nope.txt", 404), ("..%2Ftrainyard.db", 400)] {
        let status = reqwest::Client::new()
            .get(format!("{base}/api/v1/runs/{id}/files/{path}"))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("the request is sent")
            .status()
            .as_u16();
        assert_eq!(status, want, "{path}");
    }
    agent.kill();
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn a_checkpoint_upload_cut_by_a_killed_server_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().expect("a temp dir");
    // A real agent runs the job (and keeps its lease); this test uploads a
    // checkpoint for that attempt itself, chunk by chunk, like an agent would.
    let (cfg, server, base, agent) = killable_server_with_agent(dir.path()).await;
    let id = submit(&base, "gpus: 1\ncommand: [\"sleep\", \"60\"]\n")
        .await
        .jobs[0]
        .id;
    wait_status(&base, id, JobStatus::Running).await;
    let checkpoint: Vec<u8> = (0..12u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let chunk = 4 << 20;
    let url = |offset: usize, len: usize| {
        format!(
            "{base}/api/v1/agents/jobs/{id}/attempts/1/uploads/ckpt/model.pt?size={}&xxh3={}&offset={offset}&chunk_xxh3={}",
            checkpoint.len(),
            xxh3_hex(&checkpoint),
            xxh3_hex(&checkpoint[offset..offset + len])
        )
    };
    let (status, body) = put(url(0, chunk), checkpoint[..chunk].to_vec(), false).await;
    assert_eq!(
        (status, body["received"].as_u64()),
        (200, Some(chunk as u64)),
        "{body}"
    );

    server.kill();
    let server = KillableServer::start(cfg).await;
    let status: trainyard_core::sync::SyncStatus =
        get_json(&base, &format!("/api/v1/agents/jobs/{id}/attempts/1/files")).await;
    assert_eq!(status.uploads.len(), 1, "{status:?}");
    assert_eq!(
        status.uploads[0].received, chunk as u64,
        "the staged part survived kill -9"
    );
    // Starting over is refused with where to resume; resuming completes it.
    let (code, body) = put(
        url(2 * chunk, chunk),
        checkpoint[2 * chunk..3 * chunk].to_vec(),
        false,
    )
    .await;
    assert_eq!(
        (code, body["size"].as_u64()),
        (409, Some(chunk as u64)),
        "{body}"
    );
    for offset in [chunk, 2 * chunk] {
        let (code, body) = put(
            url(offset, chunk),
            checkpoint[offset..offset + chunk].to_vec(),
            false,
        )
        .await;
        assert_eq!(code, 200, "{body}");
    }
    let files: Vec<FileEntry> = get_json(&base, &format!("/api/v1/runs/{id}/files")).await;
    let model = files
        .iter()
        .find(|f| f.path == "ckpt/model.pt")
        .unwrap_or_else(|| panic!("{files:?}"));
    assert_eq!(
        (model.size, model.xxh3.clone()),
        (checkpoint.len() as u64, xxh3_hex(&checkpoint))
    );
    agent.kill();
    server.kill();
}
