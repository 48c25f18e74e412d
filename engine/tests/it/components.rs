//! The components store through the engine: versions, activation, scans,
//! bad input; the sync plan under every strategy and conflict; answers
//! carried out at the next sync; copies checked against the plan; pinned
//! re-runs; manifests.

use std::collections::BTreeMap;

use trainyard_core::components::{
    ActivateRequest, ConflictKind, CopyUploadQuery, LocalCopy, Resolution, SyncAction, SyncPlan,
    SyncRequest, SyncStrategy, UploadRequest,
};
use trainyard_core::sync::xxh3_hex;
use trainyard_core::work::{AttemptRef, PollRequest};
use trainyard_core::{SubmitOptions, PROTOCOL_VERSION};
use trainyard_engine::{Actor, Engine, EngineError};

use crate::fixtures::{engine_with_settings, fresh, heartbeat};

fn tester() -> Actor {
    Actor::server("tester")
}

async fn upload(engine: &Engine, path: &str, content: &str, activate: bool) -> String {
    engine
        .upload_component(
            &UploadRequest {
                path: path.into(),
                content: content.into(),
                activate,
            },
            &tester(),
        )
        .await
        .expect("the upload is accepted")
        .hash
}

async fn active_of(engine: &Engine, category: &str, name: &str) -> Option<String> {
    engine
        .component_versions(category, name, false)
        .await
        .expect("the path has versions")
        .into_iter()
        .find(|v| v.is_active)
        .map(|v| v.hash)
}

