//! How the engine is set up: the process settings the server's flags fill
//! in ("config" is the experiment YAML; these are settings).

use std::path::PathBuf;
use std::time::Duration;

use trainyard_core::HealthThresholds;

use crate::clock::Clock;
use crate::files::FileSettings;
use crate::jobs::JobSettings;
use crate::mirror::MirrorSettings;
use crate::notify::NotifySettings;

/// Everything `Engine::open` needs.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Where `trainyard.db`, job logs, metric points, run files and upload
    /// staging live.
    pub data_dir: PathBuf,
    /// Keep the database in memory instead of `<data_dir>/trainyard.db`
    /// (tests); files still go under `data_dir`.
    pub in_memory_database: bool,
    pub thresholds: HealthThresholds,
    /// How often hosts changed since the last flush are considered for writing.
    pub flush_interval: Duration,
    /// Each host's telemetry is written at most this often (new hosts at the
    /// next flush, everything at shutdown): it only matters after a restart.
    pub snapshot_interval: Duration,
    pub jobs: JobSettings,
    pub files: FileSettings,
    /// Webhooks from flags, the public URL for links, retries and timeouts.
    pub notify: NotifySettings,
    /// The model registry's FTP mirror (`--ftp-url`); none: not mirrored.
    pub mirror: Option<MirrorSettings>,
    /// CVLab-Kit style trees to index in place and watch (`--import-dir`).
    pub import_dirs: Vec<PathBuf>,
    /// A CVLab-Kit tree whose components a scan registers (`--components-dir`).
    pub components_dir: Option<PathBuf>,
    /// Host id of the server's in-process agent, so runs it ran show as
    /// `local` rather than by host id.
    pub local_host_id: Option<String>,
    /// Where engine time comes from; tests pass [`Clock::manual`].
    pub clock: Clock,
}

impl EngineSettings {
    /// Defaults for everything but where the data lives.
    pub fn new(data_dir: impl Into<PathBuf>) -> EngineSettings {
        EngineSettings {
            data_dir: data_dir.into(),
            in_memory_database: false,
            thresholds: HealthThresholds::default(),
            flush_interval: Duration::from_secs(1),
            snapshot_interval: Duration::from_secs(30),
            jobs: JobSettings::default(),
            files: FileSettings::default(),
            notify: NotifySettings::default(),
            mirror: None,
            import_dirs: Vec::new(),
            components_dir: None,
            local_host_id: None,
            clock: Clock::system(),
        }
    }
}
