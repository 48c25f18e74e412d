//! TensorBoard event files written by tensorboardX (committed fixtures,
//! `scripts/tensorboard/make_fixtures.py`): imported from `--import-dir`
//! trees and `import_tensorboard`, and indexed live from a job's run dir,
//! with exactly the expected points; bad files are reported, never fatal.

use std::path::{Path, PathBuf};

use trainyard_core::runs::RunsQuery;
use trainyard_core::sync::{xxh3_hex, AppendQuery, UploadQuery};
use trainyard_engine::{Engine, EngineError};

use crate::fixtures::{engine_with_settings, fresh, point_count, running_job};

const FILE: &str = "events.out.tfevents.1700000000.fixture";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tensorboard")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("the dir is created");
    for entry in std::fs::read_dir(from).expect("the dir is listed") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("the file is copied");
        }
    }
}

/// Job ids of a project's runs, by name.
async fn runs_by_name(engine: &Engine, project: &str) -> Vec<(String, i64)> {
    let page = engine
        .runs_page(&RunsQuery::newest(project))
        .await
        .expect("the runs page is answered");
    let mut runs: Vec<(String, i64)> = page
        .rows
        .iter()
        .map(|r| (r.job.name.clone(), r.job.id))
        .collect();
    runs.sort();
    runs
}

fn id_of(runs: &[(String, i64)], name: &str) -> i64 {
    runs.iter()
        .find(|r| r.0 == name)
        .unwrap_or_else(|| panic!("no run {name} in {runs:?}"))
        .1
}

/// Every point of a series as (step, value), in step order.
async fn points(engine: &Engine, job_id: i64, key: &str) -> Vec<(f64, f64)> {
    let series = engine
        .metric_series(job_id, key, 100_000, None, None)
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    series
        .buckets
        .iter()
        .map(|b| {
            assert_eq!(b.count, 1, "{key}: one point per bucket");
            (b.last_step, b.last)
        })
        .collect()
}

async fn keys(engine: &Engine, job_id: i64) -> Vec<(String, u64)> {
    engine
        .metric_keys(job_id)
        .await
        .expect("the keys are listed")
        .into_iter()
        .map(|k| (k.key, k.count))
        .collect()
}

#[tokio::test]
async fn tensorboardx_runs_in_an_import_tree_are_imported_with_exactly_their_points() {
    let root = fixtures().join("logs");
    let engine = engine_with_settings(|s| s.import_dirs = vec![root.clone()]).await;
    let report = engine.scan_imports().await;
    assert_eq!((report.runs, report.added), (7, 7), "{report:?}");
    assert!(report.skipped.is_empty(), "{report:?}");
    assert_eq!(report.problems, 0);
    // The histogram, the image and the text of `nonscalar`.
    assert_eq!(report.summaries_skipped, 3);
    assert_eq!(report.points, 900 + 10 + 10 + 15 + 1 + 200);
    let runs = runs_by_name(&engine, "cifar").await;
    let names: Vec<&str> = runs.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "multi",
            "multi/loss/train",
            "multi/loss/val",
            "nonscalar",
            "restarted",
            "scalars",
            "tf2style"
        ]
    );

    // simple_value scalars, tags kept as keys, 0.0 at step 0 kept.
    let scalars = id_of(&runs, "scalars");
    assert_eq!(
        keys(&engine, scalars).await,
        vec![
            ("lr".into(), 300),
            ("train/loss".into(), 300),
            ("val/accuracy".into(), 300)
        ]
    );
    let acc = points(&engine, scalars, "val/accuracy").await;
    assert_eq!(acc.len(), 300);
    for (i, (step, value)) in acc.iter().enumerate() {
        assert_eq!(*step, i as f64);
        assert_eq!(*value, f64::from((i as f64 / 100.0) as f32), "step {i}");
    }
    let loss = points(&engine, scalars, "train/loss").await;
    assert_eq!(loss[299], (299.0, f64::from((1.0f64 / 300.0) as f32)));

    // add_scalars: one run per key, tag `loss` in each.
    let train = id_of(&runs, "multi/loss/train");
    let val = id_of(&runs, "multi/loss/val");
    let want = |base: f64| {
        (0..10)
            .map(|s| (s as f64, base + s as f64))
            .collect::<Vec<_>>()
    };
    assert_eq!(points(&engine, train, "loss").await, want(1.0));
    assert_eq!(points(&engine, val, "loss").await, want(2.0));
    assert!(keys(&engine, id_of(&runs, "multi")).await.is_empty());

    // TF2 / torch new_style tensors: tensor_content, float_val, double_val.
    let tf2 = id_of(&runs, "tf2style");
    for key in ["tf2/content", "tf2/float_val"] {
        let want: Vec<(f64, f64)> = (0..5).map(|s| (s as f64, s as f64 + 0.5)).collect();
        assert_eq!(points(&engine, tf2, key).await, want, "{key}");
    }
    let want: Vec<(f64, f64)> = (0..5).map(|s| (s as f64, s as f64 + 0.25)).collect();
    assert_eq!(points(&engine, tf2, "tf2/double_val").await, want);

    // Histogram, image and text counted and skipped; the scalar after them read.
    let nonscalar = id_of(&runs, "nonscalar");
    assert_eq!(
        keys(&engine, nonscalar).await,
        vec![("note/after".into(), 1)]
    );
    assert_eq!(
        points(&engine, nonscalar, "note/after").await,
        vec![(2.0, 3.0)]
    );

    // Two files over a restart: both read, in name order.
    let restarted = id_of(&runs, "restarted");
    assert_eq!(point_count(&engine, restarted, "loss").await, Some(200));
    let files = engine.run_files(restarted).await.expect("files listed");
    assert_eq!(
        files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        vec![FILE, "events.out.tfevents.1700000100.fixture"]
    );
    let (full, size) = engine
        .locate_run_file(restarted, FILE)
        .await
        .expect("the file is found");
    assert_eq!(
        (full, size),
        (root.join("cifar/restarted").join(FILE), 4238)
    );

    // A re-scan and a re-index add nothing.
    let again = engine.scan_imports().await;
    assert_eq!(
        (again.added, again.updated, again.points),
        (0, 0, 0),
        "{again:?}"
    );
    let reindexed = engine.reindex_imports().await.expect("re-indexed");
    assert_eq!((reindexed.added, reindexed.points), (0, 0), "{reindexed:?}");
    assert_eq!(point_count(&engine, scalars, "lr").await, Some(300));
    for (_, id) in &runs {
        assert!(engine.run_problems(*id).await.expect("problems").is_empty());
    }
}

