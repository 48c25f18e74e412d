//! The server's validated settings (what `trainyard serve`'s flags say;
//! "config" is the experiment YAML).

use std::net::SocketAddr;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use trainyard_core::HealthThresholds;

/// Shortest API key accepted.
pub const MIN_API_KEY_LEN: usize = 16;

/// The most `--render-threads` accepts: each is an OS thread with a
/// runtime of its own.
pub const MAX_RENDER_THREADS: usize = 256;

/// Everything `trainyard serve` needs.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub api_key: Option<ApiKey>,
    pub thresholds: HealthThresholds,
    pub site_root: PathBuf,
    /// The in-process agent for this machine, unless `--server-only`.
    pub local_agent: Option<LocalAgent>,
    /// Scheduling: lease, sweep cap, default command.
    pub jobs: trainyard_engine::JobSettings,
    /// Run-file limits.
    pub files: trainyard_engine::FileSettings,
    /// CVLab-Kit style log trees to index and watch.
    pub import_dirs: Vec<PathBuf>,
    /// A CVLab-Kit tree of components to register (`--components-dir`).
    pub components_dir: Option<PathBuf>,
    /// The launcher's catalog YAML (`--catalog`), saved as a revision at
    /// start when it differs from the newest one.
    pub catalog: Option<PathBuf>,
    /// Webhooks from flags, the public URL for links, delivery limits.
    pub notify: trainyard_engine::NotifySettings,
    /// A bearer token `GET /metrics` accepts besides the API key.
    pub metrics_token: Option<ApiKey>,
    /// The model registry's FTP mirror (`--ftp-url`).
    pub mirror: Option<trainyard_engine::MirrorSettings>,
    /// Threads pages render on (`--render-threads`): `None`, one per core
    /// up to 8; `Some(0)`, tokio's workers (see `render_threads.rs`).
    pub render_threads: Option<usize>,
}

/// Settings of the in-process agent.
#[derive(Debug, Clone)]
pub struct LocalAgent {
    pub host_id: String,
    pub fake_gpus: Option<u32>,
    /// Jobs with `gpus: 0` it runs at once.
    pub cpu_slots: u32,
    /// How it reconciles component copies with the store.
    pub sync_strategy: trainyard_core::components::SyncStrategy,
}

