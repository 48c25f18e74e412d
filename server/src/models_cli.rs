//! `trainyard model list|show|best|register|publish-best|promote|latest|pull`:
//! the model registry from a shell, over REST (`--url`, `--api-key` like
//! the other commands). `pull` resolves LATEST, skips what the directory
//! already holds (by hash), downloads the bundle to `.part` (resuming it
//! with `Range`/`If-Range`), checks its hash, renames it and unpacks it once.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use futures::StreamExt;
use reqwest::header::{IF_RANGE, RANGE};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use trainyard_core::models::{
    validate_ftp_segment, validate_model_name, validate_version_name, BestRunReport, FtpIndex,
    ModelManifest, ModelSummary, ModelVersionView, ModelView, PromoteRequest, PublishBest,
    PublishedBest, RegisterFromRun, SetLatest, Stage, BUNDLE_FILE, FTP_INDEX, FTP_LATEST,
    FTP_VERSIONS, LATEST, MANIFEST_FILE, PAYLOAD_DIR,
};
use trainyard_core::protocol::paths;
use trainyard_core::serving::{ServeRequest, ServingState, ServingView};

use trainyard_engine::ftp::{FtpSession, FtpTarget};

use crate::remote::{RemoteServer, ServerArgs};

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Every model with its LATEST versions.
    List,
    /// A model's versions per stage.
    Show { name: String },
    /// The runs of a project ranked by their best value of a metric.
    Best {
        project: String,
        #[arg(long)]
        metric: String,
        /// min or max.
        #[arg(long)]
        mode: String,
        #[arg(long)]
        sweep: Option<i64>,
    },
    /// A version from a run's files (`--job`), or from local files (`--upload`).
    Register {
        name: String,
        /// The run (job id) whose files to publish.
        #[arg(long, conflicts_with = "upload")]
        job: Option<i64>,
        /// Run file paths (repeat); default: the run's checkpoint.
        #[arg(long = "file")]
        files: Vec<String>,
        /// Local files to upload (repeat); each is stored under its file name.
        #[arg(long)]
        upload: Vec<PathBuf>,
        #[command(flatten)]
        version: VersionOptions,
    },
    /// The best run of a project (or sweep) by a metric, registered.
    PublishBest {
        name: String,
        #[arg(long)]
        project: String,
        #[arg(long)]
        sweep: Option<i64>,
        #[arg(long)]
        metric: String,
        /// min or max.
        #[arg(long)]
        mode: String,
        #[arg(long = "file")]
        files: Vec<String>,
        #[command(flatten)]
        version: VersionOptions,
    },
    /// Copies a version from one stage to the other.
    Promote {
        name: String,
        version: String,
        #[arg(long)]
        to: String,
        /// The stage the version is in (default dev).
        #[arg(long)]
        from: Option<String>,
        /// The new version's name in the target stage (default: its next number).
        #[arg(long = "as")]
        as_version: Option<String>,
        #[arg(long)]
        notes: Option<String>,
        #[arg(long)]
        set_latest: bool,
    },
    /// Points a stage's LATEST at a version.
    Latest {
        name: String,
        stage: String,
        version: String,
    },
    /// Downloads a version into a directory (payload/ and manifest.json).
    Pull(PullOptions),
    /// Serves a stage's LATEST behind /serve/<name>/<stage>/ (or stops it).
    Serve(ServeOptions),
}

#[derive(Debug, Clone, Args)]
pub struct ServeOptions {
    pub name: String,
    #[arg(long, default_value = "release")]
    pub stage: String,
    /// Command template with {model_dir} and {port} [default: the model's
    /// last serving command, else `mlflow models serve -m {model_dir} -p {port}`]
    #[arg(long, conflicts_with = "stop")]
    pub command: Option<String>,
    /// GPUs for the server process [default: 0]
    #[arg(long, conflicts_with = "stop")]
    pub gpus: Option<u32>,
    /// Run it on this host [default: placed like any job]
    #[arg(long, conflicts_with = "stop")]
    pub host: Option<String>,
    /// Path that answers 200 once it is ready [default: /health]
    #[arg(long, conflicts_with = "stop")]
    pub health_path: Option<String>,
    /// Stop serving the stage instead.
    #[arg(long)]
    pub stop: bool,
    /// Wait until it serves (or fails) and say which.
    #[arg(long, conflicts_with = "stop")]
    pub wait: bool,
}

