//! Run files through the engine: offset- and hash-checked appends,
//! resumable whole-file uploads, status, listing, CSV metrics, bad input.

use trainyard_core::sync::{xxh3_hex, AppendQuery, SyncKind, UploadQuery};
use trainyard_core::work::AttemptRef;
use trainyard_engine::{Engine, EngineError, FileSettings};

use crate::fixtures::{engine_with_settings, fresh, open, point_count, running_job};

fn append_query(offset: u64, data: &[u8]) -> AppendQuery {
    AppendQuery {
        offset,
        xxh3: xxh3_hex(data),
    }
}

async fn append(
    engine: &Engine,
    at: AttemptRef,
    path: &str,
    offset: u64,
    data: &[u8],
) -> Result<u64, EngineError> {
    engine
        .append_run_file(at, path, &append_query(offset, data), data)
        .await
}

fn upload_query(whole: &[u8], offset: u64, chunk: &[u8]) -> UploadQuery {
    UploadQuery {
        size: whole.len() as u64,
        xxh3: xxh3_hex(whole),
        offset,
        chunk_xxh3: xxh3_hex(chunk),
    }
}

async fn download(engine: &Engine, job_id: i64, path: &str) -> Vec<u8> {
    let (full, _) = engine
        .locate_run_file(job_id, path)
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    tokio::fs::read(full).await.expect("the file is readable")
}