/// A job from `yaml` running on host `h` as attempt 1.
async fn running(engine: &Engine, yaml: &str) -> AttemptRef {
    engine
        .ingest_heartbeat(heartbeat("h", 0))
        .expect("the heartbeat is accepted");
    let id = engine
        .submit(yaml, SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .id;
    let assigned = engine
        .poll(PollRequest {
            protocol_version: PROTOCOL_VERSION,
            host_id: "h".into(),
            free_gpus: vec![],
            free_cpu_slots: 1,
            free_job_slots: 10,
            running: vec![],
            wait_ms: 0,
        })
        .await
        .expect("the poll is answered")
        .assign;
    assert_eq!(assigned.len(), 1);
    AttemptRef {
        job_id: id,
        attempt: 1,
    }
}

/// Ends attempt `at` successfully (so the host's next poll starts afresh).
async fn finish(engine: &Engine, at: AttemptRef) {
    engine
        .attempt_finished(
            at,
            trainyard_core::work::FinishedReport {
                outcome: trainyard_core::work::Outcome::Succeeded,
                exit_code: Some(0),
                signal: None,
                error: None,
                duration_ms: 1,
                log_size: 0,
            },
        )
        .await
        .expect("the end is accepted");
}

fn copy(path: &str, content: Option<&str>) -> LocalCopy {
    LocalCopy {
        path: path.into(),
        hash: content.map(|c| xxh3_hex(c.as_bytes())),
    }
}

fn action_of(plan: &SyncPlan, path: &str) -> SyncAction {
    plan.steps
        .iter()
        .find(|s| s.path == path)
        .map(|s| s.action)
        .unwrap_or_else(|| panic!("no step for {path}: {plan:?}"))
}

#[tokio::test]
async fn same_content_is_one_version_and_a_paths_first_version_is_active() {
    let engine = fresh().await;
    let first = upload(&engine, "model/toy.py", "v = 1\n", false).await;
    assert_eq!(
        first,
        xxh3_hex(b"v = 1\n"),
        "the hash is xxh3-64 of the UTF-8 text"
    );
    assert_eq!(
        active_of(&engine, "model", "toy").await,
        Some(first.clone())
    );
    let again = engine
        .upload_component(
            &UploadRequest {
                path: "model/toy.py".into(),
                content: "v = 1\n".into(),
                activate: true,
            },
            &tester(),
        )
        .await
        .expect("the upload is accepted");
    assert!(!again.is_new, "same content, same version");
    let second = upload(&engine, "model/toy.py", "v = 2\n", false).await;
    assert_eq!(
        active_of(&engine, "model", "toy").await,
        Some(first.clone()),
        "an upload without activate leaves the active version"
    );
    // The same content under another path is a version of that path too.
    upload(&engine, "loss/toy.py", "v = 1\n", true).await;
    let versions = engine
        .component_versions("model", "toy", true)
        .await
        .expect("two versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].hash, second, "newest first");
    assert_eq!(versions[1].content.as_deref(), Some("v = 1\n"));
    let listed = engine.components(None).await.expect("the store lists");
    assert_eq!(listed.len(), 2);
}

#[tokio::test]
async fn activation_rolls_back_and_concurrent_activations_leave_one_active() {
    let engine = fresh().await;
    let v1 = upload(&engine, "model/toy.py", "v = 1\n", true).await;
    let v2 = upload(&engine, "model/toy.py", "v = 2\n", true).await;
    assert_eq!(active_of(&engine, "model", "toy").await, Some(v2.clone()));
    engine
        .activate_component(
            &ActivateRequest {
                hash: v1.clone(),
                path: None,
            },
            &tester(),
        )
        .await
        .expect("a rollback by hash alone");
    assert_eq!(active_of(&engine, "model", "toy").await, Some(v1.clone()));

    let mut racing = Vec::new();
    for round in 0..20 {
        let engine = engine.clone();
        let hash = if round % 2 == 0 {
            v1.clone()
        } else {
            v2.clone()
        };
        racing.push(tokio::spawn(async move {
            engine
                .activate_component(
                    &ActivateRequest {
                        hash,
                        path: Some("model/toy.py".into()),
                    },
                    &Actor::server("racer"),
                )
                .await
        }));
    }
    for task in racing {
        task.await
            .expect("the task ends")
            .expect("each activation is accepted");
    }
    let actives = engine
        .component_versions("model", "toy", false)
        .await
        .expect("versions")
        .into_iter()
        .filter(|v| v.is_active)
        .count();
    assert_eq!(actives, 1, "exactly one active version per path");
}

#[tokio::test]
async fn bad_input_is_refused_by_name_and_changes_nothing() {
    let engine = fresh().await;
    upload(&engine, "model/toy.py", "v = 1\n", true).await;
    let refuse = |path: &str, content: String| UploadRequest {
        path: path.into(),
        content,
        activate: true,
    };
    for (path, expected) in [
        ("widget/toy.py", "valid categories: agent, model"),
        ("model/../../etc/passwd", "is not <category>/<name>.py"),
        ("/model/x/y.py", "is not <category>/<name>.py"),
        ("model/0.456.py", "must be a Python identifier"),
    ] {
        match engine
            .upload_component(&refuse(path, "x".into()), &tester())
            .await
        {
            Err(e @ EngineError::BadComponentPath { .. }) => {
                assert!(e.to_string().contains(expected), "{path}: {e}");
            }
            other => panic!("{path}: expected a path refusal, got {other:?}"),
        }
    }
    let huge = "x".repeat(trainyard_core::components::MAX_COMPONENT_BYTES + 1);
    assert!(matches!(
        engine
            .upload_component(&refuse("model/big.py", huge), &tester())
            .await,
        Err(EngineError::ComponentTooLarge { .. })
    ));
    for hash in ["0123456789abcdef", "not-a-hash", "../../x"] {
        assert!(matches!(
            engine.component_by_hash(hash).await,
            Err(EngineError::ComponentNotFound(_))
        ));
    }
    assert!(matches!(
        engine
            .activate_component(
                &ActivateRequest {
                    hash: "0123456789abcdef".into(),
                    path: Some("model/toy.py".into()),
                },
                &tester()
            )
            .await,
        Err(EngineError::ComponentNotFound(_))
    ));
    assert!(matches!(
        engine.component_versions("model", "nothing", false).await,
        Err(EngineError::ComponentNotFound(_))
    ));
    assert!(matches!(
        engine.components(Some("widget")).await,
        Err(EngineError::BadComponentPath { .. })
    ));
    let listed = engine.components(None).await.expect("the store lists");
    assert_eq!(
        listed.len(),
        1,
        "nothing was stored by the refused requests"
    );
    assert_eq!(listed[0].version_count, 1);
}

#[tokio::test]
async fn a_scan_registers_new_content_and_a_rollback_survives_it() {
    let tree = tempfile::tempdir().expect("a temp dir");
    let write = |rel: &str, text: &str| {
        let file = tree.path().join(rel);
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("dirs");
        std::fs::write(file, text).expect("written");
    };
    write("cvlabkit/agent/classification.py", "A = 1\n");
    write("cvlabkit/component/model/toy.py", "v = 1\n");
    write("cvlabkit/component/model/_private.py", "skip\n");
    write("cvlabkit/component/base/base.py", "skip\n");
    write("cvlabkit/component/model/0bad.py", "skip\n");
    std::fs::write(
        tree.path().join("cvlabkit/component/model/binary.py"),
        [0xff, 0xfe],
    )
    .expect("written");
    let root = tree.path().to_path_buf();
    let engine = engine_with_settings(move |s| s.components_dir = Some(root)).await;
    let report = engine
        .scan_components(&tester())
        .await
        .expect("the scan runs");
    assert_eq!(
        (report.registered, report.new_versions),
        (2, 2),
        "{report:?}"
    );
    assert_eq!(report.skipped.len(), 2, "{:?}", report.skipped);

    write("cvlabkit/component/model/toy.py", "v = 2\n");
    let report = engine
        .scan_components(&tester())
        .await
        .expect("the scan runs");
    assert_eq!(report.new_versions, 1);
    let v2 = xxh3_hex(b"v = 2\n");
    assert_eq!(active_of(&engine, "model", "toy").await, Some(v2));
    // Roll back in the store; the unchanged tree does not undo it.
    let v1 = xxh3_hex(b"v = 1\n");
    engine
        .activate_component(
            &ActivateRequest {
                hash: v1.clone(),
                path: Some("model/toy.py".into()),
            },
            &tester(),
        )
        .await
        .expect("the rollback");
    engine
        .scan_components(&tester())
        .await
        .expect("the scan runs");
    assert_eq!(active_of(&engine, "model", "toy").await, Some(v1));

    let without = fresh().await;
    assert!(matches!(
        without.scan_components(&tester()).await,
        Err(EngineError::NoComponentsDir)
    ));
}

/// The store for the conflict table: a (server only), b (the worker has an
/// old version), c (the worker changed it), d (only the worker has it),
/// e (in step).
async fn conflict_store(engine: &Engine) {
    upload(engine, "model/a.py", "a\n", true).await;
    upload(engine, "model/b.py", "b1\n", true).await;
    upload(engine, "model/b.py", "b2\n", true).await;
    upload(engine, "model/c.py", "c\n", true).await;
    upload(engine, "model/e.py", "e\n", true).await;
}

fn conflict_request(strategy: SyncStrategy) -> SyncRequest {
    SyncRequest {
        strategy,
        components: vec![
            copy("model/a.py", None),
            copy("model/b.py", Some("b1\n")),
            copy("model/c.py", Some("c, edited\n")),
            copy("model/d.py", Some("d\n")),
            copy("model/e.py", Some("e\n")),
        ],
        code: vec![],
    }
}

const FIVE: &str = "command: x\ngpus: 0\nmodel: a | b | c | d | e\n";

#[tokio::test]
async fn the_plan_follows_every_strategy_for_every_conflict() {
    use SyncAction::*;
    let expected = [
        (
            SyncStrategy::ServerAuthoritative,
            [Download, Download, Download, UploadActive, Keep],
        ),
        (
            SyncStrategy::LocalPriority,
            [Download, Download, UploadActive, UploadActive, Keep],
        ),
        (
            SyncStrategy::Interactive,
            [Download, Download, Ask, UploadActive, Keep],
        ),
        (
            SyncStrategy::DryRun,
            [Nothing, Keep, KeepAndStore, UploadActive, Keep],
        ),
    ];
    for (strategy, actions) in expected {
        let engine = fresh().await;
        conflict_store(&engine).await;
        let at = running(&engine, FIVE).await;
        let plan = engine
            .sync_components(at, conflict_request(strategy))
            .await
            .expect("the plan");
        assert_eq!(plan.strategy, strategy);
        for (path, action) in ["a", "b", "c", "d", "e"].iter().zip(actions) {
            assert_eq!(
                action_of(&plan, &format!("model/{path}.py")),
                action,
                "model/{path}.py under {strategy}"
            );
        }
        let c = plan
            .steps
            .iter()
            .find(|s| s.path == "model/c.py")
            .expect("c");
        assert_eq!(c.conflict, Some(ConflictKind::LocalNewer));
        // Downloads carry their content; unseen local content is asked for.
        for step in &plan.steps {
            if step.action == Download {
                let content = step.content.as_deref().expect("a download's content");
                assert_eq!(Some(xxh3_hex(content.as_bytes())), step.hash);
            }
            let unseen = matches!(step.path.as_str(), "model/c.py" | "model/d.py");
            let runs_local = matches!(step.action, UploadActive | KeepAndStore | Ask);
            assert_eq!(
                step.upload,
                unseen && runs_local,
                "{} under {strategy}",
                step.path
            );
        }
        // The manifest is recorded before the process starts.
        let manifest = engine.job_manifest(at.job_id).await.expect("a manifest");
        let recorded: BTreeMap<&str, &str> = manifest
            .entries
            .iter()
            .map(|e| (e.path.as_str(), e.hash.as_str()))
            .collect();
        assert_eq!(
            recorded.get("model/e.py").copied(),
            Some(xxh3_hex(b"e\n").as_str())
        );
        assert_eq!(
            recorded.contains_key("model/a.py"),
            strategy != SyncStrategy::DryRun,
            "a dry run does not fetch a"
        );
    }
}

#[tokio::test]
async fn a_local_change_asks_once_and_the_answer_is_carried_out_at_the_next_sync() {
    let engine = fresh().await;
    conflict_store(&engine).await;
    let at = running(&engine, FIVE).await;
    let request = conflict_request(SyncStrategy::Interactive);
    let plan = engine
        .sync_components(at, request.clone())
        .await
        .expect("the plan");
    let notice = plan
        .steps
        .iter()
        .find(|s| s.path == "model/c.py")
        .and_then(|s| s.notice)
        .expect("a notice for the local change");
    // What ran is stored (the plan asked for it), not activated.
    let edited = xxh3_hex(b"c, edited\n");
    engine
        .store_component_copy(
            at,
            "model/c.py",
            &CopyUploadQuery {
                xxh3: edited.clone(),
                code: false,
            },
            b"c, edited\n",
        )
        .await
        .expect("the copy is stored");
    assert_eq!(
        active_of(&engine, "model", "c").await,
        Some(xxh3_hex(b"c\n"))
    );
    let open = engine.notices(true).await.expect("notices");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].id, open[0].host_id.as_str()), (notice, "h"));

    // The same change at the next sync: asked again, not a second notice,
    // and not treated as an old version (which would overwrite it).
    finish(&engine, at).await;
    let second = running(&engine, FIVE).await;
    let again = engine
        .sync_components(second, request.clone())
        .await
        .expect("the plan");
    assert_eq!(action_of(&again, "model/c.py"), SyncAction::Ask);
    assert_eq!(engine.notices(true).await.expect("notices").len(), 1);

    engine
        .answer_notice(notice, Resolution::Upload, &tester())
        .await
        .expect("the answer");
    assert!(engine.notices(true).await.expect("notices").is_empty());
    finish(&engine, second).await;
    let third = running(&engine, FIVE).await;
    let applied = engine
        .sync_components(third, request)
        .await
        .expect("the plan");
    assert_eq!(action_of(&applied, "model/c.py"), SyncAction::UploadActive);
    engine
        .store_component_copy(
            third,
            "model/c.py",
            &CopyUploadQuery {
                xxh3: edited.clone(),
                code: false,
            },
            b"c, edited\n",
        )
        .await
        .expect("the copy is stored");
    assert_eq!(active_of(&engine, "model", "c").await, Some(edited));
    let all = engine.notices(false).await.expect("notices");
    assert!(all[0].applied_ms.is_some(), "the host carried it out");
    assert!(matches!(
        engine.answer_notice(999, Resolution::Skip, &tester()).await,
        Err(EngineError::NoticeNotFound(999))
    ));
}

