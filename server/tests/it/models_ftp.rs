//! The model registry's FTP mirror against a real FTP server (pyftpdlib,
//! from the project's .venv, with a user and password): uploads and a
//! promotion are mirrored in the seed's layout, `model pull --ftp` gets the
//! same bytes as the server holds (and resumes a cut `.part`), a server that
//! is down or refuses the password leaves the registry intact and is retried,
//! and a hostile LATEST is refused. The password never appears in an answer.
//!
//! Without pyftpdlib in .venv the tests say so and pass, unless
//! TRAINYARD_REQUIRE_FTP=1 (scripts/test.sh sets it), where that fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use trainyard_core::models::{FtpIndex, FtpVersionEntry, MirrorStatus, MirrorView};
use trainyard_core::protocol::paths;
use trainyard_engine::ftp::FtpTarget;
use trainyard_engine::MirrorSettings;
use trainyard_server::ftp_args::FtpPasswordArgs;
use trainyard_server::models_cli::{part_path, pull, PullOptions};
use trainyard_server::remote::ServerArgs;

use crate::harness::{config, fast_thresholds, until, TestServer, KEY};

const USER: &str = "lab";
const PASSWORD: &str = "ftp-pass-5ecret-7781";

/// pyftpdlib with one user whose home is `root`, on `port` (0: a free one);
/// prints the port it listens on.
const FTPD: &str = r#"
import os, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
root, port = sys.argv[1], int(sys.argv[2])
auth = DummyAuthorizer()
auth.add_user(os.environ["FTPD_USER"], os.environ["FTPD_PASSWORD"], root, perm="elradfmwMT")
FTPHandler.authorizer = auth
server = FTPServer(("127.0.0.1", port), FTPHandler)
print("ready", server.address[1], flush=True)
server.serve_forever()
"#;

fn python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the server crate is in the repository")
        .join(".venv/bin/python");
    let ok = python.exists()
        && Command::new(&python)
            .args(["-c", "import pyftpdlib"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        let missing = format!(
            "{} has no pyftpdlib: run scripts/python-env.sh (the README's test command does)",
            python.display()
        );
        assert!(
            std::env::var("TRAINYARD_REQUIRE_FTP").as_deref() != Ok("1"),
            "{missing}"
        );
        println!("# NOT RUN: {missing}");
        return None;
    }
    Some(python)
}

/// A running pyftpdlib; killed when dropped.
struct Ftpd {
    child: Child,
    port: u16,
}

impl Ftpd {
    fn start(python: &Path, root: &Path, port: u16) -> Ftpd {
        let mut child = Command::new(python)
            .args(["-c", FTPD])
            .arg(root)
            .arg(port.to_string())
            .env("FTPD_USER", USER)
            .env("FTPD_PASSWORD", PASSWORD)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("pyftpdlib starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("it says it is ready");
        let port = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("pyftpdlib did not start: {line:?}"));
        Ftpd { child, port }
    }
}

impl Drop for Ftpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn target(port: u16, password: &str) -> FtpTarget {
    FtpTarget::parse(
        &format!("ftp://{USER}@127.0.0.1:{port}/reg"),
        Some(password.into()),
    )
    .expect("a valid URL")
}

async fn start_server(data: &Path, port: u16, password: &str) -> TestServer {
    let mut cfg = config(data, Some(KEY), fast_thresholds());
    let mut mirror = MirrorSettings::new(target(port, password));
    mirror.retry_base = Duration::from_millis(50);
    mirror.retry_max = Duration::from_millis(300);
    cfg.mirror = Some(mirror);
    TestServer::start(cfg).await
}

/// Uploads `files` as a version of `cls` in `stage`.
async fn upload(server: &TestServer, stage: &str, files: &[(&str, &[u8])], latest: bool) -> Value {
    let mut form = reqwest::multipart::Form::new()
        .text("stage", stage.to_string())
        .text("set_latest", latest.to_string());
    for (name, data) in files {
        form = form.part(
            "file",
            reqwest::multipart::Part::bytes(data.to_vec()).file_name(name.to_string()),
        );
    }
    let answer = server
        .client
        .post(server.url(&paths::model_versions("cls")))
        .bearer_auth(KEY)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status().as_u16(), 201);
    answer.json().await.expect("json")
}