#[tokio::test]
async fn bad_event_files_are_reported_and_the_rest_read_and_a_growing_file_completes() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let logdir = tmp.path().join("broken");
    copy_tree(&fixtures().join("logs-bad/broken"), &logdir);
    let engine = fresh().await;
    let report = engine
        .import_tensorboard(&logdir, Some("bad-input"))
        .await
        .expect("the import runs");
    assert_eq!((report.runs, report.added), (5, 5), "{report:?}");
    assert_eq!(report.problems, 3, "{report:?}");
    let runs = runs_by_name(&engine, "bad-input").await;
    let problems = |name: &'static str| {
        let engine = engine.clone();
        let id = id_of(&runs, name);
        async move {
            engine
                .run_problems(id)
                .await
                .expect("problems listed")
                .into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
        }
    };
    let loss = |name: &'static str| {
        let engine = engine.clone();
        let id = id_of(&runs, name);
        async move {
            if point_count(&engine, id, "loss").await.is_none() {
                return Vec::new();
            }
            points(&engine, id, "loss")
                .await
                .into_iter()
                .map(|p| p.0 as i64)
                .collect::<Vec<_>>()
        }
    };
    // 0-byte file: nothing, no problem.
    assert!(loss("empty").await.is_empty());
    assert!(problems("empty").await.is_empty());
    // Garbage: one problem, no points.
    assert!(loss("garbage").await.is_empty());
    let garbage = problems("garbage").await;
    assert_eq!(garbage.len(), 1, "{garbage:?}");
    assert!(garbage[0].contains("at byte 0"), "{garbage:?}");
    // A flipped byte: that record reported, every other one read.
    assert_eq!(loss("crcflip").await, vec![0, 1, 2, 3, 5, 6, 7, 8, 9]);
    let crc = problems("crcflip").await;
    assert!(crc.len() == 1 && crc[0].contains("CRC"), "{crc:?}");
    // A length of 2^60: reported, no allocation, the records after it read.
    assert_eq!(loss("huge").await, vec![5, 6, 7, 8, 9]);
    let huge = problems("huge").await;
    assert!(
        huge.len() == 1 && huge[0].contains("1152921504606846976"),
        "{huge:?}"
    );
    // A writer still writing: the whole records, and no problem.
    assert_eq!(loss("growing").await, (0..9).collect::<Vec<_>>());
    assert!(problems("growing").await.is_empty());

    // The writer finishes its record: the next import reads just that.
    let complete = read(&fixtures().join("logs-bad/broken/crcflip").join(FILE));
    let growing = logdir.join("growing").join(FILE);
    let have = read(&growing).len();
    let mut whole = read(&growing);
    whole.extend_from_slice(&{
        // The crcflip file is the same ten scalars with step 4's payload
        // flipped; its last 5 bytes are the growing file's missing tail.
        complete[have..].to_vec()
    });
    std::fs::write(&growing, &whole).expect("the file grows");
    let again = engine
        .import_tensorboard(&logdir, Some("bad-input"))
        .await
        .expect("the import runs again");
    assert_eq!(
        (again.added, again.points, again.problems),
        (0, 1, 0),
        "{again:?}"
    );
    assert_eq!(loss("growing").await, (0..10).collect::<Vec<_>>());
    // Nothing else changed: no duplicates, no repeated problems.
    assert_eq!(loss("crcflip").await.len(), 9);
    assert_eq!(problems("crcflip").await.len(), 1);

    // Directories that cannot be imported: a clear error, nothing stored.
    for (dir, project) in [
        (tmp.path().join("missing"), None),
        (growing.clone(), None),
        (logdir.clone(), Some("../escape")),
    ] {
        let e = engine
            .import_tensorboard(&dir, project)
            .await
            .expect_err("refused");
        assert!(matches!(e, EngineError::BadImportDir { .. }), "{e:?}");
        assert_eq!(e.code().0, "bad_import_dir");
    }
    assert_eq!(runs_by_name(&engine, "bad-input").await.len(), 5);
}