#[tokio::test]
async fn copies_are_taken_only_as_the_plan_named_them() {
    let engine = fresh().await;
    conflict_store(&engine).await;
    let at = running(&engine, FIVE).await;
    engine
        .sync_components(at, conflict_request(SyncStrategy::LocalPriority))
        .await
        .expect("the plan");
    let put = |path: &'static str, hash: String, body: &'static [u8]| {
        let engine = engine.clone();
        async move {
            engine
                .store_component_copy(
                    at,
                    path,
                    &CopyUploadQuery {
                        xxh3: hash,
                        code: false,
                    },
                    body,
                )
                .await
        }
    };
    assert!(matches!(
        put("model/d.py", xxh3_hex(b"other\n"), b"other\n").await,
        Err(EngineError::NotInPlan { .. })
    ));
    assert!(matches!(
        put("model/d.py", xxh3_hex(b"d\n"), b"tampered\n").await,
        Err(EngineError::HashMismatch { .. })
    ));
    assert!(matches!(
        put("model/d.py", xxh3_hex(b"d\n"), &[0xff, 0xfe]).await,
        Err(EngineError::BadComponentContent { .. })
    ));
    put("model/d.py", xxh3_hex(b"d\n"), b"d\n")
        .await
        .expect("the planned copy");
    assert_eq!(
        active_of(&engine, "model", "d").await,
        Some(xxh3_hex(b"d\n"))
    );
    let stale = AttemptRef {
        job_id: at.job_id,
        attempt: 9,
    };
    assert!(matches!(
        engine
            .sync_components(stale, conflict_request(SyncStrategy::Interactive))
            .await,
        Err(EngineError::Superseded(_))
    ));
}

