//! `trainyard components restore <job> --dir D` writes exactly the code a
//! job ran with; `trainyard components sync --config cfg.yaml` does a
//! worker's sync from a shell (asking, in a terminal, about local changes).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use trainyard_core::components::{
    referenced_components, ComponentVersion, Envelope, JobManifest, LocalCopy, Resolution,
    StorePath, SyncAction, SyncPlan, SyncRequest, SyncStrategy, UploadRequest, UploadResponse,
};
use trainyard_core::config::parse_experiment;
use trainyard_core::protocol::paths;
use trainyard_core::sync::{validate_run_path, xxh3_hex};

use crate::remote::{RemoteServer, ServerArgs};

#[derive(Debug, Args)]
pub struct ComponentsArgs {
    #[command(subcommand)]
    pub command: ComponentsCommand,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Subcommand)]
pub enum ComponentsCommand {
    /// Write the exact code job JOB ran with (components in CVLab-Kit's
    /// layout, `code:` files at their paths) into DIR, byte for byte.
    Restore {
        job: i64,
        #[arg(long)]
        dir: PathBuf,
    },
    /// Bring the components a config references, under DIR (default: the
    /// current directory), in line with the server's store.
    Sync {
        #[arg(long)]
        config: PathBuf,
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// server_authoritative, local_priority, interactive or dry_run
        /// (default: the config's `sync:`, else interactive).
        #[arg(long)]
        strategy: Option<SyncStrategy>,
    },
}

impl RemoteServer {
    /// The hash of `path`'s active version in the store.
    async fn active_hash(&self, path: &str) -> anyhow::Result<String> {
        let store: StorePath = path.parse().map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        let url = format!(
            "{}{}",
            self.base,
            paths::component_path(store.category(), store.name())
        );
        let versions: Envelope<Vec<ComponentVersion>> = self
            .send(self.http.get(url), &format!("{path}'s versions"))
            .await?
            .json()
            .await?;
        versions
            .data
            .into_iter()
            .find(|v| v.is_active)
            .map(|v| v.hash)
            .with_context(|| format!("{path} has no active version in the store"))
    }

    async fn content(&self, hash: &str) -> anyhow::Result<String> {
        let url = format!("{}{}", self.base, paths::component_blob(hash));
        let text = self
            .send(self.http.get(url), &format!("fetching {hash}"))
            .await?
            .text()
            .await?;
        if xxh3_hex(text.as_bytes()) != hash {
            bail!(
                "the server sent content for {hash} that hashes to something else; nothing written"
            );
        }
        Ok(text)
    }
}

/// Runs a `trainyard components` command.
pub async fn run(args: ComponentsArgs) -> anyhow::Result<()> {
    let server = RemoteServer::new(&args.server)?;
    match args.command {
        ComponentsCommand::Restore { job, dir } => restore(&server, job, &dir).await,
        ComponentsCommand::Sync {
            config,
            dir,
            strategy,
        } => sync(&server, &config, &dir, strategy).await,
    }
}

async fn restore(server: &RemoteServer, job: i64, dir: &Path) -> anyhow::Result<()> {
    let url = format!("{}{}", server.base, paths::job_manifest(job));
    let manifest: JobManifest = server
        .send(server.http.get(url), &format!("job {job}'s manifest"))
        .await?
        .json()
        .await?;
    for entry in &manifest.entries {
        let target = target_file(dir, &entry.path, entry.code)?;
        let content = server.content(&entry.hash).await?;
        write_file(&target, &content)?;
        println!("{}  {}", entry.hash, target.display());
    }
    println!(
        "restored {} files of job {job} (attempt {}) into {}",
        manifest.entries.len(),
        manifest.attempt,
        dir.display()
    );
    Ok(())
}