/// Where a new version goes and what it says.
#[derive(Debug, Clone, Args)]
pub struct VersionOptions {
    /// dev (default) or release.
    #[arg(long)]
    pub stage: Option<String>,
    /// An explicit version name (default: the next v0001-style number).
    #[arg(long = "version-name")]
    pub version: Option<String>,
    #[arg(long)]
    pub notes: Option<String>,
    /// Move the stage's LATEST to the new version.
    #[arg(long)]
    pub set_latest: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PullOptions {
    pub name: String,
    #[arg(long, default_value = "release")]
    pub stage: String,
    /// A version name, or latest.
    #[arg(long, default_value = LATEST)]
    pub version: String,
    /// Where to put it.
    #[arg(long)]
    pub dir: PathBuf,
    /// Pull from the registry's FTP mirror instead of the server:
    /// ftp://user@host:port/root (the password from --ftp-password-env,
    /// --ftp-password-file or TRAINYARD_FTP_PASSWORD).
    #[arg(long, value_name = "URL")]
    pub ftp: Option<String>,
    #[command(flatten)]
    pub ftp_password: crate::ftp_args::FtpPasswordArgs,
}

/// What `pull` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullReport {
    pub version: String,
    pub bundle_xxh3: String,
    /// The directory already held this version; nothing was downloaded.
    pub up_to_date: bool,
    /// A `.part` this long was resumed.
    pub resumed_from: Option<u64>,
    /// Bytes received this time.
    pub downloaded: u64,
}

use trainyard_agent::bundle::{hash_blocking, unpack, PULLED};

fn flag(set: bool) -> Option<bool> {
    set.then_some(true)
}

fn print_version(v: &ModelVersionView) {
    println!(
        "{} {} {}: {} file(s), {} bytes, bundle {} bytes xxh3 {}{}",
        v.model,
        v.stage,
        v.version,
        v.files,
        v.bytes,
        v.bundle_bytes,
        v.bundle_xxh3,
        if v.latest { " (LATEST)" } else { "" }
    );
}

