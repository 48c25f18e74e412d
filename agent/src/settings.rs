//! What the agent is told to do, and the checks that run before it sends
//! anything.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::Url;
use trainyard_core::components::SyncStrategy;
use trainyard_core::protocol::paths;
use trainyard_core::validate_host_id;

use crate::backoff::BackoffPolicy;
use crate::error::AgentError;

/// Heartbeat period when none is configured.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(3);

/// Time a job gets between SIGTERM and SIGKILL when none is configured.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(10);

/// Everything [`crate::run`] needs.
#[derive(Clone)]
pub struct AgentSettings {
    /// Base URL of the server, e.g. `http://127.0.0.1:3000` (a trailing slash
    /// or a path prefix such as `https://lab/trainyard/` is fine).
    pub server_url: String,
    /// Stable identity of this host (`[A-Za-z0-9._-]`, 1–64 characters).
    pub host_id: String,
    /// Bearer token; `None` (or blank) sends no `Authorization` header.
    pub token: Option<String>,
    /// Further servers this agent also works for, each with its own token
    /// (one agent, several servers): the host appears on each, their jobs
    /// share its GPUs and slots, and each one's jobs live in
    /// `<work_dir>/servers/<slug>/` (see [`workspace_of`]). Empty: one server.
    pub extra_servers: Vec<ServerEndpoint>,
    /// Time between heartbeats while the server answers.
    pub heartbeat_interval: Duration,
    /// Where GPU telemetry comes from.
    pub gpus: GpuSource,
    /// Disk stats describe the disk holding this directory; jobs run in
    /// `<work_dir>/runs/<job_id>-<attempt>/`.
    pub work_dir: PathBuf,
    /// Most jobs running at once; `None` means no limit beyond GPUs and CPU slots.
    pub max_jobs: Option<u32>,
    /// How many CPU-only (`gpus: 0`) jobs may run at once.
    pub cpu_slots: u32,
    /// Time a stopped job gets between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
    /// How component copies are reconciled with the server's store before
    /// a job starts (an experiment's `sync:` wins over it).
    pub sync_strategy: SyncStrategy,
    /// The address serving jobs are reached at by the server's proxy;
    /// `None`: where the server sees this agent's requests come from.
    pub advertise_address: Option<String>,
    /// Retry waits while the server is unreachable. Not a CLI option: tests
    /// shrink it to keep outages short.
    pub backoff: BackoffPolicy,
    /// The binary each job's supervisor runs as (with
    /// [`crate::supervisor::SUPERVISE_ARG`]); `None`: this process's own
    /// executable (`/proc/self/exe`, so a binary replaced by an upgrade
    /// still starts the supervisors of new jobs), whose `main` must call
    /// [`crate::supervisor::run_if_requested`] first. Not a CLI option:
    /// tests, whose harness cannot, point it at `trainyard-agent`.
    pub supervisor: Option<PathBuf>,
    /// Keep `<work_dir>/agent.state.json` current for `trainyard-agent
    /// --status` (the binary sets it; the server's in-process agent does not).
    pub write_status: bool,
}

/// One server: its base URL and the token it wants.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerEndpoint {
    /// Base URL, as for [`AgentSettings::server_url`].
    pub url: String,
    /// Bearer token; `None` (or blank) sends none.
    pub token: Option<String>,
}

