//! The model registry over REST (issue 14) with a real agent: a real job's
//! synced checkpoint is published as the best run and registered, its
//! bundle downloads byte for byte (hash, ETag, If-None-Match, Range,
//! If-Range), `model pull` resumes a cut `.part` to an identical result,
//! and bad input is refused naming the field.

use std::io::Read;
use std::path::Path;

use serde_json::{json, Value};
use trainyard_core::models::{BestRunReport, ModelVersionView, ModelView, PublishedBest};
use trainyard_core::protocol::paths;
use trainyard_core::sync::xxh3_hex;
use trainyard_core::{tar, JobStatus};
use trainyard_server::models_cli::{part_path, pull, PullOptions, PullReport};
use trainyard_server::remote::ServerArgs;

use crate::harness::{config, TestServer, KEY};
use crate::jobs_support::{server_with_agent, submit, wait_status};

/// A job that writes a 3 MB checkpoint, an epoch checkpoint and a CSV of
/// val_acc peaking at step 2 (0.9) and ending lower (0.6).
fn job_yaml() -> String {
    let script = r#"
import os
d = os.environ["TRAINYARD_RUN_DIR"]
os.makedirs(os.path.join(d, "ckpt"), exist_ok=True)
with open(os.path.join(d, "metrics.csv"), "w") as f:
    f.write("step,val_acc\n1,0.5\n2,0.9\n3,0.6\n")
with open(os.path.join(d, "ckpt", "best_checkpoint.pt"), "wb") as f:
    f.write(bytes((i * 7) % 251 for i in range(3_000_000)))
with open(os.path.join(d, "ckpt", "epoch_3.pt"), "wb") as f:
    f.write(b"epoch three")
"#;
    format!(
        "project: mp\ngpus: 1\nlr: 0.1\ncommand: [\"python3\", \"-c\", {}]\n",
        serde_json::to_string(script).expect("it serializes")
    )
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let answer = request.bearer_auth(KEY).send().await.expect("sent");
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn bytes_of(response: reqwest::Response) -> Vec<u8> {
    response.bytes().await.expect("a body").to_vec()
}

/// `(path, bytes)` of a bundle's entries.
pub(crate) fn entries(bundle: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(bundle)
        .read_to_end(&mut raw)
        .expect("gzip");
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        let block: [u8; tar::BLOCK] = raw[at..at + tar::BLOCK].try_into().expect("a block");
        let Some(h) = tar::parse_header(&block).expect("valid") else {
            break;
        };
        at += tar::BLOCK;
        out.push((h.path, raw[at..at + h.size as usize].to_vec()));
        at += h.size as usize + tar::padding(h.size);
    }
    out
}

fn server_args(base: &str) -> ServerArgs {
    ServerArgs {
        url: base.to_string(),
        api_key: Some(KEY.into()),
    }
}

fn pull_options(dir: &Path) -> PullOptions {
    PullOptions {
        name: "cls".into(),
        stage: "dev".into(),
        version: "latest".into(),
        dir: dir.to_path_buf(),
        ftp: None,
        ftp_password: Default::default(),
    }
}

async fn pulled(base: &str, dir: &Path) -> PullReport {
    pull(&server_args(base), &pull_options(dir))
        .await
        .unwrap_or_else(|e| panic!("pull: {e:#}"))
}

