//! A job writing a TensorBoard event file in pieces (records cut mid-way,
//! as a writer flushes) through a real agent: the file is append-synced,
//! arrives byte-identical, and its scalars are indexed live, exactly once.

use std::path::PathBuf;

use trainyard_core::sync::{xxh3_hex, FileEntry, SyncKind};
use trainyard_core::{JobStatus, MetricSummary};

use crate::harness::{get_json, until};
use crate::jobs_support::{server_with_agent, submit, wait_status};

const FILE: &str = "events.out.tfevents.1700000000.fixture";

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/tests/fixtures/tensorboard/logs/cifar/scalars")
        .join(FILE)
}

#[tokio::test]
async fn a_growing_event_file_is_synced_and_indexed_live_exactly_once() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (server, base, agent) = server_with_agent(dir.path(), 1).await;
    let source = fixture();
    let script = format!(
        r#"
import os, time
src = open({src:?}, "rb").read()
d = os.path.join(os.environ["TRAINYARD_RUN_DIR"], "tb")
os.makedirs(d, exist_ok=True)
cut = [0, 1000, 7777, 20001, 33333, len(src)]
with open(os.path.join(d, {FILE:?}), "wb") as f:
    for a, b in zip(cut, cut[1:]):
        f.write(src[a:b])
        f.flush()
        time.sleep(0.7)
"#,
        src = source.to_string_lossy(),
    );
    let yaml = format!(
        "gpus: 1\ncommand: [\"python3\", \"-c\", {}]\n",
        serde_json::to_string(&script).expect("it serializes")
    );
    let id = submit(&base, &yaml).await.jobs[0].id;
    let path = format!("tb/{FILE}");
    // Indexed as the appends arrive (not asserted to be before the end: timing).
    until("the first scalars are indexed", || async {
        let keys: Vec<MetricSummary> = get_json(&base, &format!("/api/v1/runs/{id}/metrics")).await;
        keys.iter()
            .find(|k| k.key == "tb/val/accuracy" && k.count > 0)
            .map(|k| k.count)
    })
    .await;
    wait_status(&base, id, JobStatus::Succeeded).await;
    let files: Vec<FileEntry> = get_json(&base, &format!("/api/v1/runs/{id}/files")).await;
    let local = std::fs::read(&source).expect("the fixture is read");
    let remote = files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} missing: {files:?}"));
    assert_eq!(remote.kind, SyncKind::Append);
    assert_eq!(
        (remote.size, remote.xxh3.as_str()),
        (local.len() as u64, xxh3_hex(&local).as_str())
    );
    let keys: Vec<MetricSummary> = get_json(&base, &format!("/api/v1/runs/{id}/metrics")).await;
    let counts: Vec<(&str, u64)> = keys.iter().map(|k| (k.key.as_str(), k.count)).collect();
    assert_eq!(
        counts,
        [
            ("tb/lr", 300),
            ("tb/train/loss", 300),
            ("tb/val/accuracy", 300)
        ]
    );
    let problems: Vec<serde_json::Value> =
        get_json(&base, &format!("/api/v1/runs/{id}/problems")).await;
    assert!(problems.is_empty(), "{problems:?}");
    agent.kill();
    server.stop().await.expect("the server stops");
}