impl fmt::Debug for ServerEndpoint {
    // Hand-written so the token never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerEndpoint")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// One server's validated link, with where its jobs live.
pub(crate) struct ServerPlan {
    pub endpoint: ServerEndpoint,
    pub validated: ValidatedSettings,
    /// The folder holding its `runs/` (see [`workspace_of`]).
    pub workspace: PathBuf,
}

/// Where the jobs of the server at `index` in the list live: the first
/// server keeps the work dir itself (`<work_dir>/runs/`, as an agent with
/// one server always had), every further one gets
/// `<work_dir>/servers/<slug>/`, the slug made of its host, port and path.
pub fn workspace_of(work_dir: &std::path::Path, index: usize, base_url: &Url) -> PathBuf {
    if index == 0 {
        return work_dir.to_path_buf();
    }
    work_dir.join("servers").join(slug(base_url))
}

/// `lab.example_3000` or `lab.example_443_trainyard`: a folder name that
/// stays the same for the same server however its URL is spelled.
fn slug(base_url: &Url) -> String {
    let host = base_url.host_str().unwrap_or("server");
    let port = base_url.port_or_known_default().unwrap_or(0);
    let mut slug = format!("{host}_{port}");
    for part in base_url.path().split('/').filter(|p| !p.is_empty()) {
        slug.push('_');
        slug.push_str(part);
    }
    slug.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Where GPU telemetry comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuSource {
    /// The NVIDIA driver's NVML library; a host without it reports no GPUs
    /// and says why in `gpu_error`.
    Nvml,
    /// This many simulated GPUs with plausible changing values (demos, tests).
    Fake(u32),
    /// Report no GPUs and no error.
    None,
}

impl AgentSettings {
    /// A config with the defaults: no token, 3 s interval, NVML GPUs, work dir
    /// `.`, no job limit, one CPU slot, 10 s kill grace.
    pub fn new(server_url: impl Into<String>, host_id: impl Into<String>) -> Self {
        Self {
            server_url: server_url.into(),
            host_id: host_id.into(),
            token: None,
            extra_servers: Vec::new(),
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            gpus: GpuSource::Nvml,
            work_dir: PathBuf::from("."),
            max_jobs: None,
            cpu_slots: 1,
            kill_grace: DEFAULT_KILL_GRACE,
            sync_strategy: SyncStrategy::default(),
            advertise_address: None,
            backoff: BackoffPolicy::default(),
            supervisor: None,
            write_status: false,
        }
    }

    /// Sets [`max_jobs`](Self::max_jobs).
    pub fn with_max_jobs(mut self, max_jobs: Option<u32>) -> Self {
        self.max_jobs = max_jobs;
        self
    }

    /// Sets [`cpu_slots`](Self::cpu_slots).
    pub fn with_cpu_slots(mut self, cpu_slots: u32) -> Self {
        self.cpu_slots = cpu_slots;
        self
    }

    /// Sets [`kill_grace`](Self::kill_grace).
    pub fn with_kill_grace(mut self, kill_grace: Duration) -> Self {
        self.kill_grace = kill_grace;
        self
    }

    /// Every server, the first one ([`server_url`](Self::server_url)) first.
    pub fn servers(&self) -> Vec<ServerEndpoint> {
        let first = ServerEndpoint {
            url: self.server_url.clone(),
            token: self.token.clone(),
        };
        std::iter::once(first)
            .chain(self.extra_servers.iter().cloned())
            .collect()
    }

    /// Checks the config and every server's URL and token; refuses a
    /// server listed twice.
    pub(crate) fn plan_servers(&self) -> Result<Vec<ServerPlan>, AgentError> {
        let mut plans: Vec<ServerPlan> = Vec::new();
        for (index, endpoint) in self.servers().into_iter().enumerate() {
            let mut one = self.clone();
            one.server_url = endpoint.url.clone();
            one.token = endpoint.token.clone();
            let validated = one.validate()?;
            let workspace = workspace_of(&self.work_dir, index, &validated.base_url);
            if let Some(twin) = plans
                .iter()
                .find(|p| p.validated.base_url == validated.base_url)
            {
                return Err(AgentError::InvalidConfig(format!(
                    "server {:?} is listed twice (also as {:?}); list each server once",
                    endpoint.url, twin.endpoint.url
                )));
            }
            if let Some(twin) = plans.iter().find(|p| p.workspace == workspace) {
                return Err(AgentError::InvalidConfig(format!(
                    "servers {:?} and {:?} would share the folder {}; \
                     give one of them a different host name or path",
                    twin.endpoint.url,
                    endpoint.url,
                    workspace.display()
                )));
            }
            plans.push(ServerPlan {
                endpoint,
                validated,
                workspace,
            });
        }
        Ok(plans)
    }

    /// Checks the config and derives what the HTTP side needs.
    pub(crate) fn validate(&self) -> Result<ValidatedSettings, AgentError> {
        validate_host_id(&self.host_id).map_err(|e| AgentError::InvalidConfig(e.to_string()))?;
        if self.heartbeat_interval.is_zero() {
            return Err(AgentError::InvalidConfig(
                "heartbeat interval must be greater than zero".into(),
            ));
        }
        if self.backoff.base.is_zero() || self.backoff.cap < self.backoff.base {
            return Err(AgentError::InvalidConfig(format!(
                "backoff base ({:?}) must be greater than zero and not above its cap ({:?})",
                self.backoff.base, self.backoff.cap
            )));
        }
        let base_url = base_url(&self.server_url)?;
        let heartbeat_path = paths::agent_heartbeat();
        let heartbeat_url = base_url
            .join(paths::relative(&heartbeat_path))
            .map_err(|e| {
                AgentError::InvalidConfig(format!("server URL {:?}: {e}", self.server_url))
            })?;
        Ok(ValidatedSettings {
            base_url,
            heartbeat_url,
            authorization: authorization_header(self.token.as_deref())?,
        })
    }
}

/// The parts of the config that needed parsing.
pub(crate) struct ValidatedSettings {
    /// The server's base URL with exactly one trailing slash, ready for `join`.
    pub base_url: Url,
    pub heartbeat_url: Url,
    /// `Bearer <token>`, marked sensitive so it never shows in debug output.
    pub authorization: Option<HeaderValue>,
}

fn base_url(server_url: &str) -> Result<Url, AgentError> {
    let invalid =
        |why: String| AgentError::InvalidConfig(format!("server URL {server_url:?}: {why}"));
    let mut base = Url::parse(server_url.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(invalid("must start with http:// or https://".into()));
    }
    if base.host_str().is_none_or(str::is_empty) {
        return Err(invalid("has no host".into()));
    }
    if base.query().is_some() || base.fragment().is_some() {
        return Err(invalid(
            "must not contain a query (?…) or fragment (#…)".into(),
        ));
    }
    // `Url::join` replaces the last path segment unless the base ends in '/',
    // so normalise to exactly one trailing slash before joining.
    let path = format!("{}/", base.path().trim_end_matches('/'));
    base.set_path(&path);
    Ok(base)
}

fn authorization_header(token: Option<&str>) -> Result<Option<HeaderValue>, AgentError> {
    // Tokens often come from files or env vars with a stray newline; a blank
    // token means "none" rather than an always-failing empty bearer.
    let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        AgentError::InvalidConfig("token contains characters not allowed in an HTTP header".into())
    })?;
    value.set_sensitive(true);
    Ok(Some(value))
}

