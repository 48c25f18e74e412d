//! Command-line interface. Every flag can also be set by environment variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use trainyard_core::HealthThresholds;

use crate::settings::{ApiKey, LocalAgent, ServeSettings, SettingsError};

/// Trainyard: queue experiments and run them on your lab's GPUs.
#[derive(Debug, Parser)]
#[command(name = "trainyard", version)]
pub struct Cli {
    /// What to do; without one, `serve` with its defaults (so `cargo leptos watch` works).
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The chosen command, `serve` (flags from the environment) when none was given.
    pub fn command_or_serve(self) -> Result<Command, clap::Error> {
        match self.command {
            Some(command) => Ok(command),
            None => {
                use clap::{CommandFactory, FromArgMatches};
                let matches = Cli::command().try_get_matches_from(["trainyard", "serve"])?;
                let cli = Cli::from_arg_matches(&matches)?;
                cli.command
                    .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::MissingSubcommand))
            }
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (web UI, REST API) and, unless --server-only, a local agent.
    Serve(Box<ServeArgs>),
    /// Queue an experiment config on a running server (prints the jobs; --follow streams a single job's log).
    Submit(crate::submit::SubmitArgs),
    /// Launch a catalog task with field values (`launch cls --set lr=0.1,0.01`).
    Launch(crate::launch_cli::LaunchArgs),
    /// The launcher's catalog on a running server: show, save, revisions,
    /// diff, restore, tasks.
    Catalog(crate::launch_cli::CatalogArgs),
    /// The components store: restore the code a job ran with, or sync a
    /// working directory from a shell.
    Components(crate::components_cli::ComponentsArgs),
    /// Results from a running server: a project's runs (table, JSON or CSV),
    /// the projects, and archive, restore and purge of runs.
    Runs(crate::runs_cli::RunsArgs),
    /// The model registry on a running server: list, show, best, register,
    /// publish-best, promote, latest, pull.
    Model(crate::models_cli::ModelArgs),
    /// Import existing runs into a running server (`import tensorboard DIR`).
    Import(crate::import_cli::ImportArgs),
    /// Queue a failed, cancelled or lost job again from its last synced
    /// checkpoint (`resume JOB_ID`); it uses none of its retries.
    Resume(crate::resume_cli::ResumeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Run only the server, without the in-process agent for this machine's GPUs.
    #[arg(long, env = "TRAINYARD_SERVER_ONLY")]
    pub server_only: bool,
    /// Address to listen on. Anything but loopback requires an API key.
    #[arg(long, env = "TRAINYARD_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "TRAINYARD_PORT", default_value_t = 3000)]
    pub port: u16,
    /// Directory for trainyard.db and run files; created if missing.
    #[arg(long, env = "TRAINYARD_DATA_DIR", default_value = ".trainyard")]
    pub data_dir: PathBuf,
    /// Shared secret agents and API clients must send as a bearer token.
    #[arg(long, env = "TRAINYARD_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Seconds without a heartbeat before a host is shown as stale.
    #[arg(long, env = "TRAINYARD_STALE_AFTER", default_value_t = 15.0)]
    pub stale_after: f64,
    /// Seconds without a heartbeat before a host is disconnected (and may be removed).
    #[arg(long, env = "TRAINYARD_DISCONNECTED_AFTER", default_value_t = 60.0)]
    pub disconnected_after: f64,
    /// Folder with the built web UI (cargo-leptos output).
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Host id of the local agent (default: this machine's hostname).
    #[arg(long, env = "TRAINYARD_LOCAL_HOST_ID")]
    pub local_host_id: Option<String>,
    /// Give the local agent N simulated GPUs instead of reading NVML (demos, tests).
    #[arg(long, env = "TRAINYARD_FAKE_GPUS")]
    pub fake_gpus: Option<u32>,
    /// How many `gpus: 0` jobs the local agent runs at once.
    #[arg(long, env = "TRAINYARD_CPU_SLOTS", default_value_t = 2)]
    pub cpu_slots: u32,
    /// Command for configs without `command`, e.g. "python main.py --config {config}" (CVLab-Kit).
    #[arg(long, env = "TRAINYARD_DEFAULT_COMMAND")]
    pub default_command: Option<String>,
    /// Largest sweep (number of runs) one submission may create.
    #[arg(long, env = "TRAINYARD_MAX_SWEEP_SIZE", default_value_t = 1000)]
    pub max_sweep_size: u64,
    /// Seconds an agent may go silent before its running jobs are lost (and requeued if retries remain).
    #[arg(long, env = "TRAINYARD_LEASE", default_value_t = 60.0)]
    pub lease: f64,
    /// Let a high-priority job that cannot be placed stop the lowest-priority
    /// running jobs of one host (TERM, the agent's kill grace to checkpoint,
    /// then KILL); they are requeued to resume and use no retry.
    #[arg(long, env = "TRAINYARD_PREEMPT")]
    pub preempt: bool,
    /// Threads the web UI's pages render on, each request on one of them
    /// (default: one per core, at most 8). 0 renders on the server's
    /// general workers, where Leptos can deadlock under concurrent loads
    /// (leptos-rs/leptos#4673): for comparison only.
    #[arg(long, env = "TRAINYARD_RENDER_THREADS")]
    pub render_threads: Option<usize>,
    /// Largest run file (checkpoint, CSV, log) an agent may upload, in MiB.
    #[arg(long, env = "TRAINYARD_MAX_FILE_MB", default_value_t = 20_480)]
    pub max_file_mb: u64,
    /// Index an existing CVLab-Kit style `logs/<project>/<run>.{csv,yaml,pt}`
    /// tree, and TensorBoard runs (`<project>/<run dir>/events.out.tfevents.*`)
    /// in it, and watch it for new runs (repeat for several trees).
    #[arg(
        long = "import-dir",
        env = "TRAINYARD_IMPORT_DIRS",
        value_delimiter = ','
    )]
    pub import_dirs: Vec<PathBuf>,
    /// A CVLab-Kit tree (`cvlabkit/agent/*.py`, `cvlabkit/component/<category>/*.py`)
    /// whose new code the components store registers at start and on each scan.
    #[arg(long = "components-dir", env = "TRAINYARD_COMPONENTS_DIR")]
    pub components_dir: Option<PathBuf>,
    /// The launcher's catalog (tasks → forms → jobs; docs/launcher.md). At
    /// start it becomes the running catalog if it is valid and differs from
    /// the newest saved revision; an invalid file is logged and the last
    /// valid revision keeps running.
    #[arg(long, env = "TRAINYARD_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// How the local agent reconciles its component copies with the store:
    /// server_authoritative, local_priority, interactive or dry_run (a config's `sync:` wins).
    #[arg(long, env = "TRAINYARD_SYNC_STRATEGY", default_value = "interactive")]
    pub sync_strategy: trainyard_core::components::SyncStrategy,
    /// POST a JSON notification to URL when a job ends (repeat for several;
    /// payload in docs/operations.md, "Notifications").
    #[arg(long = "webhook", env = "TRAINYARD_WEBHOOKS", value_delimiter = ',')]
    pub webhooks: Vec<String>,
    /// POST a Slack-style `{"text": …}` message to URL (a Slack, Mattermost
    /// or Rocket.Chat incoming webhook) when a job ends; repeatable.
    #[arg(
        long = "slack-webhook",
        env = "TRAINYARD_SLACK_WEBHOOKS",
        value_delimiter = ','
    )]
    pub slack_webhooks: Vec<String>,
    /// What the --webhook/--slack-webhook URLs are told about: a
    /// comma-separated list of succeeded, failed, lost, cancelled,
    /// sweep_finished, or `all`.
    #[arg(long, env = "TRAINYARD_NOTIFY_ON", default_value = "all")]
    pub notify_on: String,
    /// The server's address as users reach it (e.g. https://trainyard.lab),
    /// for links to job pages in notifications.
    #[arg(long, env = "TRAINYARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// A bearer token GET /metrics accepts besides the API key, for a
    /// Prometheus that should not hold the key that runs jobs.
    #[arg(long, env = "TRAINYARD_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Mirror the model registry to this FTP server, in the seed's layout
    /// (ftp://user@host:port/root; the password comes from
    /// --ftp-password-env or --ftp-password-file, never the URL).
    #[arg(long, env = "TRAINYARD_FTP_URL")]
    pub ftp_url: Option<String>,
    #[command(flatten)]
    pub ftp_password: crate::ftp_args::FtpPasswordArgs,
    /// The longest wait, in seconds, between attempts to mirror to an FTP
    /// server that fails (waits start at 1 s and double).
    #[arg(long, env = "TRAINYARD_FTP_RETRY_MAX", default_value_t = 300.0)]
    pub ftp_retry_max: f64,
}