pub async fn run(args: ModelArgs) -> anyhow::Result<()> {
    let server = RemoteServer::new(&args.server)?;
    match args.command {
        ModelCommand::List => {
            let models: Vec<ModelSummary> = server
                .json(server.http.get(server.url(&paths::models())), "models")
                .await?;
            if models.is_empty() {
                println!("no models yet");
            }
            for m in models {
                println!(
                    "{}\t{} version(s)\tdev LATEST {}\trelease LATEST {}",
                    m.name,
                    m.versions,
                    m.latest_dev.as_deref().unwrap_or("-"),
                    m.latest_release.as_deref().unwrap_or("-")
                );
            }
        }
        ModelCommand::Show { name } => {
            let model: ModelView = server
                .json(server.http.get(server.url(&paths::model(&name))), &name)
                .await?;
            for stage in &model.stages {
                println!(
                    "{} (LATEST {})",
                    stage.stage,
                    stage.latest.as_deref().unwrap_or("-")
                );
                for v in &stage.versions {
                    print!("  ");
                    print_version(v);
                }
            }
        }
        ModelCommand::Best {
            project,
            metric,
            mode,
            sweep,
        } => {
            let mut q = vec![("metric", metric), ("mode", mode)];
            if let Some(s) = sweep {
                q.push(("sweep", s.to_string()));
            }
            let report: BestRunReport = server
                .json(
                    server
                        .http
                        .get(server.url(&paths::project_best(&project)))
                        .query(&q),
                    "best run",
                )
                .await?;
            for r in &report.ranked {
                println!(
                    "run {} {}\tbest {} at step {}\tlast {}",
                    r.job_id, r.name, r.best.value, r.best.step, r.last.value
                );
            }
            for s in &report.skipped {
                println!("skipped run {} {}: {}", s.job_id, s.name, s.reason);
            }
        }
        ModelCommand::Register {
            name,
            job,
            files,
            upload,
            version,
        } => {
            let v = match (job, upload.is_empty()) {
                (Some(job_id), true) => {
                    let req = RegisterFromRun {
                        job_id,
                        files: (!files.is_empty()).then_some(files),
                        stage: version.stage,
                        version: version.version,
                        notes: version.notes,
                        set_latest: flag(version.set_latest),
                    };
                    server
                        .json::<ModelVersionView>(
                            server
                                .http
                                .post(server.url(&paths::model_versions(&name)))
                                .json(&req),
                            "register",
                        )
                        .await?
                }
                (None, false) => upload_files(&server, &name, &upload, &version).await?,
                _ => bail!("register: give --job ID (a run's files) or --upload FILE…"),
            };
            print_version(&v);
        }
        ModelCommand::PublishBest {
            name,
            project,
            sweep,
            metric,
            mode,
            files,
            version,
        } => {
            let req = PublishBest {
                project,
                sweep,
                metric,
                mode: mode.parse().map_err(anyhow::Error::msg)?,
                stage: version.stage,
                files: (!files.is_empty()).then_some(files),
                version: version.version,
                notes: version.notes,
                set_latest: flag(version.set_latest),
            };
            let published: PublishedBest = server
                .json(
                    server
                        .http
                        .post(server.url(&paths::model_publish_best(&name)))
                        .json(&req),
                    "publish-best",
                )
                .await?;
            println!(
                "best: run {} {} ({} {} at step {})",
                published.best.job_id,
                published.best.name,
                req.metric,
                published.best.best.value,
                published.best.best.step
            );
            print_version(&published.version);
        }
        ModelCommand::Promote {
            name,
            version,
            to,
            from,
            as_version,
            notes,
            set_latest,
        } => {
            let req = PromoteRequest {
                to,
                from,
                version: as_version,
                notes,
                set_latest: flag(set_latest),
            };
            let v: ModelVersionView = server
                .json(
                    server
                        .http
                        .post(server.url(&paths::model_promote(&name, &version)))
                        .json(&req),
                    "promote",
                )
                .await?;
            print_version(&v);
        }
        ModelCommand::Latest {
            name,
            stage,
            version,
        } => {
            let _: ModelView = server
                .json(
                    server
                        .http
                        .put(server.url(&paths::model_latest(&name, &stage)))
                        .json(&SetLatest {
                            version: version.clone(),
                        }),
                    "latest",
                )
                .await?;
            println!("{name} {stage} LATEST is {version}");
        }
        ModelCommand::Serve(options) => {
            let view = serve_with(&server, &options).await?;
            print_serving(&server, &view);
            if view.state == ServingState::Failed {
                bail!("{} {} failed to serve", view.model, view.stage);
            }
        }
        ModelCommand::Pull(options) => {
            let report = pull_with(&server, &options).await?;
            if report.up_to_date {
                println!(
                    "{} already holds {} {} {}",
                    options.dir.display(),
                    options.name,
                    options.stage,
                    report.version
                );
            } else {
                println!(
                    "pulled {} {} {} into {} ({} bytes downloaded{})",
                    options.name,
                    options.stage,
                    report.version,
                    options.dir.display(),
                    report.downloaded,
                    report
                        .resumed_from
                        .map(|n| format!(", resumed at {n}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

async fn upload_files(
    server: &RemoteServer,
    name: &str,
    files: &[PathBuf],
    options: &VersionOptions,
) -> anyhow::Result<ModelVersionView> {
    let mut form = reqwest::multipart::Form::new();
    for path in files {
        let file = tokio::fs::File::open(path)
            .await
            .with_context(|| format!("{}", path.display()))?;
        let len = file.metadata().await?.len();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .with_context(|| format!("{}: not a file name", path.display()))?;
        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(file));
        form = form.part(
            "file",
            reqwest::multipart::Part::stream_with_length(body, len).file_name(file_name),
        );
    }
    if let Some(stage) = &options.stage {
        form = form.text("stage", stage.clone());
    }
    if let Some(version) = &options.version {
        form = form.text("version", version.clone());
    }
    if let Some(notes) = &options.notes {
        form = form.text("notes", notes.clone());
    }
    if options.set_latest {
        form = form.text("set_latest", "true");
    }
    server
        .json(
            server
                .http
                .post(server.url(&paths::model_versions(name)))
                .multipart(form),
            "upload",
        )
        .await
}

/// `trainyard model serve` against `server` (the library function the
/// command runs): the deployment as the server last told it.
pub async fn serve(server: &ServerArgs, options: &ServeOptions) -> anyhow::Result<ServingView> {
    serve_with(&RemoteServer::new(server)?, options).await
}

async fn serve_with(server: &RemoteServer, o: &ServeOptions) -> anyhow::Result<ServingView> {
    let url = server.url(&paths::model_serve(&o.name, &o.stage));
    if o.stop {
        return server
            .json(server.http.delete(url), &format!("stop serving {}", o.name))
            .await;
    }
    let req = ServeRequest {
        command: o.command.clone(),
        gpus: o.gpus,
        host: o.host.clone(),
        health_path: o.health_path.clone(),
    };
    let what = format!("serve {} {}", o.name, o.stage);
    let mut view: ServingView = server.json(server.http.post(url).json(&req), &what).await?;
    while o.wait && view.state == ServingState::Starting {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let model: ModelView = server
            .json(server.http.get(server.url(&paths::model(&o.name))), &what)
            .await?;
        match model.serving.into_iter().find(|s| s.id == view.id) {
            Some(now) => view = now,
            None => bail!("{what}: the deployment is gone (served again elsewhere?)"),
        }
    }
    Ok(view)
}

fn print_serving(server: &RemoteServer, v: &ServingView) {
    println!(
        "{} {} {}: {}{}",
        v.model,
        v.stage,
        v.version,
        v.state.as_str(),
        v.reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    if v.state != ServingState::Stopped {
        println!("  url   {}", server.url(&v.url));
    }
    println!(
        "  job   {} attempt {} on {}",
        v.job_id,
        v.attempt,
        v.host.as_deref().unwrap_or("-")
    );
    for line in &v.last_lines {
        println!("  | {line}");
    }
}

/// `trainyard model pull` against `server` (the library function the
/// command runs; tests call it).
pub async fn pull(server: &ServerArgs, options: &PullOptions) -> anyhow::Result<PullReport> {
    pull_with(&RemoteServer::new(server)?, options).await
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Pulled {
    model: String,
    stage: String,
    version: String,
    bundle_xxh3: String,
}

/// The version a pull fetches: its name and its bundle's size and hash.
struct Wanted {
    version: String,
    bundle_bytes: u64,
    bundle_xxh3: String,
}

/// Where a pull fetches from: the server, or the registry's FTP mirror.
enum Source<'a> {
    Http(&'a RemoteServer),
    Ftp(FtpTarget),
}

async fn pull_with(server: &RemoteServer, o: &PullOptions) -> anyhow::Result<PullReport> {
    let what = format!("pull {} {} {}", o.name, o.stage, o.version);
    let source = match &o.ftp {
        None => Source::Http(server),
        Some(url) => {
            let password = o.ftp_password.password().map_err(anyhow::Error::msg)?;
            Source::Ftp(
                FtpTarget::parse(url.trim(), password)
                    .map_err(|e| anyhow::anyhow!("--ftp: {e}"))?,
            )
        }
    };
    let version = match &source {
        Source::Http(server) => resolve_http(server, o, &what).await?,
        Source::Ftp(target) => {
            let (target, o2) = (target.clone(), o.clone());
            let what = what.clone();
            tokio::task::spawn_blocking(move || resolve_ftp(&target, &o2, &what)).await??
        }
    };
    let version = &version;
    let dir = &o.dir;
    tokio::fs::create_dir_all(dir)
        .await
        .with_context(|| format!("{}", dir.display()))?;
    let marker = Pulled {
        model: o.name.clone(),
        stage: o.stage.clone(),
        version: version.version.clone(),
        bundle_xxh3: version.bundle_xxh3.clone(),
    };
    let mut report = PullReport {
        version: version.version.clone(),
        bundle_xxh3: version.bundle_xxh3.clone(),
        up_to_date: false,
        resumed_from: None,
        downloaded: 0,
    };
    let dir_owned = dir.clone();
    let marker_json = serde_json::to_string(&marker)?;
    let has_it = tokio::task::spawn_blocking(move || holds(&dir_owned, &marker_json)).await??;
    if has_it {
        report.up_to_date = true;
        return Ok(report);
    }
    let bundle = dir.join(BUNDLE_FILE);
    let bundle_ok = match tokio::fs::metadata(&bundle).await {
        Ok(m) if m.len() == version.bundle_bytes => {
            hash_file(bundle.clone()).await? == version.bundle_xxh3
        }
        _ => false,
    };
    if !bundle_ok {
        download(&source, o, version, dir, &mut report).await?;
    }
    let dir_owned = dir.clone();
    let bundle_xxh3 = version.bundle_xxh3.clone();
    let marker_json = serde_json::to_string_pretty(&marker)?;
    tokio::task::spawn_blocking(move || unpack(&dir_owned, &bundle_xxh3, &marker_json)).await??;
    Ok(report)
}

/// The version `o` names, from the server's model view.
async fn resolve_http(
    server: &RemoteServer,
    o: &PullOptions,
    what: &str,
) -> anyhow::Result<Wanted> {
    let model: ModelView = server
        .json(server.http.get(server.url(&paths::model(&o.name))), what)
        .await?;
    let Some(stage) = model.stages.iter().find(|s| s.stage.as_str() == o.stage) else {
        bail!("{what}: no stage {:?}; stages are dev and release", o.stage);
    };
    let wanted = if o.version == LATEST {
        match &stage.latest {
            Some(v) => v.clone(),
            None => bail!("{what}: {} has no version in {} yet", o.name, o.stage),
        }
    } else {
        o.version.clone()
    };
    let Some(version) = stage.versions.iter().find(|v| v.version == wanted) else {
        bail!(
            "{what}: {} has no version {wanted:?} in {}",
            o.name,
            o.stage
        );
    };
    Ok(Wanted {
        version: version.version.clone(),
        bundle_bytes: version.bundle_bytes,
        bundle_xxh3: version.bundle_xxh3.clone(),
    })
}

/// Longest `LATEST` and `index.json` read from an FTP server.
const MAX_LATEST_BYTES: u64 = 4096;
const MAX_INDEX_BYTES: u64 = 64 << 20;

/// The version `o` names, from the FTP mirror's `LATEST` and `index.json`;
/// what the server sends is checked before it names a path.
fn resolve_ftp(target: &FtpTarget, o: &PullOptions, what: &str) -> anyhow::Result<Wanted> {
    let stage: Stage = o
        .stage
        .parse()
        .map_err(|e: String| anyhow::anyhow!("{what}: {e}"))?;
    validate_model_name(&o.name).map_err(|e| anyhow::anyhow!("{what}: model name: {e}"))?;
    let at = |rest: &[&str]| -> anyhow::Result<String> {
        let mut parts = vec![stage.as_str(), o.name.as_str()];
        parts.extend_from_slice(rest);
        target
            .path(&parts)
            .map_err(|e| anyhow::anyhow!("{what}: {e}"))
    };
    let mut ftp = FtpSession::connect(target).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    let result = (|| -> anyhow::Result<Wanted> {
        let version = if o.version == LATEST {
            let path = at(&[FTP_LATEST])?;
            let bytes = ftp
                .read_small(&path, MAX_LATEST_BYTES)
                .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{what}: {path} is not UTF-8 text"))?;
            let name = text.trim().to_string();
            validate_version_name(&name)
                .and_then(|()| validate_ftp_segment(&name))
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{what}: {path} names {:?}, not a version: {e}",
                        name.chars().take(100).collect::<String>()
                    )
                })?;
            name
        } else {
            validate_version_name(&o.version)
                .map_err(|e| anyhow::anyhow!("{what}: --version: {e}"))?;
            o.version.clone()
        };
        let path = at(&[FTP_INDEX])?;
        let bytes = ftp
            .read_small(&path, MAX_INDEX_BYTES)
            .map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
        let index: FtpIndex =
            serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("{what}: {path}: {e}"))?;
        let Some(entry) = index.versions.into_iter().find(|v| v.version == version) else {
            bail!("{what}: {path} lists no version {version:?}");
        };
        if entry.bundle_xxh3.len() != 16
            || !entry.bundle_xxh3.chars().all(|c| c.is_ascii_hexdigit())
        {
            bail!("{what}: {path}: {version}'s bundleXxh3 is not 16 hex digits");
        }
        Ok(Wanted {
            version,
            bundle_bytes: entry.bundle_bytes,
            bundle_xxh3: entry.bundle_xxh3.to_ascii_lowercase(),
        })
    })();
    ftp.quit();
    result
}

/// Downloads the bundle into `<dir>/bundle.tar.gz.part` (resuming it),
/// checks its hash and renames it.
async fn download(
    source: &Source<'_>,
    o: &PullOptions,
    version: &Wanted,
    dir: &Path,
    report: &mut PullReport,
) -> anyhow::Result<()> {
    // Named by the bundle's hash, so a cut download of another version is
    // never resumed into this one; those are removed.
    let part = part_path(dir, &version.bundle_xxh3);
    if let Ok(mut entries) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{BUNDLE_FILE}."))
                && name.ends_with(".part")
                && entry.path() != part
            {
                let _ = tokio::fs::remove_file(entry.path()).await;
            }
        }
    }
    let size = version.bundle_bytes;
    let mut have = tokio::fs::metadata(&part)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    if have > size || (have == size && hash_file(part.clone()).await? != version.bundle_xxh3) {
        have = 0;
    }
    if have < size {
        match source {
            Source::Http(server) => fetch_http(server, o, version, &part, have, report).await?,
            Source::Ftp(target) => {
                let (target, o, part) = (target.clone(), o.clone(), part.clone());
                let version = version.version.clone();
                let mut r = report.clone();
                *report = tokio::task::spawn_blocking(move || {
                    fetch_ftp(&target, &o, &version, &part, have, &mut r).map(|()| r)
                })
                .await??;
            }
        }
    }
    if hash_file(part.clone()).await? != version.bundle_xxh3 {
        let _ = tokio::fs::remove_file(&part).await;
        bail!(
            "download: {} does not hash to {}; it was removed, run pull again",
            part.display(),
            version.bundle_xxh3
        );
    }
    tokio::fs::rename(&part, dir.join(BUNDLE_FILE)).await?;
    Ok(())
}

/// Fetches the bundle from byte `have` on over HTTP (Range/If-Range) into `part`.
async fn fetch_http(
    server: &RemoteServer,
    o: &PullOptions,
    version: &Wanted,
    part: &Path,
    have: u64,
    report: &mut PullReport,
) -> anyhow::Result<()> {
    let url = server.url(&paths::model_bundle(&o.name, &o.stage, &version.version));
    let mut request = server.http.get(&url);
    if have > 0 {
        request = request
            .header(RANGE, format!("bytes={have}-"))
            .header(IF_RANGE, format!("\"{}\"", version.bundle_xxh3));
    }
    let response = server.send(request, "download").await?;
    let resumed = have > 0 && response.status() == StatusCode::PARTIAL_CONTENT;
    let mut file = if resumed {
        report.resumed_from = Some(have);
        tokio::fs::OpenOptions::new().append(true).open(part).await
    } else {
        tokio::fs::File::create(part).await
    }
    .with_context(|| format!("{}", part.display()))?;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.context("download: the connection broke; run pull again to resume")?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
        report.downloaded += chunk.len() as u64;
    }
    tokio::io::AsyncWriteExt::flush(&mut file).await?;
    file.sync_all().await?;
    Ok(())
}

/// Fetches `versions/<version>/bundle.tar.gz` from the FTP mirror from byte
/// `have` on (REST) into `part`; a server that refuses REST sends it whole.
fn fetch_ftp(
    target: &FtpTarget,
    o: &PullOptions,
    version: &str,
    part: &Path,
    have: u64,
    report: &mut PullReport,
) -> anyhow::Result<()> {
    let path = target
        .path(&[&o.stage, &o.name, FTP_VERSIONS, version, BUNDLE_FILE])
        .map_err(|e| anyhow::anyhow!("download: {e}"))?;
    let mut ftp = FtpSession::connect(target).map_err(|e| anyhow::anyhow!("download: {e}"))?;
    let open = |append: bool| {
        if append {
            std::fs::OpenOptions::new().append(true).open(part)
        } else {
            std::fs::File::create(part)
        }
        .with_context(|| format!("{}", part.display()))
    };
    let mut received = 0;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, open(have > 0)?);
    let mut result = ftp.download(&path, have, &mut out, &mut received);
    if have > 0 && received == 0 && result.as_ref().is_err_and(|e| e.starts_with("REST")) {
        out = std::io::BufWriter::with_capacity(1 << 20, open(false)?);
        result = ftp.download(&path, 0, &mut out, &mut received);
    } else if have > 0 {
        report.resumed_from = Some(have);
    }
    ftp.quit();
    report.downloaded += received;
    let file = out
        .into_inner()
        .map_err(|e| anyhow::anyhow!("{}: {}", part.display(), e.error()))?;
    file.sync_all()?;
    result.map_err(|e| anyhow::anyhow!("download: {e}; run pull again to resume"))
}

