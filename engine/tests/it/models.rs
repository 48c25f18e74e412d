//! The model registry through the engine: version names (automatic and
//! explicit, never reused), stages and LATEST, promotion provenance,
//! manifests and bundles, bad input that leaves nothing behind, a restart
//! that finishes a cut commit, and the best-run choice.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use trainyard_core::models::{
    BestMode, ModelManifest, ModelSource, PromoteRequest, RegisterFromRun, Stage, UploadVersion,
};
use trainyard_core::sync::{xxh3_hex, UploadQuery};
use trainyard_core::tar;
use trainyard_core::work::AttemptRef;
use trainyard_core::SubmitOptions;
use trainyard_engine::{Engine, EngineError, MetricPoint};

use crate::fixtures::{fresh, open, running_job, TestEngine};

async fn upload(engine: &Engine, at: AttemptRef, path: &str, data: &[u8]) {
    let q = UploadQuery {
        size: data.len() as u64,
        xxh3: xxh3_hex(data),
        offset: 0,
        chunk_xxh3: xxh3_hex(data),
    };
    engine
        .upload_run_file_chunk(at, path, &q, data)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

fn checkpoint() -> Vec<u8> {
    (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect()
}

/// A running job with a checkpoint, an epoch checkpoint and a CSV.
async fn run_with_files(engine: &Engine) -> AttemptRef {
    let at = running_job(engine).await;
    upload(engine, at, "ckpt/best_checkpoint.pt", &checkpoint()).await;
    upload(engine, at, "ckpt/epoch_3.pt", b"epoch three").await;
    upload(engine, at, "notes/summary.txt", b"acc 0.9\n").await;
    at
}

fn from_run(job_id: i64) -> RegisterFromRun {
    RegisterFromRun {
        job_id,
        ..RegisterFromRun::default()
    }
}

async fn latest(engine: &Engine, stage: &str) -> Result<String, EngineError> {
    engine
        .model_manifest("m", stage, "latest")
        .await
        .map(|m| m.version)
}

fn invalid_field(result: Result<impl std::fmt::Debug, EngineError>) -> String {
    match result {
        Err(EngineError::ModelInvalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

/// Names in `<data>/models/.staging` (empty when nothing is half-built).
fn staging(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("models/.staging"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `(path, bytes)` of every entry of a bundle.
fn unpack(bundle: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(bundle).expect("the bundle opens");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut raw)
        .expect("the bundle is gzip");
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let block: [u8; tar::BLOCK] = raw[at..at + tar::BLOCK].try_into().expect("a block");
        let Some(h) = tar::parse_header(&block).expect("a valid header") else {
            break;
        };
        at += tar::BLOCK;
        let size = h.size as usize;
        out.push((h.path, raw[at..at + size].to_vec()));
        at += size + tar::padding(h.size);
    }
    out
}

#[tokio::test]
async fn versions_count_up_and_explicit_names_are_never_reused() {
    let engine = fresh().await;
    let at = run_with_files(&engine).await;
    let mut names = Vec::new();
    for req in [
        from_run(at.job_id),
        from_run(at.job_id),
        RegisterFromRun {
            version: Some("v0005".into()),
            ..from_run(at.job_id)
        },
        from_run(at.job_id),
        RegisterFromRun {
            version: Some("1.0.0".into()),
            ..from_run(at.job_id)
        },
        from_run(at.job_id),
    ] {
        let v = engine
            .register_model_from_run("resnet", &req, "tester")
            .await
            .expect("registered");
        names.push(v.version);
    }
    assert_eq!(
        names,
        ["v0001", "v0002", "v0005", "v0006", "1.0.0", "v0007"]
    );
    for taken in ["v0002", "1.0.0", "v0007"] {
        let again = engine
            .register_model_from_run(
                "resnet",
                &RegisterFromRun {
                    version: Some(taken.into()),
                    ..from_run(at.job_id)
                },
                "tester",
            )
            .await;
        assert!(
            matches!(again, Err(EngineError::ModelVersionExists { ref version, .. }) if version == taken),
            "{again:?}"
        );
    }
    // The same name in the other stage is another version.
    let release = engine
        .register_model_from_run(
            "resnet",
            &RegisterFromRun {
                version: Some("v0002".into()),
                stage: Some("release".into()),
                ..from_run(at.job_id)
            },
            "tester",
        )
        .await
        .expect("release has no v0002 yet");
    assert_eq!(release.stage, Stage::Release);
    let model = engine.model("resnet").await.expect("the model");
    assert_eq!(model.stages[0].versions.len(), 6);
    assert_eq!(model.stages[1].versions.len(), 1);
    let listed = engine.models().await.expect("the models");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].versions, 7);
    assert_eq!(listed[0].latest_dev.as_deref(), Some("v0001"));
    assert_eq!(listed[0].latest_release.as_deref(), Some("v0002"));
}

#[tokio::test]
async fn a_manifest_records_files_hashes_source_config_and_the_bundle_holds_them() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = open(dir.path()).await;
    let id = engine
        .submit("command: x\ngpus: 0\nlr: 0.1\n", SubmitOptions::default())
        .await
        .expect("submitted")
        .jobs[0]
        .id;
    // Run it on host "h" so it can sync files.
    engine
        .ingest_heartbeat(crate::fixtures::heartbeat("h", 0))
        .expect("heartbeat");
    engine
        .poll(trainyard_core::work::PollRequest {
            protocol_version: trainyard_core::PROTOCOL_VERSION,
            host_id: "h".into(),
            free_gpus: vec![],
            free_cpu_slots: 1,
            free_job_slots: 1,
            running: vec![],
            wait_ms: 0,
        })
        .await
        .expect("polled");
    let at = AttemptRef {
        job_id: id,
        attempt: 1,
    };
    upload(&engine, at, "ckpt/best_checkpoint.pt", &checkpoint()).await;
    upload(&engine, at, "notes/summary.txt", b"acc 0.9\n").await;
    let v = engine
        .register_model_from_run(
            "cls",
            &RegisterFromRun {
                files: Some(vec![
                    "ckpt/best_checkpoint.pt".into(),
                    "notes/summary.txt".into(),
                ]),
                notes: Some("first".into()),
                ..from_run(id)
            },
            "alice",
        )
        .await
        .expect("registered");
    assert!(v.latest, "a stage's first version becomes LATEST");
    assert_eq!(v.files, 3);
    let manifest: ModelManifest = engine
        .model_manifest("cls", "dev", "latest")
        .await
        .expect("the manifest");
    let paths: Vec<(&str, &str)> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f.xxh3.as_str()))
        .collect();
    let config = manifest.config_yaml.clone().expect("the resolved config");
    assert!(config.contains("lr"), "{config}");
    assert_eq!(
        paths,
        [
            ("ckpt/best_checkpoint.pt", xxh3_hex(&checkpoint()).as_str()),
            ("config.yaml", xxh3_hex(config.as_bytes()).as_str()),
            ("notes/summary.txt", xxh3_hex(b"acc 0.9\n").as_str()),
        ]
    );
    assert_eq!(manifest.files[0].bytes, 300_000);
    assert_eq!(manifest.registered_by, "alice");
    assert_eq!(manifest.notes, "first");
    assert_eq!(manifest.version, "v0001");
    match &manifest.source {
        ModelSource::Run {
            job_id, project, ..
        } => {
            assert_eq!(*job_id, id);
            assert_eq!(project, "default");
        }
        other => panic!("{other:?}"),
    }
    // The bundle: manifest.json first, then the payload in path order, byte
    // for byte; its size and hash are the version's.
    let bundle = engine
        .model_bundle("cls", "dev", "v0001")
        .await
        .expect("the bundle");
    let bytes = std::fs::read(&bundle.path).expect("readable");
    assert_eq!(bundle.size, bytes.len() as u64);
    assert_eq!(bundle.xxh3, xxh3_hex(&bytes));
    assert_eq!(bundle.xxh3, v.bundle_xxh3);
    let entries = unpack(&bundle.path);
    let names: Vec<&str> = entries.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "manifest.json",
            "payload/ckpt/best_checkpoint.pt",
            "payload/config.yaml",
            "payload/notes/summary.txt"
        ]
    );
    assert_eq!(entries[1].1, checkpoint());
    let in_bundle: ModelManifest = serde_json::from_slice(&entries[0].1).expect("JSON");
    assert_eq!(in_bundle, manifest);
    let file = engine
        .model_file("cls", "dev", "v0001", "notes/summary.txt")
        .await
        .expect("a payload file");
    assert_eq!(std::fs::read(&file.path).expect("readable"), b"acc 0.9\n");
    assert_eq!(staging(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn latest_moves_on_a_stages_first_version_or_when_asked() {
    let engine = fresh().await;
    let at = run_with_files(&engine).await;
    let reg = |set_latest: Option<bool>, stage: &str| RegisterFromRun {
        set_latest,
        stage: Some(stage.into()),
        ..from_run(at.job_id)
    };
    let v1 = engine
        .register_model_from_run("m", &reg(None, "dev"), "t")
        .await
        .expect("v1");
    assert!(v1.latest);
    let v2 = engine
        .register_model_from_run("m", &reg(Some(false), "dev"), "t")
        .await
        .expect("v2");
    assert!(!v2.latest);
    assert_eq!(latest(&engine, "dev").await.expect("latest"), "v0001");
    assert!(matches!(
        latest(&engine, "release").await,
        Err(EngineError::ModelVersionNotFound { .. })
    ));
    let v3 = engine
        .register_model_from_run("m", &reg(Some(true), "dev"), "t")
        .await
        .expect("v3");
    assert!(v3.latest);
    assert_eq!(latest(&engine, "dev").await.expect("latest"), "v0003");
    engine
        .set_model_latest("m", "dev", "v0002")
        .await
        .expect("moved");
    assert_eq!(latest(&engine, "dev").await.expect("latest"), "v0002");
    let view = engine.model("m").await.expect("the model");
    let flags: Vec<(String, bool)> = view.stages[0]
        .versions
        .iter()
        .map(|v| (v.version.clone(), v.latest))
        .collect();
    assert_eq!(
        flags,
        [
            ("v0001".to_string(), false),
            ("v0002".to_string(), true),
            ("v0003".to_string(), false)
        ]
    );
    // The other stage's first version is its LATEST; dev's does not move.
    let r1 = engine
        .register_model_from_run("m", &reg(None, "release"), "t")
        .await
        .expect("r1");
    assert!(r1.latest);
    assert_eq!(latest(&engine, "dev").await.expect("latest"), "v0002");
    assert!(matches!(
        engine.set_model_latest("m", "dev", "v0009").await,
        Err(EngineError::ModelVersionNotFound { .. })
    ));
    assert!(matches!(
        engine.set_model_latest("m", "prod", "v0001").await,
        Err(EngineError::StageNotFound(_))
    ));
}

#[tokio::test]
async fn promotion_copies_a_version_with_its_provenance() {
    let engine = fresh().await;
    let at = run_with_files(&engine).await;
    for _ in 0..2 {
        engine
            .register_model_from_run("m", &from_run(at.job_id), "t")
            .await
            .expect("registered");
    }
    let source = engine
        .model_manifest("m", "dev", "v0002")
        .await
        .expect("dev v0002");
    let dev_bundle = engine.model_bundle("m", "dev", "v0002").await.expect("b");
    let promoted = engine
        .promote_model_version(
            "m",
            "v0002",
            &PromoteRequest {
                to: "release".into(),
                ..PromoteRequest::default()
            },
            "bob",
        )
        .await
        .expect("promoted");
    assert_eq!(
        (promoted.stage, promoted.version.as_str()),
        (Stage::Release, "v0001")
    );
    assert!(promoted.latest);
    let manifest = engine
        .model_manifest("m", "release", "latest")
        .await
        .expect("release latest");
    assert_eq!(manifest.files, source.files);
    assert_eq!(manifest.config_yaml, source.config_yaml);
    assert_eq!(manifest.registered_by, "bob");
    match &manifest.source {
        ModelSource::Promotion {
            from_stage,
            source_version,
            source_bundle_xxh3,
            origin,
        } => {
            assert_eq!(*from_stage, Stage::Dev);
            assert_eq!(source_version, "v0002");
            assert_eq!(source_bundle_xxh3, &dev_bundle.xxh3);
            assert_eq!(**origin, source.source);
        }
        other => panic!("{other:?}"),
    }
    // Same stage: 400 naming `to`; unknown stage, version, model: 404s.
    let same = engine
        .promote_model_version(
            "m",
            "v0001",
            &PromoteRequest {
                to: "dev".into(),
                ..PromoteRequest::default()
            },
            "t",
        )
        .await;
    assert_eq!(invalid_field(same), "to");
    let to = |to: &str| PromoteRequest {
        to: to.into(),
        ..PromoteRequest::default()
    };
    assert!(matches!(
        engine
            .promote_model_version("m", "v0001", &to("prod"), "t")
            .await,
        Err(EngineError::StageNotFound(_))
    ));
    assert!(matches!(
        engine
            .promote_model_version("m", "v0042", &to("release"), "t")
            .await,
        Err(EngineError::ModelVersionNotFound { .. })
    ));
    assert!(matches!(
        engine
            .promote_model_version("nope", "v0001", &to("release"), "t")
            .await,
        Err(EngineError::ModelNotFound(_))
    ));
    // Promoting back names its own source stage.
    let back = engine
        .promote_model_version(
            "m",
            "v0001",
            &PromoteRequest {
                to: "dev".into(),
                from: Some("release".into()),
                ..PromoteRequest::default()
            },
            "t",
        )
        .await
        .expect("promoted back");
    assert_eq!(back.version, "v0003");
    assert!(!back.latest, "dev already has a LATEST");
}

#[tokio::test]
async fn bad_input_is_refused_by_field_and_leaves_no_version_behind() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = open(dir.path()).await;
    let id = engine
        .submit("command: x\ngpus: 0\n", SubmitOptions::default())
        .await
        .expect("submitted")
        .jobs[0]
        .id;
    engine
        .ingest_heartbeat(crate::fixtures::heartbeat("h", 0))
        .expect("heartbeat");
    engine
        .poll(trainyard_core::work::PollRequest {
            protocol_version: trainyard_core::PROTOCOL_VERSION,
            host_id: "h".into(),
            free_gpus: vec![],
            free_cpu_slots: 1,
            free_job_slots: 1,
            running: vec![],
            wait_ms: 0,
        })
        .await
        .expect("polled");
    let at = AttemptRef {
        job_id: id,
        attempt: 1,
    };
    upload(&engine, at, "notes.txt", b"no checkpoint here").await;
    let reg = |files: Option<Vec<&str>>| RegisterFromRun {
        files: files.map(|f| f.into_iter().map(str::to_string).collect()),
        ..from_run(id)
    };
    for bad in ["Bad Name", "", "../up", "a/b"] {
        let r = engine.register_model_from_run(bad, &reg(None), "t").await;
        assert_eq!(invalid_field(r), "name", "{bad:?}");
    }
    let r = engine
        .register_model_from_run("m", &reg(Some(vec!["notes.txt", "../../etc/passwd"])), "t")
        .await;
    assert_eq!(invalid_field(r), "files[1]");
    let r = engine
        .register_model_from_run("m", &reg(Some(vec!["/abs"])), "t")
        .await;
    assert_eq!(invalid_field(r), "files[0]");
    match engine
        .register_model_from_run("m", &reg(Some(vec!["notes.txt", "w.pt", "x/y.bin"])), "t")
        .await
    {
        Err(EngineError::RunFilesMissing { message, .. }) => {
            assert!(message.contains("\"w.pt\", \"x/y.bin\""), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match engine.register_model_from_run("m", &reg(None), "t").await {
        Err(e @ EngineError::RunFilesMissing { .. }) => {
            assert!(e.to_string().contains("no checkpoint"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let r = engine
        .register_model_from_run(
            "m",
            &RegisterFromRun {
                version: Some("latest".into()),
                ..reg(Some(vec!["notes.txt"]))
            },
            "t",
        )
        .await;
    assert_eq!(invalid_field(r), "version");
    let r = engine
        .register_model_from_run(
            "m",
            &RegisterFromRun {
                stage: Some("prod".into()),
                ..reg(Some(vec!["notes.txt"]))
            },
            "t",
        )
        .await;
    assert!(matches!(r, Err(EngineError::StageNotFound(_))), "{r:?}");
    assert!(matches!(
        engine
            .register_model_from_run("m", &from_run(999), "t")
            .await,
        Err(EngineError::JobNotFound(999))
    ));
    // An upload with a traversal path, and one with no file at all.
    let mut draft = engine.begin_model_upload("m").await.expect("a draft");
    let r = draft
        .add_reader("file", "../x.pt", &b"x"[..])
        .await
        .map(|_| ());
    assert_eq!(invalid_field(r), "file");
    drop(draft);
    let draft = engine.begin_model_upload("m").await.expect("a draft");
    let r = engine
        .commit_model_upload("m", draft, &UploadVersion::default(), "t")
        .await;
    assert_eq!(invalid_field(r), "files");
    assert!(matches!(
        engine.model("m").await,
        Err(EngineError::ModelNotFound(_))
    ));
    assert!(engine.models().await.expect("listed").is_empty());
    assert_eq!(staging(dir.path()), Vec::<String>::new());
    // Downloads: unknown model, stage, version, file, traversal.
    let ok = engine
        .register_model_from_run("m", &reg(Some(vec!["notes.txt"])), "t")
        .await
        .expect("registered");
    assert_eq!(ok.version, "v0001");
    assert!(matches!(
        engine.model_bundle("nope", "dev", "latest").await,
        Err(EngineError::ModelNotFound(_))
    ));
    assert!(matches!(
        engine.model_bundle("m", "staging", "latest").await,
        Err(EngineError::StageNotFound(_))
    ));
    assert!(matches!(
        engine.model_bundle("m", "dev", "v0002").await,
        Err(EngineError::ModelVersionNotFound { .. })
    ));
    assert!(matches!(
        engine.model_file("m", "dev", "v0001", "missing.pt").await,
        Err(EngineError::ModelFileNotFound { .. })
    ));
    let r = engine
        .model_file("m", "dev", "v0001", "../v0001/manifest.json")
        .await;
    assert_eq!(invalid_field(r), "path");
}

#[tokio::test]
async fn an_upload_becomes_a_version_and_a_restart_finishes_a_cut_commit() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = open(dir.path()).await;
    let mut draft = engine.begin_model_upload("up").await.expect("a draft");
    draft
        .add_reader("file", "model.pth", &checkpoint()[..])
        .await
        .expect("streamed");
    let v = engine
        .commit_model_upload(
            "up",
            draft,
            &UploadVersion {
                version: Some("2024.1".into()),
                ..UploadVersion::default()
            },
            "carol",
        )
        .await
        .expect("committed");
    assert_eq!(v.source, ModelSource::Upload);
    assert_eq!(v.version, "2024.1");
    engine.close().await;
    drop(engine);
    // A crash after the commit and before the rename: the version's
    // directory is still in staging, next to an unfinished draft.
    let final_dir = dir.path().join("models/up/dev/2024.1");
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("trainyard.db").display()
    ))
    .await
    .expect("the database opens");
    let staged_as: String =
        sqlx::query_scalar("SELECT staged_as FROM model_versions WHERE version = '2024.1'")
            .fetch_one(&pool)
            .await
            .expect("the row");
    pool.close().await;
    std::fs::rename(
        &final_dir,
        dir.path().join("models/.staging").join(&staged_as),
    )
    .expect("moved back");
    std::fs::create_dir_all(dir.path().join("models/.staging/half-built/payload"))
        .expect("a draft");
    let engine = open(dir.path()).await;
    let bundle = engine
        .model_bundle("up", "dev", "latest")
        .await
        .expect("the version is whole again");
    assert_eq!(
        xxh3_hex(&std::fs::read(&bundle.path).expect("readable")),
        v.bundle_xxh3
    );
    assert_eq!(staging(dir.path()), Vec::<String>::new());
}

// ---- best run ---------------------------------------------------------------

async fn submit_run(t: &TestEngine, project: &str, name: &str) -> (i64, i64) {
    t.clock.advance(Duration::from_secs(1));
    let r = t
        .submit(
            &format!("project: {project}\nname: {name}\ncommand: x\ngpus: 0\n"),
            SubmitOptions::default(),
        )
        .await
        .expect("submitted");
    (r.jobs[0].id, r.jobs[0].sweep_id)
}

async fn record(engine: &Engine, job: i64, key: &str, values: &[f64]) {
    let points: Vec<MetricPoint> = values
        .iter()
        .enumerate()
        .map(|(i, v)| MetricPoint {
            key,
            step: (i * 10) as f64,
            value: *v,
            time_ms: 1,
        })
        .collect();
    engine.ingest_metrics(job, &points).await.expect("recorded");
}

#[tokio::test]
async fn the_best_run_is_chosen_by_its_best_value_with_ties_to_the_newest() {
    let t = fresh().await;
    let (a, _) = submit_run(&t, "p", "a").await;
    let (b, _) = submit_run(&t, "p", "b").await;
    let (c, c_sweep) = submit_run(&t, "p", "c").await;
    let (d, _) = submit_run(&t, "p", "d").await;
    let (_other, _) = submit_run(&t, "q", "x").await;
    // a peaks at 0.9 (step 10) and ends at 0.5; b ends highest (0.8) but
    // never passes it; c ties a's peak later; d has no accuracy at all.
    record(&t, a, "val/acc", &[0.1, 0.9, 0.5]).await;
    record(&t, b, "val/acc", &[0.2, 0.7, 0.8]).await;
    record(&t, c, "val/acc", &[0.9, 0.3]).await;
    record(&t, d, "loss", &[1.0]).await;
    record(&t, a, "loss", &[3.0, 0.4, 0.6]).await;
    record(&t, b, "loss", &[2.0, 0.5, 0.45]).await;

    let max = t
        .best_run("p", None, "val/acc", BestMode::Max)
        .await
        .expect("ranked");
    let order: Vec<i64> = max.ranked.iter().map(|r| r.job_id).collect();
    assert_eq!(order, [c, a, b], "equal peaks: the newest (c) first");
    let best = max.best.expect("a best run");
    assert_eq!(
        (best.job_id, best.best.value, best.best.step),
        (c, 0.9, 0.0)
    );
    assert_eq!(max.ranked[1].best.step, 10.0);
    assert_eq!(max.ranked[1].last.value, 0.5, "a's last value is kept too");
    let skipped: Vec<(i64, &str)> = max
        .skipped
        .iter()
        .map(|s| (s.job_id, s.name.as_str()))
        .collect();
    assert_eq!(skipped, [(d, "d")]);

    let min = t
        .best_run("p", None, "loss", BestMode::Min)
        .await
        .expect("ranked");
    let order: Vec<(i64, f64)> = min
        .ranked
        .iter()
        .map(|r| (r.job_id, r.best.value))
        .collect();
    // a's lowest (0.4) beats b's last and lowest (0.45): best, not last.
    assert_eq!(order, [(a, 0.4), (b, 0.45), (d, 1.0)]);
    assert_eq!(min.skipped.len(), 1);
    assert_eq!(min.skipped[0].job_id, c);

    let one_sweep = t
        .best_run("p", Some(c_sweep), "val/acc", BestMode::Min)
        .await
        .expect("ranked");
    assert_eq!(one_sweep.ranked.len(), 1);
    assert_eq!(one_sweep.ranked[0].best.value, 0.3);

    assert!(matches!(
        t.best_run("nope", None, "loss", BestMode::Min).await,
        Err(EngineError::ProjectNotFound(_))
    ));
    let none = t
        .best_run("p", None, "bleu", BestMode::Max)
        .await
        .expect("ranked");
    assert!(none.best.is_none());
    assert_eq!(none.skipped.len(), 4);
}

#[tokio::test]
async fn publish_best_registers_the_best_run_with_its_metric() {
    let t = fresh().await;
    let at = run_with_files(&t).await;
    record(&t, at.job_id, "val/acc", &[0.2, 0.6, 0.4]).await;
    let published = t
        .publish_best(
            "best",
            &trainyard_core::models::PublishBest {
                project: "default".into(),
                sweep: None,
                metric: "val/acc".into(),
                mode: BestMode::Max,
                stage: None,
                files: None,
                version: None,
                notes: None,
                set_latest: None,
            },
            "t",
        )
        .await
        .expect("published");
    assert_eq!(published.best.job_id, at.job_id);
    match published.version.source {
        ModelSource::Run {
            metric: Some(m), ..
        } => assert_eq!((m.value, m.step), (0.6, 10.0)),
        other => panic!("{other:?}"),
    }
    let missing = t
        .publish_best(
            "best",
            &trainyard_core::models::PublishBest {
                project: "default".into(),
                sweep: None,
                metric: "bleu".into(),
                mode: BestMode::Max,
                stage: None,
                files: None,
                version: None,
                notes: None,
                set_latest: None,
            },
            "t",
        )
        .await;
    assert!(
        matches!(missing, Err(EngineError::NoBestRun { .. })),
        "{missing:?}"
    );
}
