//! Components with a real server and a real agent: the process sees the
//! store's active version; a worker's local edit under each strategy; an
//! answer given over the API carried out at the next sync; restore is byte
//! for byte; a re-run pinned to old code runs it after a newer version; an
//! unanswered question survives a server restart; `trainyard components
//! sync` does a worker's sync from a shell.

use std::path::Path;

use serde_json::json;
use trainyard_core::components::{ConflictNotice, Envelope, JobManifest};
use trainyard_core::sync::xxh3_hex;
use trainyard_core::JobStatus;

use crate::harness::{get_json, KEY};
use crate::jobs_support::{
    killable_server_with_agent, log_of, server_with_agent, submit, wait_status,
};
use crate::killable::KillableServer;
use trainyard_server::components_cli::{self, ComponentsArgs, ComponentsCommand};

async fn upload(base: &str, path: &str, content: &str) -> String {
    let answer: Envelope<serde_json::Value> = reqwest::Client::new()
        .post(format!("{base}/api/v1/components/versions/upload"))
        .bearer_auth(KEY)
        .json(&json!({"path": path, "content": content}))
        .send()
        .await
        .expect("the request is sent")
        .json()
        .await
        .expect("the answer is JSON");
    answer.data["hash"].as_str().expect("a hash").to_string()
}

async fn active(base: &str, category: &str, name: &str) -> String {
    let versions: Envelope<Vec<serde_json::Value>> = get_json(
        base,
        &format!("/api/v1/components/versions/{category}/{name}"),
    )
    .await;
    versions
        .data
        .iter()
        .find(|v| v["is_active"] == true)
        .and_then(|v| v["hash"].as_str())
        .expect("an active version")
        .to_string()
}

/// A job that prints model/toy.py as its worker has it, in `workdir`.
fn job(workdir: &Path, sync: &str) -> String {
    format!(
        "gpus: 0\nworkdir: {}\nmodel: toy\nsync: {sync}\ncode: [train.py]\ncommand: [sh, -c, \"cat cvlabkit/component/model/toy.py\"]\n",
        workdir.display()
    )
}

async fn run(base: &str, yaml: &str) -> (i64, String) {
    let id = submit(base, yaml).await.jobs[0].id;
    wait_status(base, id, JobStatus::Succeeded).await;
    (id, log_of(base, id).await)
}

fn local_toy(workdir: &Path) -> std::path::PathBuf {
    workdir.join("cvlabkit/component/model/toy.py")
}