/// Where a download of the bundle with hash `xxh3` is kept until complete:
/// `<dir>/bundle.tar.gz.<xxh3>.part`.
pub fn part_path(dir: &Path, xxh3: &str) -> PathBuf {
    dir.join(format!("{BUNDLE_FILE}.{xxh3}.part"))
}

async fn hash_file(path: PathBuf) -> anyhow::Result<String> {
    Ok(tokio::task::spawn_blocking(move || hash_blocking(&path)).await??)
}

/// Whether `dir` holds the version `marker` names, every payload file
/// matching its manifest's hash.
fn holds(dir: &Path, marker: &str) -> anyhow::Result<bool> {
    let Ok(text) = std::fs::read_to_string(dir.join(PULLED)) else {
        return Ok(false);
    };
    let (Ok(have), Ok(want)) = (
        serde_json::from_str::<Pulled>(&text),
        serde_json::from_str::<Pulled>(marker),
    ) else {
        return Ok(false);
    };
    if have != want {
        return Ok(false);
    }
    let Ok(manifest) = std::fs::read(dir.join(MANIFEST_FILE)) else {
        return Ok(false);
    };
    let Ok(manifest) = serde_json::from_slice::<ModelManifest>(&manifest) else {
        return Ok(false);
    };
    for f in &manifest.files {
        let path = dir.join(PAYLOAD_DIR).join(&f.path);
        match hash_blocking(&path) {
            Ok(h) if h == f.xxh3 => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}