#[tokio::test]
async fn appends_land_once_and_a_gap_or_overlap_is_told_the_size() {
    let engine = fresh().await;
    let at = running_job(&engine).await;
    let ok = |r: Result<u64, EngineError>| r.expect("the append is accepted");
    assert_eq!(ok(append(&engine, at, "train.log", 0, b"one\n").await), 4);
    assert_eq!(
        ok(append(&engine, at, "train.log", 0, b"one\n").await),
        4,
        "a retry is acknowledged"
    );
    assert_eq!(ok(append(&engine, at, "train.log", 4, b"two\n").await), 8);
    match append(&engine, at, "train.log", 20, b"gap").await {
        Err(EngineError::FileOffsetMismatch { size: 8, .. }) => {}
        other => panic!("expected a mismatch with size 8, got {other:?}"),
    }
    match append(&engine, at, "train.log", 6, b"overlap!").await {
        Err(EngineError::FileOffsetMismatch { size: 8, .. }) => {}
        other => panic!("expected a mismatch with size 8, got {other:?}"),
    }
    // A chunk whose bytes do not match the named hash is refused, nothing written.
    let q = AppendQuery {
        offset: 8,
        xxh3: xxh3_hex(b"three\n"),
    };
    match engine
        .append_run_file(at, "train.log", &q, b"thr33\n")
        .await
    {
        Err(e @ EngineError::HashMismatch { .. }) => {
            assert!(e.to_string().contains("resend"), "{e}")
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    assert_eq!(
        download(&engine, at.job_id, "train.log").await,
        b"one\ntwo\n"
    );
    let status = engine
        .sync_status(at)
        .await
        .expect("the sync status is answered");
    assert_eq!(status.files.len(), 1);
    assert_eq!(status.files[0].path, "train.log");
    assert_eq!(status.files[0].kind, SyncKind::Append);
    assert_eq!(status.files[0].size, 8);
    assert_eq!(status.files[0].xxh3, xxh3_hex(b"one\ntwo\n"));
}

#[tokio::test]
async fn an_interrupted_upload_resumes_and_the_old_version_stays_until_it_is_complete() {
    let engine = fresh().await;
    let at = running_job(&engine).await;
    let v1 = vec![7u8; 1000];
    let q = upload_query(&v1, 0, &v1);
    let ack = engine
        .upload_run_file_chunk(at, "ckpt/model.pt", &q, &v1)
        .await
        .expect("the chunk is accepted");
    assert!(ack.complete);

    let v2: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let (first, rest) = v2.split_at(1200);
    let ack = engine
        .upload_run_file_chunk(at, "ckpt/model.pt", &upload_query(&v2, 0, first), first)
        .await
        .expect("the chunk is accepted");
    assert_eq!((ack.received, ack.complete), (1200, false));
    // The old version is still what a reader gets.
    assert_eq!(download(&engine, at.job_id, "ckpt/model.pt").await, v1);
    // The status says where to resume.
    let status = engine
        .sync_status(at)
        .await
        .expect("the sync status is answered");
    assert_eq!(status.uploads.len(), 1);
    assert_eq!(status.uploads[0].received, 1200);
    assert_eq!(status.uploads[0].xxh3, xxh3_hex(&v2));
    // A chunk that does not start there is told the server's count.
    match engine
        .upload_run_file_chunk(
            at,
            "ckpt/model.pt",
            &upload_query(&v2, 2000, &rest[800..]),
            &rest[800..],
        )
        .await
    {
        Err(EngineError::FileOffsetMismatch { size: 1200, .. }) => {}
        other => panic!("expected a mismatch at 1200, got {other:?}"),
    }
    // A retried first chunk is harmless.
    engine
        .upload_run_file_chunk(at, "ckpt/model.pt", &upload_query(&v2, 0, first), first)
        .await
        .expect("the chunk is accepted");
    let ack = engine
        .upload_run_file_chunk(at, "ckpt/model.pt", &upload_query(&v2, 1200, rest), rest)
        .await
        .expect("the chunk is accepted");
    assert!(ack.complete);
    assert_eq!(download(&engine, at.job_id, "ckpt/model.pt").await, v2);
    let status = engine
        .sync_status(at)
        .await
        .expect("the sync status is answered");
    assert!(status.uploads.is_empty());
    // Sending the same version again is complete at once.
    let ack = engine
        .upload_run_file_chunk(at, "ckpt/model.pt", &upload_query(&v2, 0, b""), b"")
        .await
        .expect("the chunk is accepted");
    assert!(ack.complete);
}

#[tokio::test]
async fn a_complete_upload_with_the_wrong_hash_is_discarded() {
    let engine = fresh().await;
    let at = running_job(&engine).await;
    let claimed = b"the real content";
    let sent = b"the fake content";
    let q = UploadQuery {
        size: sent.len() as u64,
        xxh3: xxh3_hex(claimed),
        offset: 0,
        chunk_xxh3: xxh3_hex(sent),
    };
    match engine
        .upload_run_file_chunk(at, "config.yaml", &q, sent)
        .await
    {
        Err(e @ EngineError::HashMismatch { .. }) => {
            assert!(e.to_string().contains("offset 0"), "{e}")
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    let status = engine
        .sync_status(at)
        .await
        .expect("the sync status is answered");
    assert!(
        status.files.is_empty() && status.uploads.is_empty(),
        "{status:?}"
    );
}

#[tokio::test]
async fn paths_that_escape_the_run_dir_are_refused_and_nothing_is_written_outside() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let engine = open(dir.path()).await;
    let at = running_job(&engine).await;
    for bad in [
        "../escape.csv",
        "/abs.csv",
        "a/../../b.csv",
        "a\\b.csv",
        "a//b.csv",
        "C:/x.csv",
        "x\u{0}.csv",
    ] {
        match append(&engine, at, bad, 0, b"x\n").await {
            Err(EngineError::BadRunPath { .. }) => {}
            other => panic!("{bad:?}: expected bad path, got {other:?}"),
        }
        let q = upload_query(b"x", 0, b"x");
        match engine.upload_run_file_chunk(at, bad, &q, b"x").await {
            Err(EngineError::BadRunPath { .. }) => {}
            other => panic!("{bad:?}: expected bad path, got {other:?}"),
        }
    }
    assert!(!dir.path().join("escape.csv").exists());
    assert!(!dir.path().join("runs").join("escape.csv").exists());
    match engine.locate_run_file(at.job_id, "../trainyard.db").await {
        Err(EngineError::BadRunPath { .. }) => {}
        other => panic!("expected bad path, got {other:?}"),
    }
    match engine.locate_run_file(at.job_id, "missing.txt").await {
        Err(EngineError::RunFileNotFound { .. }) => {}
        other => panic!("expected not found, got {other:?}"),
    }
}

#[tokio::test]
async fn files_over_the_limit_are_refused() {
    let engine = engine_with_settings(|s| {
        s.files = FileSettings {
            max_file_bytes: 100,
        }
    })
    .await;
    let at = running_job(&engine).await;
    let big = vec![1u8; 101];
    match engine
        .upload_run_file_chunk(
            at,
            "model.pt",
            &upload_query(&big, 0, &big[..10]),
            &big[..10],
        )
        .await
    {
        Err(EngineError::FileTooLarge {
            size: 101,
            limit: 100,
            ..
        }) => {}
        other => panic!("expected too large, got {other:?}"),
    }
    append(&engine, at, "a.log", 0, &[b'x'; 60])
        .await
        .expect("append");
    match append(&engine, at, "a.log", 60, &[b'x'; 60]).await {
        Err(EngineError::FileTooLarge { .. }) => {}
        other => panic!("expected too large, got {other:?}"),
    }
}

#[tokio::test]
async fn superseded_attempts_cannot_write_files() {
    let engine = fresh().await;
    let at = running_job(&engine).await;
    engine
        .cancel_job(at.job_id)
        .await
        .expect("the cancel is accepted");
    let old = AttemptRef {
        job_id: at.job_id,
        attempt: at.attempt + 1,
    };
    match append(&engine, old, "a.log", 0, b"x").await {
        Err(EngineError::Superseded(_)) => {}
        other => panic!("expected superseded, got {other:?}"),
    }
}

#[tokio::test]
async fn csv_rows_become_metrics_once_even_when_chunks_split_lines_and_repeat() {
    let engine = fresh().await;
    let at = running_job(&engine).await;
    let text = b"step,loss,acc\n0,1.0,0.1\n1,0.8,0.2\n2,0.6,oops,extra\n3,0.5,0.4\n";
    // Chunks that split lines, each sent twice.
    let mut offset = 0;
    for chunk in text.chunks(7) {
        append(&engine, at, "metrics.csv", offset, chunk)
            .await
            .expect("append");
        append(&engine, at, "metrics.csv", offset, chunk)
            .await
            .expect("append");
        offset += chunk.len() as u64;
    }
    let keys = engine
        .metric_keys(at.job_id)
        .await
        .expect("the metric keys are listed");
    let loss = keys
        .iter()
        .find(|k| k.key == "loss")
        .unwrap_or_else(|| panic!("{keys:?}"));
    assert_eq!((loss.count, loss.last, loss.min), (3, 0.5, 0.5));
    let problems = engine
        .run_problems(at.job_id)
        .await
        .expect("the problems are listed");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(
        (problems[0].source.as_str(), problems[0].line),
        ("metrics.csv", Some(4))
    );

    // pandas adds a column: the file is rewritten whole; only new rows count.
    let rewritten = b"step,loss,acc,val_acc\n0,1.0,0.1,\n1,0.8,0.2,\n3,0.5,0.4,\n4,0.4,0.5,0.45\n";
    let q = upload_query(rewritten, 0, rewritten);
    engine
        .upload_run_file_chunk(at, "metrics.csv", &q, rewritten)
        .await
        .expect("the chunk is accepted");
    assert_eq!(point_count(&engine, at.job_id, "loss").await, Some(4));
    assert_eq!(point_count(&engine, at.job_id, "val_acc").await, Some(1));
    // And appends continue after the rewrite.
    append(
        &engine,
        at,
        "metrics.csv",
        rewritten.len() as u64,
        b"5,0.3,0.6,0.5\n",
    )
    .await
    .expect("append");
    assert_eq!(point_count(&engine, at.job_id, "loss").await, Some(5));
    assert_eq!(point_count(&engine, at.job_id, "val_acc").await, Some(2));
}

#[tokio::test]
async fn csv_indexing_survives_a_restart_without_duplicates() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let at = {
        let engine = open(dir.path()).await;
        let at = running_job(&engine).await;
        append(&engine, at, "metrics.csv", 0, b"step,loss\n0,1\n1,")
            .await
            .expect("append");
        at
    };
    let engine = open(dir.path()).await;
    append(&engine, at, "metrics.csv", 16, b"0.5\n2,0.25\n")
        .await
        .expect("append");
    let keys = engine
        .metric_keys(at.job_id)
        .await
        .expect("the metric keys are listed");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!((keys[0].count, keys[0].last), (3, 0.25));
    let files = engine
        .run_files(at.job_id)
        .await
        .expect("the run files are listed");
    assert_eq!(
        files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        vec!["metrics.csv"]
    );
}