impl ServeArgs {
    /// Checks the flags and turns them into a server configuration.
    pub fn into_settings(self) -> Result<ServeSettings, SettingsError> {
        let thresholds = HealthThresholds {
            stale_after: seconds("--stale-after", self.stale_after)?,
            disconnected_after: seconds("--disconnected-after", self.disconnected_after)?,
        };
        let local_agent = (!self.server_only).then(|| LocalAgent {
            host_id: self
                .local_host_id
                .unwrap_or_else(trainyard_agent::default_host_id),
            fake_gpus: self.fake_gpus,
            cpu_slots: self.cpu_slots,
            sync_strategy: self.sync_strategy,
        });
        let default_command = self
            .default_command
            .as_deref()
            .map(|c| {
                trainyard_core::config::split_command(c)
                    .map_err(|e| SettingsError::DefaultCommand(e.to_string()))
            })
            .transpose()?;
        if self.max_sweep_size == 0 {
            return Err(SettingsError::MaxSweepSize);
        }
        let jobs = trainyard_engine::JobSettings {
            lease: seconds("--lease", self.lease)?,
            max_sweep_size: self.max_sweep_size,
            default_command,
            preempt: self.preempt,
        };
        if self.max_file_mb == 0 {
            return Err(SettingsError::MaxFileMb);
        }
        let files = trainyard_engine::FileSettings {
            max_file_bytes: self.max_file_mb.saturating_mul(1 << 20),
        };
        let notify = notify_settings(
            &self.webhooks,
            &self.slack_webhooks,
            &self.notify_on,
            self.public_url.as_deref(),
        )?;
        let metrics_token = self
            .metrics_token
            .map(|t| {
                ApiKey::new(t).map_err(|e| match e {
                    SettingsError::KeyTooShort(n) => SettingsError::MetricsTokenTooShort(n),
                    e => e,
                })
            })
            .transpose()?;
        let mirror = match self.ftp_url.as_deref().filter(|u| !u.trim().is_empty()) {
            None => None,
            Some(url) => {
                let password = self
                    .ftp_password
                    .password()
                    .map_err(SettingsError::FtpPassword)?;
                let target = trainyard_engine::ftp::FtpTarget::parse(url.trim(), password)
                    .map_err(|message| SettingsError::Ftp {
                        flag: "--ftp-url",
                        message,
                    })?;
                let mut mirror = trainyard_engine::MirrorSettings::new(target);
                mirror.retry_max = seconds("--ftp-retry-max", self.ftp_retry_max)?;
                mirror.retry_base = mirror.retry_base.min(mirror.retry_max);
                Some(mirror)
            }
        };
        let config = ServeSettings {
            mirror,
            addr: (self.host, self.port).into(),
            data_dir: self.data_dir,
            api_key: self.api_key.map(ApiKey::new).transpose()?,
            thresholds,
            site_root: self.site_root,
            local_agent,
            jobs,
            files,
            import_dirs: self.import_dirs,
            components_dir: self.components_dir,
            catalog: self.catalog,
            notify,
            metrics_token,
            render_threads: self.render_threads,
        };
        config.validate()?;
        Ok(config)
    }
}