#[tokio::test]
async fn a_pinned_rerun_syncs_the_old_code_after_a_newer_version_is_active() {
    let engine = fresh().await;
    let old = upload(&engine, "model/a.py", "old\n", true).await;
    let yaml = "command: x\ngpus: 0\nmodel: a\ncode: [train.py]\n";
    let first = running(&engine, yaml).await;
    let request = SyncRequest {
        strategy: SyncStrategy::Interactive,
        components: vec![copy("model/a.py", None)],
        code: vec![copy("train.py", Some("print('v1')\n"))],
    };
    let plan = engine
        .sync_components(first, request)
        .await
        .expect("the plan");
    assert_eq!(action_of(&plan, "model/a.py"), SyncAction::Download);
    let train = plan.steps.iter().find(|s| s.code).expect("the code file");
    assert!(train.upload, "the code file is stored for restores");
    engine
        .store_component_copy(
            first,
            "train.py",
            &CopyUploadQuery {
                xxh3: xxh3_hex(b"print('v1')\n"),
                code: true,
            },
            b"print('v1')\n",
        )
        .await
        .expect("the code file is stored");
    finish(&engine, first).await;

    upload(&engine, "model/a.py", "new\n", true).await;
    let pinned = engine
        .rerun_job_exactly(first.job_id)
        .await
        .expect("the exact re-run");
    assert_eq!(pinned.code_from, Some(first.job_id));
    let poll = engine
        .poll(PollRequest {
            protocol_version: PROTOCOL_VERSION,
            host_id: "h".into(),
            free_gpus: vec![],
            free_cpu_slots: 1,
            free_job_slots: 10,
            running: vec![],
            wait_ms: 0,
        })
        .await
        .expect("the poll is answered");
    let at = AttemptRef {
        job_id: poll.assign[0].job_id,
        attempt: 1,
    };
    let replay = engine
        .sync_components(
            at,
            SyncRequest {
                strategy: SyncStrategy::LocalPriority,
                components: vec![copy("model/a.py", Some("new\n"))],
                code: vec![copy("train.py", Some("print('v2')\n"))],
            },
        )
        .await
        .expect("the plan");
    assert_eq!(replay.pinned_to, Some(first.job_id));
    let a = replay
        .steps
        .iter()
        .find(|s| s.path == "model/a.py")
        .expect("a");
    assert_eq!(
        (a.action, a.hash.clone()),
        (SyncAction::Download, Some(old))
    );
    let code = replay.steps.iter().find(|s| s.code).expect("train.py");
    assert_eq!(code.action, SyncAction::Download);
    assert_eq!(code.content.as_deref(), Some("print('v1')\n"));

    let never = engine
        .submit("command: x\ngpus: 0\n", SubmitOptions::default())
        .await
        .expect("the config is accepted")
        .jobs[0]
        .id;
    engine.cancel_job(never).await.expect("cancelled");
    assert!(matches!(
        engine.rerun_job_exactly(never).await,
        Err(EngineError::ManifestNotFound(_))
    ));
}