async fn text(server: &TestServer, path: &str) -> String {
    server
        .client
        .get(server.url(path))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("text")
}

async fn bytes(server: &TestServer, path: &str) -> Vec<u8> {
    let answer = server
        .client
        .get(server.url(path))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status().as_u16(), 200, "{path}");
    answer.bytes().await.expect("a body").to_vec()
}

async fn mirror_view(server: &TestServer) -> MirrorView {
    let text = text(server, &paths::model_mirror("cls")).await;
    assert!(!text.contains(PASSWORD), "{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Waits until every task is done.
async fn all_mirrored(server: &TestServer, tasks: usize) -> MirrorView {
    until("every mirror task done", || async {
        let view = mirror_view(server).await;
        (view.tasks.len() == tasks && view.tasks.iter().all(|t| t.status == MirrorStatus::Done))
            .then_some(view)
    })
    .await
}

fn pull_options(dir: &Path, stage: &str, version: &str, port: u16) -> PullOptions {
    PullOptions {
        name: "cls".into(),
        stage: stage.into(),
        version: version.into(),
        dir: dir.to_path_buf(),
        ftp: Some(format!("ftp://{USER}@127.0.0.1:{port}/reg")),
        ftp_password: FtpPasswordArgs {
            ftp_password_env: None,
            ftp_password_file: Some(password_file(PASSWORD)),
        },
    }
}

/// A file holding `password` (the tests never set environment variables:
/// they run on parallel threads).
fn password_file(password: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "trainyard-ftp-test-{}-{}",
        std::process::id(),
        trainyard_core::sync::xxh3_hex(password.as_bytes())
    ));
    if !path.exists() {
        let temp = path.with_extension("tmp");
        std::fs::write(&temp, format!("{password}\n")).expect("a password file");
        std::fs::rename(&temp, &path).expect("in place");
    }
    path
}

fn no_server() -> ServerArgs {
    // `--ftp` never talks to the server: a port nothing listens on.
    ServerArgs {
        url: "http://127.0.0.1:9".into(),
        api_key: None,
    }
}