#[tokio::test]
async fn the_process_runs_the_active_version_and_local_edits_follow_the_strategy() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("the workdir");
    std::fs::write(work.join("train.py"), "print('train')\n").expect("written");
    let (_server, base, agent) = server_with_agent(dir.path(), 1).await;
    let v1 = upload(&base, "model/toy.py", "V = 'one'\n").await;

    // Downloaded before the process starts; the process sees it.
    let (first, log) = run(&base, &job(&work, "interactive")).await;
    assert!(log.contains("V = 'one'"), "{log}");
    assert!(
        log.contains("1 downloaded"),
        "the sync is at the top of the log: {log}"
    );
    let manifest: JobManifest = get_json(&base, &format!("/api/v1/jobs/{first}/manifest")).await;
    let entries: Vec<(&str, &str, bool)> = manifest
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.hash.as_str(), e.code))
        .collect();
    let train = xxh3_hex(b"print('train')\n");
    assert_eq!(
        entries,
        [
            ("model/toy.py", v1.as_str(), false),
            ("train.py", train.as_str(), true)
        ]
    );

    // A newer version on the server replaces the worker's copy next time.
    let v2 = upload(&base, "model/toy.py", "V = 'two'\n").await;
    let (_, log) = run(&base, &job(&work, "interactive")).await;
    assert!(log.contains("V = 'two'"), "{log}");

    // A worker's edit, per strategy.
    std::fs::write(local_toy(&work), "V = 'mine'\n").expect("the local edit");
    let mine = xxh3_hex(b"V = 'mine'\n");
    let (_, log) = run(&base, &job(&work, "dry_run")).await;
    assert!(
        log.contains("V = 'mine'"),
        "a dry run changes nothing: {log}"
    );
    let (_, log) = run(&base, &job(&work, "server_authoritative")).await;
    assert!(log.contains("V = 'two'"), "the store wins: {log}");
    assert_eq!(active(&base, "model", "toy").await, v2);
    std::fs::write(local_toy(&work), "V = 'mine'\n").expect("the local edit");
    let (_, log) = run(&base, &job(&work, "local_priority")).await;
    assert!(log.contains("V = 'mine'"), "{log}");
    assert_eq!(
        active(&base, "model", "toy").await,
        mine,
        "uploaded and activated"
    );

    // Interactive: the edit runs, a person is asked, the answer is carried
    // out at the next sync.
    upload(&base, "model/toy.py", "V = 'three'\n").await;
    let (_, log) = run(&base, &job(&work, "interactive")).await;
    assert!(
        log.contains("V = 'three'"),
        "a known old version is replaced: {log}"
    );
    std::fs::write(local_toy(&work), "V = 'edited again'\n").expect("the local edit");
    let (_, log) = run(&base, &job(&work, "interactive")).await;
    assert!(
        log.contains("V = 'edited again'"),
        "the local change ran: {log}"
    );
    let open: Envelope<Vec<ConflictNotice>> =
        get_json(&base, "/api/v1/components/notices?open=true").await;
    assert_eq!(open.data.len(), 1, "{:?}", open.data);
    let answered = reqwest::Client::new()
        .post(format!(
            "{base}/api/v1/components/notices/{}",
            open.data[0].id
        ))
        .bearer_auth(KEY)
        .json(&json!({"choice": "download"}))
        .send()
        .await
        .expect("the request is sent");
    assert!(answered.status().is_success());
    let (_, log) = run(&base, &job(&work, "interactive")).await;
    assert!(
        log.contains("V = 'three'"),
        "the store's version replaced the edit: {log}"
    );
    agent.kill();
}