fn seconds(flag: &'static str, value: f64) -> Result<Duration, SettingsError> {
    if value.is_finite() && value > 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(SettingsError::BadDuration { flag, value })
    }
}

/// The notification flags, checked: every URL (`--webhook`,
/// `--slack-webhook`, `--public-url`) and every `--notify-on` event.
fn notify_settings(
    webhooks: &[String],
    slack_webhooks: &[String],
    notify_on: &str,
    public_url: Option<&str>,
) -> Result<trainyard_engine::NotifySettings, SettingsError> {
    use trainyard_core::webhooks::{NotifyEvent, WebhookKind};
    let events = NotifyEvent::parse_list(notify_on).map_err(|message| SettingsError::Notify {
        flag: "--notify-on",
        message,
    })?;
    let mut hooks = Vec::new();
    for (flag, kind, urls) in [
        ("--webhook", WebhookKind::Json, webhooks),
        ("--slack-webhook", WebhookKind::Slack, slack_webhooks),
    ] {
        for url in urls.iter().filter(|u| !u.trim().is_empty()) {
            let url = trainyard_engine::validate_webhook_url(url)
                .map_err(|message| SettingsError::Notify { flag, message })?;
            hooks.push(trainyard_engine::FlagWebhook {
                url,
                kind,
                events: events.clone(),
            });
        }
    }
    let public_url = public_url
        .map(|u| {
            trainyard_engine::validate_webhook_url(u).map_err(|message| SettingsError::Notify {
                flag: "--public-url",
                message,
            })
        })
        .transpose()?;
    Ok(trainyard_engine::NotifySettings {
        webhooks: hooks,
        public_url,
        ..Default::default()
    })
}