fn weights(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| ((i * 31 + usize::from(seed)) % 253) as u8)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_and_promote_are_mirrored_and_pull_ftp_gets_identical_bytes() {
    let Some(python) = python() else { return };
    let ftp_root = tempfile::tempdir().expect("a temp dir");
    let ftpd = Ftpd::start(&python, ftp_root.path(), 0);
    let data = tempfile::tempdir().expect("a temp dir");
    let server = start_server(data.path(), ftpd.port, PASSWORD).await;

    let first = weights(3_000_000, 1);
    let second = weights(1_500_000, 2);
    upload(
        &server,
        "dev",
        &[("model.pt", &first), ("labels.txt", b"cat\ndog\n")],
        false,
    )
    .await;
    upload(&server, "dev", &[("model.pt", &second)], true).await;
    let promoted = server
        .client
        .post(server.url(&paths::model_promote("cls", "v0001")))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"to": "release", "set_latest": true}))
        .send()
        .await
        .expect("sent");
    assert_eq!(promoted.status().as_u16(), 201);
    let view = all_mirrored(&server, 3).await;
    assert_eq!(
        view.target.as_deref(),
        Some(format!("ftp://{USER}@127.0.0.1:{}/reg", ftpd.port).as_str())
    );

    // The seed's layout, with the server's bytes.
    let dev = ftp_root.path().join("reg/dev/cls");
    let release = ftp_root.path().join("reg/release/cls");
    assert_eq!(
        std::fs::read_to_string(dev.join("LATEST")).expect("LATEST"),
        "v0002\n"
    );
    assert_eq!(
        std::fs::read_to_string(release.join("LATEST")).expect("LATEST"),
        "v0001\n"
    );
    let index: FtpIndex =
        serde_json::from_slice(&std::fs::read(dev.join("index.json")).expect("index"))
            .expect("json");
    assert_eq!(index.model_name, "cls");
    assert_eq!(index.latest.as_deref(), Some("v0002"));
    let names: Vec<&str> = index.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(names, ["v0001", "v0002"]);
    let latest: FtpVersionEntry =
        serde_json::from_slice(&std::fs::read(dev.join("LATEST.json")).expect("LATEST.json"))
            .expect("json");
    assert_eq!(latest, index.versions[1]);
    assert_eq!(latest.bundle, "versions/v0002/bundle.tar.gz");
    for (stage, dir, version) in [
        ("dev", &dev, "v0001"),
        ("dev", &dev, "v0002"),
        ("release", &release, "v0001"),
    ] {
        let v = dir.join("versions").join(version);
        assert_eq!(
            std::fs::read(v.join("bundle.tar.gz")).expect("bundle"),
            bytes(&server, &paths::model_bundle("cls", stage, version)).await,
            "{stage} {version}"
        );
        assert_eq!(
            std::fs::read(v.join("manifest.json")).expect("manifest"),
            bytes(&server, &paths::model_manifest("cls", stage, version)).await
        );
    }
    assert_eq!(
        std::fs::read(dev.join("versions/v0001/payload/model.pt")).expect("payload"),
        first
    );
    assert_eq!(
        std::fs::read(release.join("versions/v0001/payload/labels.txt")).expect("payload"),
        b"cat\ndog\n"
    );
    let leftovers: Vec<_> = walk(ftp_root.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".trainyard-upload"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // pull --ftp: LATEST of release, the same payload; again: up to date.
    let into = tempfile::tempdir().expect("a temp dir");
    let report = pull(
        &no_server(),
        &pull_options(into.path(), "release", "latest", ftpd.port),
    )
    .await
    .unwrap_or_else(|e| panic!("pull --ftp: {e:#}"));
    assert_eq!(report.version, "v0001");
    assert!(!report.up_to_date);
    assert_eq!(
        std::fs::read(into.path().join("payload/model.pt")).expect("pulled"),
        first
    );
    assert_eq!(
        std::fs::read(into.path().join("manifest.json")).expect("pulled"),
        bytes(&server, &paths::model_manifest("cls", "release", "v0001")).await
    );
    let again = pull(
        &no_server(),
        &pull_options(into.path(), "release", "latest", ftpd.port),
    )
    .await
    .expect("pulls");
    assert!(again.up_to_date);
    assert_eq!(again.downloaded, 0);

    // A download cut half-way resumes (REST) to the same bytes.
    let bundle = bytes(&server, &paths::model_bundle("cls", "dev", "v0002")).await;
    let cut = tempfile::tempdir().expect("a temp dir");
    let xxh3 = trainyard_core::sync::xxh3_hex(&bundle);
    std::fs::write(part_path(cut.path(), &xxh3), &bundle[..bundle.len() / 2]).expect("a .part");
    let resumed = pull(
        &no_server(),
        &pull_options(cut.path(), "dev", "v0002", ftpd.port),
    )
    .await
    .unwrap_or_else(|e| panic!("resume: {e:#}"));
    assert_eq!(resumed.resumed_from, Some((bundle.len() / 2) as u64));
    assert_eq!(resumed.downloaded, (bundle.len() - bundle.len() / 2) as u64);
    assert_eq!(
        std::fs::read(cut.path().join("bundle.tar.gz")).expect("renamed"),
        bundle
    );
    assert_eq!(
        std::fs::read(cut.path().join("payload/model.pt")).expect("unpacked"),
        second
    );
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_or_refuses_leaves_the_registry_intact_and_is_retried() {
    let Some(python) = python() else { return };
    // A free port with nothing on it yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let ftp_root = tempfile::tempdir().expect("a temp dir");
    let data = tempfile::tempdir().expect("a temp dir");
    let server = start_server(data.path(), port, PASSWORD).await;
    let data_v1 = weights(100_000, 3);
    upload(&server, "dev", &[("model.pt", &data_v1)], false).await;
    let failed = until("the mirror task failed", || async {
        let view = mirror_view(&server).await;
        view.tasks
            .first()
            .filter(|t| t.status == MirrorStatus::Failed)
            .cloned()
    })
    .await;
    let error = failed.last_error.expect("an error");
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(failed.next_attempt_ms.is_some());
    // The registry is whole: the version downloads.
    let model: Value =
        serde_json::from_str(&text(&server, &paths::model("cls")).await).expect("json");
    assert_eq!(model["stages"][0]["latest"], "v0001");
    let bundle = bytes(&server, &paths::model_bundle("cls", "dev", "v0001")).await;
    // The server comes up: the task is retried and completes.
    let _ftpd = Ftpd::start(&python, ftp_root.path(), port);
    let view = all_mirrored(&server, 1).await;
    assert!(view.tasks[0].attempts >= 2);
    assert_eq!(
        std::fs::read(
            ftp_root
                .path()
                .join("reg/dev/cls/versions/v0001/bundle.tar.gz")
        )
        .expect("mirrored"),
        bundle
    );
    server.stop().await.expect("stops");

    // A wrong password: failed with the server's refusal, never the password.
    let wrong = "wrong-pass-9d8e7f6a5b";
    let data = tempfile::tempdir().expect("a temp dir");
    let server = start_server(data.path(), _ftpd.port, wrong).await;
    upload(&server, "dev", &[("model.pt", b"w")], true).await;
    let failed = until("the mirror task failed", || async {
        let view = mirror_view(&server).await;
        view.tasks
            .first()
            .filter(|t| t.status == MirrorStatus::Failed)
            .cloned()
    })
    .await;
    let error = failed.last_error.expect("an error");
    assert!(error.contains("log in") && error.contains("530"), "{error}");
    for answer in [
        text(&server, &paths::model_mirror("cls")).await,
        text(&server, &paths::model("cls")).await,
        text(&server, &paths::models()).await,
    ] {
        assert!(!answer.contains(wrong), "{answer}");
    }
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_latest_or_version_is_refused_before_it_names_a_path() {
    let Some(python) = python() else { return };
    let ftp_root = tempfile::tempdir().expect("a temp dir");
    let stage = ftp_root.path().join("reg/release/cls");
    std::fs::create_dir_all(&stage).expect("dirs");
    std::fs::write(stage.join("LATEST"), "../../../etc/passwd\n").expect("LATEST");
    let ftpd = Ftpd::start(&python, ftp_root.path(), 0);
    let into = tempfile::tempdir().expect("a temp dir");
    let err = pull(
        &no_server(),
        &pull_options(into.path(), "release", "latest", ftpd.port),
    )
    .await
    .expect_err("refused");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("LATEST names") && msg.contains("not a version"),
        "{msg}"
    );
    let err = pull(
        &no_server(),
        &pull_options(into.path(), "release", "../x", ftpd.port),
    )
    .await
    .expect_err("refused");
    assert!(format!("{err:#}").contains("--version"), "{err:#}");
    // A wrong password for the pull: the server's refusal, not the password.
    let mut o = pull_options(into.path(), "release", "latest", ftpd.port);
    o.ftp_password.ftp_password_file = Some(password_file("not-the-password-42"));
    let msg = format!("{:#}", pull(&no_server(), &o).await.expect_err("refused"));
    assert!(
        msg.contains("530") && !msg.contains("not-the-password-42"),
        "{msg}"
    );
    // A password inside the URL is refused without repeating it.
    o.ftp = Some(format!(
        "ftp://{USER}:inline-secret@127.0.0.1:{}/reg",
        ftpd.port
    ));
    let msg = format!("{:#}", pull(&no_server(), &o).await.expect_err("refused"));
    assert!(
        msg.contains("--ftp") && !msg.contains("inline-secret"),
        "{msg}"
    );
    assert!(std::fs::read_dir(into.path())
        .expect("dir")
        .next()
        .is_none());
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

/// Not a check: prints how long `model pull` takes over HTTP and over FTP
/// (pyftpdlib) for the same ~200 MB bundle, and how long the mirror took.
/// `cargo test -p trainyard-server --test it models_ftp::pull_throughput -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn pull_throughput_http_vs_ftp() {
    let Some(python) = python() else { return };
    let mb: usize = std::env::var("TRAINYARD_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let ftp_root = tempfile::tempdir().expect("a temp dir");
    let ftpd = Ftpd::start(&python, ftp_root.path(), 0);
    let data = tempfile::tempdir().expect("a temp dir");
    let mut cfg = config(data.path(), Some(KEY), fast_thresholds());
    cfg.files.max_file_bytes = 1 << 40;
    cfg.mirror = Some(MirrorSettings::new(target(ftpd.port, PASSWORD)));
    let server = TestServer::start(cfg).await;
    // Incompressible: checkpoints barely compress.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let payload: Vec<u8> = (0..mb << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let started = std::time::Instant::now();
    upload(&server, "dev", &[("model.pt", &payload)], true).await;
    let registered = started.elapsed();
    let started = std::time::Instant::now();
    let mut waited = std::time::Duration::ZERO;
    loop {
        let view = mirror_view(&server).await;
        if view.tasks.iter().all(|t| t.status == MirrorStatus::Done) {
            break;
        }
        assert!(waited < Duration::from_secs(600), "mirror too slow");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    let mirrored = started.elapsed();
    let http_dir = tempfile::tempdir().expect("a temp dir");
    let started = std::time::Instant::now();
    let http = pull(
        &ServerArgs {
            url: format!("http://{}", server.addr),
            api_key: Some(KEY.into()),
        },
        &PullOptions {
            ftp: None,
            ..pull_options(http_dir.path(), "dev", "latest", ftpd.port)
        },
    )
    .await
    .expect("http pull");
    let http_time = started.elapsed();
    let ftp_dir = tempfile::tempdir().expect("a temp dir");
    let started = std::time::Instant::now();
    let ftp = pull(
        &no_server(),
        &pull_options(ftp_dir.path(), "dev", "latest", ftpd.port),
    )
    .await
    .expect("ftp pull");
    let ftp_time = started.elapsed();
    assert_eq!(
        std::fs::read(http_dir.path().join("bundle.tar.gz")).expect("http"),
        std::fs::read(ftp_dir.path().join("bundle.tar.gz")).expect("ftp")
    );
    let rate = |bytes: u64, t: Duration| bytes as f64 / (1 << 20) as f64 / t.as_secs_f64();
    println!(
        "bundle {} MiB: register {:.2}s; mirror {:.2}s ({:.0} MiB/s); \
         pull HTTP {:.2}s ({:.0} MiB/s); pull FTP {:.2}s ({:.0} MiB/s)",
        http.downloaded >> 20,
        registered.as_secs_f64(),
        mirrored.as_secs_f64(),
        rate(http.downloaded, mirrored),
        http_time.as_secs_f64(),
        rate(http.downloaded, http_time),
        ftp_time.as_secs_f64(),
        rate(ftp.downloaded, ftp_time),
    );
    server.stop().await.expect("stops");
}

/// Kills the process when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_is_never_logged_even_at_trace_level() {
    let Some(python) = python() else { return };
    let ftp_root = tempfile::tempdir().expect("a temp dir");
    let ftpd = Ftpd::start(&python, ftp_root.path(), 0);
    let dir = tempfile::tempdir().expect("a temp dir");
    let wrong = "trace-me-if-you-can-31337";
    let password = dir.path().join("pw");
    std::fs::write(&password, format!("{wrong}\n")).expect("written");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let log = dir.path().join("stderr.log");
    let child = Command::new(env!("CARGO_BIN_EXE_trainyard"))
        .args(["serve", "--server-only", "--port", &port.to_string()])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--api-key", KEY])
        .args([
            "--ftp-url",
            &format!("ftp://{USER}@127.0.0.1:{}/reg", ftpd.port),
            "--ftp-retry-max",
            "0.2",
        ])
        .arg("--ftp-password-file")
        .arg(&password)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("a log file"))
        .spawn()
        .expect("trainyard starts");
    let child = Killed(child);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    until("the server answers", || async {
        client
            .get(format!("{base}{}", paths::models()))
            .bearer_auth(KEY)
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"w".to_vec()).file_name("m.pt"),
    );
    let answer = client
        .post(format!("{base}{}", paths::model_versions("cls")))
        .bearer_auth(KEY)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status().as_u16(), 201);
    until("two refused attempts", || async {
        let view: MirrorView = client
            .get(format!("{base}{}", paths::model_mirror("cls")))
            .bearer_auth(KEY)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        view.tasks.first().filter(|t| t.attempts >= 2).cloned()
    })
    .await;
    drop(child);
    let text = std::fs::read_to_string(&log).expect("the log");
    assert!(text.contains("FTP mirror failed"), "{text}");
    assert!(text.contains("530"), "the refusal is logged");
    assert!(!text.contains(wrong), "the password is in the log");
}