#[tokio::test]
async fn a_real_checkpoint_is_published_downloaded_in_ranges_and_pulled_resumably() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (_server, base, _agent) = server_with_agent(dir.path(), 1).await;
    let id = submit(&base, &job_yaml()).await.jobs[0].id;
    wait_status(&base, id, JobStatus::Succeeded).await;

    // The best run by its best value (0.9 at step 2), not its last (0.6).
    let (status, best) = send(
        client()
            .get(format!("{base}{}", paths::project_best("mp")))
            .query(&[("metric", "val_acc"), ("mode", "max")]),
    )
    .await;
    assert_eq!(status, 200, "{best}");
    let best: BestRunReport = serde_json::from_value(best).expect("a report");
    let top = best.best.expect("a best run");
    assert_eq!((top.job_id, top.best.value, top.best.step), (id, 0.9, 2.0));
    assert_eq!(top.last.value, 0.6);

    let (status, published) = send(
        client()
            .post(format!("{base}{}", paths::model_publish_best("cls")))
            .json(&json!({"project": "mp", "metric": "val_acc", "mode": "max", "notes": "first"})),
    )
    .await;
    assert_eq!(status, 201, "{published}");
    let published: PublishedBest = serde_json::from_value(published).expect("published");
    let v1 = published.version;
    assert_eq!((v1.version.as_str(), v1.latest), ("v0001", true));

    // The bundle: its hash is the version's and its ETag; it holds the
    // run's checkpoint byte for byte.
    let checkpoint = bytes_of(
        client()
            .get(format!(
                "{base}{}ckpt/best_checkpoint.pt",
                paths::run_files_prefix(id)
            ))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(checkpoint.len(), 3_000_000);
    let url = format!("{base}{}", paths::model_bundle("cls", "dev", "latest"));
    let whole = client()
        .get(&url)
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(whole.status(), 200);
    let etag = whole.headers()["etag"].to_str().expect("ascii").to_string();
    assert_eq!(etag, format!("\"{}\"", v1.bundle_xxh3));
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    let bundle = bytes_of(whole).await;
    assert_eq!(bundle.len() as u64, v1.bundle_bytes);
    assert_eq!(xxh3_hex(&bundle), v1.bundle_xxh3);
    let inside = entries(&bundle);
    let names: Vec<&str> = inside.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "manifest.json",
            "payload/ckpt/best_checkpoint.pt",
            "payload/config.yaml"
        ]
    );
    assert!(
        inside[1].1 == checkpoint,
        "the checkpoint is byte-identical"
    );

    // Revalidation, ranges, a stale If-Range, an unsatisfiable range.
    let get = |headers: &[(&str, String)]| {
        let mut r = client().get(&url).bearer_auth(KEY);
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        r.send()
    };
    let not_modified = get(&[("if-none-match", etag.clone())]).await.expect("sent");
    assert_eq!(not_modified.status(), 304);
    let part = get(&[("range", "bytes=100-199".into())])
        .await
        .expect("sent");
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"],
        format!("bytes 100-199/{}", bundle.len()).as_str()
    );
    assert_eq!(bytes_of(part).await, bundle[100..200]);
    let tail = get(&[
        ("range", format!("bytes={}-", bundle.len() - 10)),
        ("if-range", etag.clone()),
    ])
    .await
    .expect("sent");
    assert_eq!(tail.status(), 206);
    assert_eq!(bytes_of(tail).await, bundle[bundle.len() - 10..]);
    let stale = get(&[
        ("range", "bytes=100-".into()),
        ("if-range", "\"0000000000000000\"".into()),
    ])
    .await
    .expect("sent");
    assert_eq!(stale.status(), 200, "a changed ETag gets the whole file");
    assert_eq!(bytes_of(stale).await.len(), bundle.len());
    let past = get(&[("range", format!("bytes={}-", bundle.len()))])
        .await
        .expect("sent");
    assert_eq!(past.status(), 416);

    // One file of the version, with its own hash as ETag.
    let file = client()
        .get(format!(
            "{base}{}",
            paths::model_file("cls", "dev", "v0001", "ckpt/best_checkpoint.pt")
        ))
        .bearer_auth(KEY)
        .header("range", "bytes=2999990-")
        .send()
        .await
        .expect("sent");
    assert_eq!(file.status(), 206);
    assert_eq!(
        file.headers()["etag"],
        format!("\"{}\"", xxh3_hex(&checkpoint)).as_str()
    );
    assert_eq!(bytes_of(file).await, checkpoint[2_999_990..]);

    // pull: everything, then nothing, then a cut download resumed.
    let into = dir.path().join("pulled");
    let first = pulled(&base, &into).await;
    assert!(!first.up_to_date);
    assert_eq!(first.downloaded, bundle.len() as u64);
    let payload =
        |d: &Path| std::fs::read(d.join("payload/ckpt/best_checkpoint.pt")).expect("pulled");
    assert!(payload(&into) == checkpoint);
    let again = pulled(&base, &into).await;
    assert!(again.up_to_date);
    assert_eq!(again.downloaded, 0);

    let cut = dir.path().join("cut");
    std::fs::create_dir_all(&cut).expect("a dir");
    let half = bundle.len() / 2;
    // A .part of another version is not resumed into this one, it is removed.
    std::fs::write(part_path(&cut, "0123456789abcdef"), b"other version").expect("a stale .part");
    std::fs::write(part_path(&cut, &v1.bundle_xxh3), &bundle[..half]).expect("a .part");
    let resumed = pulled(&base, &cut).await;
    assert_eq!(resumed.resumed_from, Some(half as u64));
    assert_eq!(resumed.downloaded, (bundle.len() - half) as u64);
    assert!(std::fs::read(cut.join("bundle.tar.gz")).expect("kept") == bundle);
    assert!(payload(&cut) == checkpoint);
    assert!(!part_path(&cut, &v1.bundle_xxh3).exists());
    assert!(!part_path(&cut, "0123456789abcdef").exists());

    // A damaged .part is caught by the hash, removed, and the next pull works.
    let damaged = dir.path().join("damaged");
    std::fs::create_dir_all(&damaged).expect("a dir");
    std::fs::write(part_path(&damaged, &v1.bundle_xxh3), vec![0u8; half]).expect("a .part");
    let refused = pull(&server_args(&base), &pull_options(&damaged)).await;
    assert!(format!("{:#}", refused.expect_err("a hash mismatch")).contains("does not hash"),);
    assert!(!part_path(&damaged, &v1.bundle_xxh3).exists());
    assert!(pulled(&base, &damaged).await.resumed_from.is_none());
    assert!(payload(&damaged) == checkpoint);

    // Register more from the same run, promote, and read the model.
    let (status, v2) = send(
        client()
            .post(format!("{base}{}", paths::model_versions("cls")))
            .json(&json!({"job_id": id, "files": ["ckpt/epoch_3.pt"], "version": "epoch3"})),
    )
    .await;
    assert_eq!(status, 201, "{v2}");
    let (status, promoted) = send(
        client()
            .post(format!("{base}{}", paths::model_promote("cls", "v0001")))
            .json(&json!({"to": "release"})),
    )
    .await;
    assert_eq!(status, 201, "{promoted}");
    let promoted: ModelVersionView = serde_json::from_value(promoted).expect("a version");
    assert_eq!(promoted.version, "v0001");
    let (status, same) = send(
        client()
            .post(format!("{base}{}", paths::model_promote("cls", "v0001")))
            .json(&json!({"to": "dev"})),
    )
    .await;
    assert_eq!(
        (status, same["code"].as_str()),
        (400, Some("invalid_model_request"))
    );
    let (status, moved) = send(
        client()
            .put(format!("{base}{}", paths::model_latest("cls", "dev")))
            .json(&json!({"version": "epoch3"})),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let model: ModelView = serde_json::from_value(moved).expect("the model");
    assert_eq!(model.stages[0].latest.as_deref(), Some("epoch3"));
    assert_eq!(model.stages[1].latest.as_deref(), Some("v0001"));
    // The pulled directory follows dev's LATEST on the next pull.
    let followed = pulled(&base, &into).await;
    assert_eq!(followed.version, "epoch3");
    assert!(into.join("payload/ckpt/epoch_3.pt").exists());
    assert!(!into.join("payload/ckpt/best_checkpoint.pt").exists());
}