impl fmt::Debug for AgentSettings {
    // Hand-written so the token never reaches a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentSettings")
            .field("server_url", &self.server_url)
            .field("host_id", &self.host_id)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("extra_servers", &self.extra_servers)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("gpus", &self.gpus)
            .field("work_dir", &self.work_dir)
            .field("max_jobs", &self.max_jobs)
            .field("cpu_slots", &self.cpu_slots)
            .field("kill_grace", &self.kill_grace)
            .field("backoff", &self.backoff)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_for(server_url: &str) -> Result<String, AgentError> {
        let config = AgentSettings::new(server_url, "gpu-01");
        config.validate().map(|v| v.heartbeat_url.to_string())
    }

    #[test]
    fn heartbeat_url_handles_trailing_slashes_and_prefixes() {
        let expected = "http://127.0.0.1:3000/api/v1/agents/heartbeat";
        assert_eq!(url_for("http://127.0.0.1:3000").as_deref(), Ok(expected));
        assert_eq!(url_for("http://127.0.0.1:3000/").as_deref(), Ok(expected));
        assert_eq!(
            url_for("https://lab.example/trainyard/").as_deref(),
            Ok("https://lab.example/trainyard/api/v1/agents/heartbeat")
        );
    }

    #[test]
    fn unusable_urls_are_invalid_config() {
        for bad in [
            "",
            "not a url",
            "127.0.0.1:3000",
            "ftp://host",
            "http://h/?x=1",
            "file:///tmp",
        ] {
            assert!(
                matches!(url_for(bad), Err(AgentError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bad_host_ids_and_intervals_are_refused() {
        let mut config = AgentSettings::new("http://localhost:3000", "");
        assert!(matches!(
            config.validate(),
            Err(AgentError::InvalidConfig(_))
        ));
        config.host_id = "../etc".into();
        assert!(matches!(
            config.validate(),
            Err(AgentError::InvalidConfig(_))
        ));
        config.host_id = "gpu-01".into();
        assert!(config.validate().is_ok());
        config.heartbeat_interval = Duration::ZERO;
        assert!(matches!(
            config.validate(),
            Err(AgentError::InvalidConfig(_))
        ));
    }

    #[test]
    fn tokens_are_trimmed_blank_means_none_and_newlines_inside_are_refused() {
        assert!(matches!(authorization_header(Some("  ")), Ok(None)));
        let header = authorization_header(Some("s3cret\n")).ok().flatten();
        assert_eq!(
            header.as_ref().and_then(|h| h.to_str().ok()),
            Some("Bearer s3cret")
        );
        assert!(header.is_some_and(|h| h.is_sensitive()));
        assert!(authorization_header(Some("a\nb")).is_err());
    }

    #[test]
    fn several_servers_get_their_own_workspace_and_duplicates_are_refused() {
        let mut config = AgentSettings::new("http://a:3000", "gpu-01");
        config.work_dir = PathBuf::from("/w");
        config.extra_servers = vec![
            ServerEndpoint {
                url: "https://lab.example/trainyard/".into(),
                token: Some("t".into()),
            },
            ServerEndpoint {
                url: "http://b:3000".into(),
                token: None,
            },
        ];
        let plans = config.plan_servers().unwrap_or_default();
        let folders: Vec<PathBuf> = plans.iter().map(|p| p.workspace.clone()).collect();
        assert_eq!(
            folders,
            [
                PathBuf::from("/w"),
                PathBuf::from("/w/servers/lab.example_443_trainyard"),
                PathBuf::from("/w/servers/b_3000"),
            ]
        );
        config.extra_servers.push(ServerEndpoint {
            url: "http://A:3000/".into(),
            token: None,
        });
        let refused = config.plan_servers().err().map(|e| e.to_string());
        assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.contains("listed twice") && e.contains("http://A:3000/")),
            "{refused:?}"
        );
        config.extra_servers = vec![ServerEndpoint {
            url: "not a url".into(),
            token: None,
        }];
        assert!(matches!(
            config.plan_servers(),
            Err(AgentError::InvalidConfig(_))
        ));
    }

    #[test]
    fn debug_output_redacts_the_token() {
        let mut config = AgentSettings::new("http://localhost:3000", "gpu-01");
        config.token = Some("hunter2".into());
        config.extra_servers = vec![ServerEndpoint {
            url: "http://b".into(),
            token: Some("swordfish".into()),
        }];
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("swordfish"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