fn append_query(offset: u64, data: &[u8]) -> AppendQuery {
    AppendQuery {
        offset,
        xxh3: xxh3_hex(data),
    }
}

#[tokio::test]
async fn event_files_in_a_job_run_dir_are_indexed_live_as_they_grow() {
    let engine = fresh().await;
    let at = running_job(&engine).await;
    let path = format!("tb/{FILE}");
    let bytes = read(&fixtures().join("logs/cifar/scalars").join(FILE));
    // Chunks that split records, each sent twice (an agent retrying).
    let mut offset = 0u64;
    let mut seen = 0;
    for chunk in bytes.chunks(997) {
        for _ in 0..2 {
            engine
                .append_run_file(at, &path, &append_query(offset, chunk), chunk)
                .await
                .expect("the append is accepted");
        }
        offset += chunk.len() as u64;
        // Only whole records count, and never twice.
        let now = point_count(&engine, at.job_id, "tb/val/accuracy")
            .await
            .unwrap_or(0);
        assert!(now >= seen && now <= 300, "{now} after {offset} bytes");
        seen = now;
    }
    assert_eq!(
        keys(&engine, at.job_id).await,
        vec![
            ("tb/lr".into(), 300),
            ("tb/train/loss".into(), 300),
            ("tb/val/accuracy".into(), 300)
        ]
    );
    assert_eq!(
        points(&engine, at.job_id, "tb/val/accuracy").await[..2],
        [(0.0, 0.0), (1.0, f64::from(0.01f32))]
    );

    // The agent re-sends the file whole (it thought it rewritten): no duplicates.
    let q = UploadQuery {
        size: bytes.len() as u64,
        xxh3: xxh3_hex(&bytes),
        offset: 0,
        chunk_xxh3: xxh3_hex(&bytes),
    };
    let _ = engine.upload_run_file_chunk(at, &path, &q, &bytes).await;
    assert_eq!(point_count(&engine, at.job_id, "tb/lr").await, Some(300));

    // A file at the top of the run dir keeps its tags verbatim; a corrupt
    // record in it is a run problem and the rest is read.
    let bad = read(&fixtures().join("logs-bad/broken/crcflip").join(FILE));
    engine
        .append_run_file(at, FILE, &append_query(0, &bad), &bad)
        .await
        .expect("the append is accepted");
    assert_eq!(point_count(&engine, at.job_id, "loss").await, Some(9));
    let problems = engine.run_problems(at.job_id).await.expect("problems");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].source, FILE);
    assert!(problems[0].message.contains("CRC"), "{problems:?}");
}

#[tokio::test]
async fn an_event_file_survives_a_restart_and_a_whole_resend_without_duplicates() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let bytes = read(&fixtures().join("logs/cifar/scalars").join(FILE));
    let first = &bytes[..20_011];
    let at = {
        let engine = crate::fixtures::open(dir.path()).await;
        let at = running_job(&engine).await;
        engine
            .append_run_file(at, FILE, &append_query(0, first), first)
            .await
            .expect("the append is accepted");
        at
    };
    let engine = crate::fixtures::open(dir.path()).await;
    let partial = point_count(&engine, at.job_id, "lr").await.unwrap_or(0);
    assert!(partial > 0 && partial < 300, "{partial}");
    // The agent saw the file rewritten and sends it whole: it replaces the
    // server's copy and is read again, past the records already indexed.
    let q = UploadQuery {
        size: bytes.len() as u64,
        xxh3: xxh3_hex(&bytes),
        offset: 0,
        chunk_xxh3: xxh3_hex(&bytes),
    };
    engine
        .upload_run_file_chunk(at, FILE, &q, &bytes)
        .await
        .expect("the upload is accepted");
    assert_eq!(point_count(&engine, at.job_id, "lr").await, Some(300));
    // Appends continue after it.
    let more = read(&fixtures().join("logs/cifar/multi/loss/train").join(FILE));
    let tail = &more[40..]; // its scalar records, without the file_version one
    engine
        .append_run_file(at, FILE, &append_query(bytes.len() as u64, tail), tail)
        .await
        .expect("the append is accepted");
    assert_eq!(point_count(&engine, at.job_id, "loss").await, Some(10));
    assert_eq!(
        point_count(&engine, at.job_id, "val/accuracy").await,
        Some(300)
    );
    assert!(engine
        .run_problems(at.job_id)
        .await
        .expect("problems")
        .is_empty());
}