#[tokio::test]
async fn restore_is_byte_for_byte_and_an_exact_rerun_runs_the_old_code() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("the workdir");
    std::fs::write(work.join("train.py"), "print('é, 1')\r\n").expect("written");
    let (_server, base, agent) = server_with_agent(dir.path(), 1).await;
    upload(&base, "model/toy.py", "V = 'old'\n").await;
    let (first, _) = run(&base, &job(&work, "interactive")).await;

    let restored = dir.path().join("restored");
    trainyard_server::components_cli::run(trainyard_server::components_cli::ComponentsArgs {
        command: trainyard_server::components_cli::ComponentsCommand::Restore {
            job: first,
            dir: restored.clone(),
        },
        server: trainyard_server::remote::ServerArgs {
            url: base.clone(),
            api_key: Some(KEY.into()),
        },
    })
    .await
    .expect("the restore");
    for rel in ["cvlabkit/component/model/toy.py", "train.py"] {
        assert_eq!(
            std::fs::read(restored.join(rel)).expect("restored"),
            std::fs::read(work.join(rel)).expect("the original"),
            "{rel}"
        );
    }

    upload(&base, "model/toy.py", "V = 'new'\n").await;
    let exact: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/jobs/{first}/rerun?exact=true"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request is sent")
        .json()
        .await
        .expect("the answer is JSON");
    let id = exact["id"].as_i64().expect("the new job");
    assert_eq!(exact["code_from"].as_i64(), Some(first));
    wait_status(&base, id, JobStatus::Succeeded).await;
    let log = log_of(&base, id).await;
    assert!(log.contains("V = 'old'"), "the pinned code ran: {log}");
    assert!(
        log.contains(&format!("the exact code of job {first}")),
        "{log}"
    );

    // Bad input: a job that never synced has no manifest to pin to.
    let missing = reqwest::Client::new()
        .post(format!("{base}/api/v1/jobs/999999/rerun?exact=true"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(missing.status(), 404);
    agent.kill();
}

async fn open_notices(base: &str) -> Vec<ConflictNotice> {
    let open: Envelope<Vec<ConflictNotice>> =
        get_json(base, "/api/v1/components/notices?open=true").await;
    open.data
}

async fn versions_count(base: &str) -> usize {
    let all: Envelope<Vec<serde_json::Value>> = get_json(base, "/api/v1/components/versions").await;
    all.data.len()
}

async fn cli_sync(base: &str, config: &Path, dir: &Path, strategy: &str) -> anyhow::Result<()> {
    components_cli::run(ComponentsArgs {
        command: ComponentsCommand::Sync {
            config: config.to_path_buf(),
            dir: dir.to_path_buf(),
            strategy: Some(strategy.parse().expect("a strategy")),
        },
        server: trainyard_server::remote::ServerArgs {
            url: base.to_string(),
            api_key: Some(KEY.into()),
        },
    })
    .await
}

#[tokio::test]
async fn a_question_survives_a_restart_and_the_cli_syncs_a_shell_dir() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("the workdir");
    std::fs::write(work.join("train.py"), "print('train')\n").expect("written");
    let (settings, server, base, agent) = killable_server_with_agent(dir.path()).await;
    let v1 = upload(&base, "model/toy.py", "V = 'one'\n").await;
    run(&base, &job(&work, "interactive")).await;
    std::fs::write(local_toy(&work), "V = 'worker'\n").expect("the local edit");
    run(&base, &job(&work, "interactive")).await;
    let asked = open_notices(&base).await;
    assert_eq!(asked.len(), 1, "{asked:?}");

    server.kill();
    let server = KillableServer::start(settings).await;
    assert_eq!(
        open_notices(&base).await,
        asked,
        "the unanswered question is still there after a restart"
    );

    // A shell's sync: the store's version is written, ...
    let shell = dir.path().join("shell");
    let config = dir.path().join("cfg.yaml");
    std::fs::write(&config, "model: toy\ncommand: x\n").expect("the config");
    cli_sync(&base, &config, &shell, "server_authoritative")
        .await
        .expect("the sync");
    let file = shell.join("cvlabkit/component/model/toy.py");
    assert_eq!(
        std::fs::read_to_string(&file).expect("written"),
        "V = 'one'\n"
    );
    // ... a dry run changes nothing anywhere, ...
    std::fs::write(&file, "V = 'shell'\n").expect("the local edit");
    let before = versions_count(&base).await;
    cli_sync(&base, &config, &shell, "dry_run")
        .await
        .expect("the dry run");
    assert_eq!(
        std::fs::read_to_string(&file).expect("kept"),
        "V = 'shell'\n"
    );
    assert_eq!(active(&base, "model", "toy").await, v1);
    assert_eq!(versions_count(&base).await, before);
    // ... and local_priority makes the shell's edit the active version.
    cli_sync(&base, &config, &shell, "local_priority")
        .await
        .expect("the sync");
    assert_eq!(
        active(&base, "model", "toy").await,
        xxh3_hex(b"V = 'shell'\n")
    );

    // Bad input: a broken config names itself and its line; nothing changes.
    std::fs::write(&config, "model: toy\ncommand: [x\n").expect("the config");
    let before = versions_count(&base).await;
    let error = cli_sync(&base, &config, &shell, "local_priority")
        .await
        .expect_err("a broken config is refused")
        .to_string();
    assert!(
        error.contains("cfg.yaml") && error.contains("line"),
        "{error}"
    );
    assert_eq!(versions_count(&base).await, before);
    agent.kill();
    server.kill();
}