#[tokio::test]
async fn experiment_manifests_answer_by_their_id_a_job_id_or_a_run_name() {
    let engine = fresh().await;
    let hash = upload(&engine, "model/a.py", "a\n", true).await;
    let map: BTreeMap<String, String> = [("model/a.py".to_string(), hash.clone())].into();
    engine
        .save_experiment_manifest("20261130_abcd", &map)
        .await
        .expect("saved");
    let got = engine
        .experiment_manifest("20261130_abcd")
        .await
        .expect("found");
    assert_eq!(got.components, map);
    assert!(matches!(
        engine.experiment_manifest("nope").await,
        Err(EngineError::ManifestNotFound(_))
    ));
    let bad: BTreeMap<String, String> = [("../etc/x.py".to_string(), hash.clone())].into();
    assert!(engine.save_experiment_manifest("x", &bad).await.is_err());

    let at = running(&engine, "command: x\ngpus: 0\nname: my-run\nmodel: a\n").await;
    engine
        .sync_components(
            at,
            SyncRequest {
                strategy: SyncStrategy::Interactive,
                components: vec![copy("model/a.py", Some("a\n"))],
                code: vec![],
            },
        )
        .await
        .expect("the plan");
    let by_id = engine
        .experiment_manifest(&at.job_id.to_string())
        .await
        .expect("by job id");
    let by_name = engine
        .experiment_manifest("my-run")
        .await
        .expect("by run name");
    assert_eq!(by_id.components, map);
    assert_eq!(by_name.components, map);
}