async fn sync(
    server: &RemoteServer,
    config: &Path,
    dir: &Path,
    strategy: Option<SyncStrategy>,
) -> anyhow::Result<()> {
    let yaml =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let experiment = parse_experiment(&yaml)
        .map_err(|e| anyhow::anyhow!("{}: invalid config:\n{e}", config.display()))?;
    let strategy = strategy.or(experiment.scheduling.sync).unwrap_or_default();
    let mut components = Vec::new();
    for path in referenced_components(&experiment.value()) {
        let file = dir.join(path.worker_file());
        let hash = match std::fs::read(&file) {
            Ok(bytes) => Some(xxh3_hex(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => bail!("{}: {e}", file.display()),
        };
        components.push(LocalCopy {
            path: path.to_string(),
            hash,
        });
    }
    if components.is_empty() {
        println!("{} references no components", config.display());
        return Ok(());
    }
    let url = format!("{}{}", server.base, paths::component_plan());
    let request = SyncRequest {
        strategy,
        components,
        code: Vec::new(),
    };
    let plan: SyncPlan = server
        .send(server.http.post(url).json(&request), "the sync plan")
        .await?
        .json()
        .await?;
    if plan.strategy == SyncStrategy::DryRun {
        for step in &plan.steps {
            let would = match step.action {
                SyncAction::Download => "would download",
                SyncAction::UploadActive => "would upload",
                SyncAction::Ask => "would ask",
                SyncAction::Keep | SyncAction::KeepAndStore => "would keep",
                SyncAction::Nothing => "missing",
            };
            println!("{would:<15} {}", step.path);
        }
        println!("strategy: dry_run (nothing changed)");
        return Ok(());
    }
    let asking = std::io::stdin().is_terminal();
    for step in &plan.steps {
        let file = target_file(dir, &step.path, false)?;
        let action = match step.action {
            // A shell's plan raises no notification: the terminal asks.
            SyncAction::Ask if asking => match ask(&step.path)? {
                Resolution::Upload => SyncAction::UploadActive,
                Resolution::Download => SyncAction::Download,
                Resolution::Skip => SyncAction::KeepAndStore,
            },
            other => other,
        };
        match action {
            SyncAction::Download => {
                let (hash, content) = match (&step.content, &step.hash) {
                    (Some(content), Some(hash)) if step.action == SyncAction::Download => {
                        if xxh3_hex(content.as_bytes()) != *hash {
                            bail!(
                                "{}: the content does not hash to {hash}; nothing written",
                                step.path
                            );
                        }
                        (hash.clone(), content.clone())
                    }
                    // Chosen at the prompt: the plan carried the local hash.
                    _ => {
                        let hash = server.active_hash(&step.path).await?;
                        let content = server.content(&hash).await?;
                        (hash, content)
                    }
                };
                write_file(&file, &content)?;
                println!("downloaded  {}  {hash}", step.path);
            }
            // No job runs here, so there is nothing ran to keep a copy of.
            SyncAction::KeepAndStore => println!("kept        {}  (local copy)", step.path),
            SyncAction::UploadActive => {
                let content = std::fs::read_to_string(&file)
                    .with_context(|| format!("{} (uploads are UTF-8 text)", file.display()))?;
                let url = format!("{}{}", server.base, paths::component_upload());
                let body = UploadRequest {
                    path: step.path.clone(),
                    content,
                    activate: true,
                };
                let done: Envelope<UploadResponse> = server
                    .send(
                        server.http.post(url).json(&body),
                        &format!("uploading {}", step.path),
                    )
                    .await?
                    .json()
                    .await?;
                let state = if done.data.is_active {
                    "active"
                } else {
                    "stored"
                };
                println!("uploaded    {}  {} ({state})", step.path, done.data.hash);
            }
            SyncAction::Ask => println!(
                "kept        {}  a local change the store has never seen; run in a terminal to choose, or pass --strategy",
                step.path
            ),
            SyncAction::Keep => println!("unchanged   {}", step.path),
            SyncAction::Nothing => {
                println!("missing     {}  (not here and not in the store)", step.path)
            }
        }
    }
    println!("strategy: {}", plan.strategy);
    Ok(())
}

/// Asks the terminal's user about a local change.
fn ask(path: &str) -> anyhow::Result<Resolution> {
    loop {
        print!("{path} has a local change the store has never seen: [u]pload it, [d]ownload the store's, or [k]eep it? ");
        std::io::stdout().flush()?;
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer)? == 0 {
            bail!("{path}: no answer (end of input); nothing changed");
        }
        match answer.trim() {
            "u" | "upload" => return Ok(Resolution::Upload),
            "d" | "download" => return Ok(Resolution::Download),
            "k" | "keep" | "s" | "skip" => return Ok(Resolution::Skip),
            _ => continue,
        }
    }
}

/// Where a manifest entry goes under `dir`: components in CVLab-Kit's
/// layout, `code:` files at their (checked) relative paths.
fn target_file(dir: &Path, path: &str, code: bool) -> anyhow::Result<PathBuf> {
    if code {
        let parts = validate_run_path(path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        let mut full = dir.to_path_buf();
        full.extend(parts);
        Ok(full)
    } else {
        let store: StorePath = path.parse().map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
        Ok(dir.join(store.worker_file()))
    }
}

fn write_file(target: &Path, content: &str) -> anyhow::Result<()> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(target, content).with_context(|| format!("writing {}", target.display()))
}