#[tokio::test]
async fn uploads_and_bad_input_are_answered_with_the_field_and_nothing_half_written() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let base = server.url("");
    let versions = |name: &str| format!("{base}{}", paths::model_versions(name));
    let form = |file_name: &str, version: Option<&str>| {
        let mut f = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"weights".repeat(1000))
                .file_name(file_name.to_string()),
        );
        if let Some(v) = version {
            f = f.text("version", v.to_string());
        }
        f.text("notes", "uploaded")
    };
    let (status, v) = send(
        client()
            .post(versions("up"))
            .multipart(form("model.pth", Some("v1.0"))),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["source"]["type"], "upload");
    let (status, again) = send(
        client()
            .post(versions("up"))
            .multipart(form("model.pth", Some("v1.0"))),
    )
    .await;
    assert_eq!(
        (status, again["code"].as_str()),
        (409, Some("model_version_exists"))
    );
    let (status, traversal) = send(
        client()
            .post(versions("up"))
            .multipart(form("../../escape.pt", None)),
    )
    .await;
    assert_eq!(status, 400, "{traversal}");
    assert!(
        traversal["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("file:"),
        "{traversal}"
    );
    let (status, unknown) = send(
        client()
            .post(versions("up"))
            .multipart(reqwest::multipart::Form::new().text("colour", "red")),
    )
    .await;
    assert_eq!(status, 400, "{unknown}");
    assert!(unknown["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("colour:"));
    let (status, bad_name) = send(
        client()
            .post(versions("Bad Name"))
            .multipart(form("m.pt", None)),
    )
    .await;
    assert_eq!(
        (status, bad_name["code"].as_str()),
        (400, Some("invalid_model_request"))
    );
    assert!(bad_name["message"]
        .as_str()
        .unwrap_or("")
        .starts_with("name:"));

    // A queued job without files: traversal and missing files by name.
    let id = submit(&base, "command: x\ngpus: 0\n").await.jobs[0].id;
    let (status, e) = send(
        client()
            .post(versions("m"))
            .json(&json!({"job_id": id, "files": ["a.pt", "../../etc/passwd"]})),
    )
    .await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["message"].as_str().unwrap_or("").starts_with("files[1]:"),
        "{e}"
    );
    let (status, e) = send(
        client()
            .post(versions("m"))
            .json(&json!({"job_id": id, "files": ["a.pt", "b/c.pth"]})),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("run_files_missing"))
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap_or("")
            .contains("\"a.pt\", \"b/c.pth\""),
        "{e}"
    );
    let (status, e) = send(client().post(versions("m")).json(&json!({"job_id": id}))).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("run_files_missing"))
    );
    let (status, e) = send(client().post(versions("m")).json(&json!({"job": 1}))).await;
    assert_eq!((status, e["code"].as_str()), (400, Some("bad_body")));

    // Unknown model, stage, version, file: 404s naming what.
    for (path, code) in [
        (paths::model("nope"), "model_not_found"),
        (
            paths::model_bundle("nope", "dev", "latest"),
            "model_not_found",
        ),
        (
            paths::model_bundle("up", "prod", "latest"),
            "stage_not_found",
        ),
        (
            paths::model_bundle("up", "dev", "v9"),
            "model_version_not_found",
        ),
        (
            paths::model_bundle("up", "release", "latest"),
            "model_version_not_found",
        ),
        (
            paths::model_file("up", "dev", "v1.0", "other.pt"),
            "file_not_found",
        ),
    ] {
        let (status, e) = send(client().get(format!("{base}{path}"))).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (404, Some(code)),
            "{path}: {e}"
        );
    }
    let (status, e) = send(
        client()
            .post(format!("{base}{}", paths::model_promote("up", "v1.0")))
            .json(&json!({"to": "prod"})),
    )
    .await;
    assert_eq!((status, e["code"].as_str()), (404, Some("stage_not_found")));
    let (status, e) = send(
        client()
            .get(format!("{base}{}", paths::project_best("default")))
            .query(&[("metric", "loss"), ("mode", "avg")]),
    )
    .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("bad_query")));
    let (status, e) = send(
        client()
            .get(format!("{base}{}", paths::project_best("nope")))
            .query(&[("metric", "loss"), ("mode", "min")]),
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("project_not_found"))
    );
    // Without the key: 401, like every route.
    let status = client()
        .get(format!("{base}{}", paths::models()))
        .send()
        .await
        .expect("sent")
        .status();
    assert_eq!(status, 401);

    // Only the one good upload is a version; nothing is left staged.
    let (status, list) = send(client().get(format!("{base}{}", paths::models()))).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["versions"], 1);
    let staged = std::fs::read_dir(dir.path().join("models/.staging"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(staged, 0);
}