#[derive(Debug, Error)]
pub enum SettingsError {
    #[error(
        "refusing to listen on {0} without an API key: anyone who can reach this port could run jobs on your GPUs.\n\
         Set a key with --api-key <KEY> or TRAINYARD_API_KEY=<KEY> (at least {MIN_API_KEY_LEN} characters, e.g. from `openssl rand -hex 32`),\n\
         and start agents with the same value in --token / TRAINYARD_TOKEN."
    )]
    KeyRequired(std::net::IpAddr),
    #[error("the API key is {0} characters long; use at least {MIN_API_KEY_LEN} (e.g. `openssl rand -hex 32`)")]
    KeyTooShort(usize),
    #[error("{flag} must be a positive number of seconds, not {value}")]
    BadDuration { flag: &'static str, value: f64 },
    #[error("--disconnected-after ({disconnected}s) must be longer than --stale-after ({stale}s)")]
    ThresholdOrder { stale: f64, disconnected: f64 },
    #[error("--default-command: {0}")]
    DefaultCommand(String),
    #[error("--max-sweep-size must be at least 1")]
    MaxSweepSize,
    #[error("--max-file-mb must be at least 1")]
    MaxFileMb,
    #[error("--render-threads is {0}; use at most {MAX_RENDER_THREADS} (0 renders on the server's workers)")]
    TooManyRenderThreads(usize),
    #[error("{flag}: {message}")]
    Notify { flag: &'static str, message: String },
    #[error("{flag}: {message}")]
    Ftp { flag: &'static str, message: String },
    /// The message names the flag.
    #[error("{0}")]
    FtpPassword(String),
    #[error("--metrics-token is {0} characters long; use at least {MIN_API_KEY_LEN} (e.g. `openssl rand -hex 32`)")]
    MetricsTokenTooShort(usize),
    #[error("--local-host-id: {0}")]
    LocalHostId(#[from] trainyard_core::HostIdError),
}

impl ServeSettings {
    /// Refuses configurations that are unsafe or contradictory.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.api_key.is_none() && !self.addr.ip().is_loopback() {
            return Err(SettingsError::KeyRequired(self.addr.ip()));
        }
        let t = &self.thresholds;
        if t.disconnected_after <= t.stale_after {
            return Err(SettingsError::ThresholdOrder {
                stale: t.stale_after.as_secs_f64(),
                disconnected: t.disconnected_after.as_secs_f64(),
            });
        }
        if let Some(agent) = &self.local_agent {
            trainyard_core::validate_host_id(&agent.host_id)?;
        }
        if let Some(count) = self.render_threads.filter(|&n| n > MAX_RENDER_THREADS) {
            return Err(SettingsError::TooManyRenderThreads(count));
        }
        Ok(())
    }
}

/// The shared secret. Compared in constant time; never printed.
#[derive(Clone)]
pub struct ApiKey {
    secret: String,
    digest: [u8; 32],
    session_token: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl ApiKey {
    pub fn new(secret: String) -> Result<ApiKey, SettingsError> {
        let secret = secret.trim().to_string();
        if secret.len() < MIN_API_KEY_LEN {
            return Err(SettingsError::KeyTooShort(secret.len()));
        }
        let digest = Sha256::digest(secret.as_bytes()).into();
        // The browser's cookie holds a value derived from the key, not the key.
        let session_token = hex(&Sha256::digest(
            format!("trainyard-ui-session:{secret}").as_bytes(),
        ));
        Ok(ApiKey {
            secret,
            digest,
            session_token,
        })
    }

    /// Whether `candidate` is the key. Hashing first makes the comparison
    /// constant-time regardless of the candidate's length.
    pub fn matches(&self, candidate: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        candidate.ct_eq(&self.digest).into()
    }

    /// Whether `candidate` is a valid browser session cookie value.
    pub fn matches_session(&self, candidate: &str) -> bool {
        candidate
            .as_bytes()
            .ct_eq(self.session_token.as_bytes())
            .into()
    }

    /// Cookie value granting a browser access.
    pub fn session_token(&self) -> &str {
        &self.session_token
    }

    /// The key itself, for the in-process agent.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config(host: [u8; 4], key: Option<&str>) -> ServeSettings {
        ServeSettings {
            addr: (host, 3000).into(),
            data_dir: "d".into(),
            api_key: key.map(|k| ApiKey::new(k.into()).expect("a valid test key")),
            thresholds: HealthThresholds::default(),
            site_root: "s".into(),
            local_agent: None,
            jobs: Default::default(),
            files: Default::default(),
            import_dirs: Vec::new(),
            components_dir: None,
            catalog: None,
            notify: Default::default(),
            mirror: None,
            render_threads: None,
            metrics_token: None,
        }
    }

    #[test]
    fn listening_beyond_loopback_requires_a_key() {
        let err = config([0, 0, 0, 0], None)
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("--api-key") && err.contains("TRAINYARD_API_KEY"),
            "{err}"
        );
        assert!(config([0, 0, 0, 0], Some("0123456789abcdef"))
            .validate()
            .is_ok());
        assert!(config([127, 0, 0, 1], None).validate().is_ok());
    }

    #[test]
    fn short_keys_and_inverted_thresholds_are_refused() {
        assert!(matches!(
            ApiKey::new("short".into()),
            Err(SettingsError::KeyTooShort(5))
        ));
        let mut c = config([127, 0, 0, 1], None);
        c.thresholds.disconnected_after = Duration::from_secs(5);
        assert!(matches!(
            c.validate(),
            Err(SettingsError::ThresholdOrder { .. })
        ));
    }

    #[test]
    fn keys_compare_exactly_and_never_print() {
        let key = ApiKey::new("0123456789abcdef".into()).expect("a valid test key");
        assert!(key.matches("0123456789abcdef"));
        assert!(!key.matches("0123456789abcdeF"));
        assert!(!key.matches(""));
        assert!(key.matches_session(key.session_token()));
        assert!(!key.matches_session("0123456789abcdef"));
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
    }
}
