//! Command-line flags and environment variables of `trainyard-agent`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};
use trainyard_agent::{default_host_id, AgentSettings, GpuSource};
use trainyard_core::components::SyncStrategy;

/// Longest accepted heartbeat interval; beyond an hour the server would
/// long have marked the host offline.
const MAX_INTERVAL_SECS: f64 = 3600.0;

/// Reports this host's CPU, memory, disk and GPUs to a Trainyard server and runs its jobs.
// No `Debug` derive: it would print the token.
#[derive(Parser)]
#[command(name = "trainyard-agent", version, about)]
pub struct Args {
    /// Base URL of the Trainyard server, e.g. http://trainyard.lab:3000;
    /// repeat it to work for several servers (each --token belongs to the
    /// --url before it)
    #[arg(
        long,
        env = "TRAINYARD_URL",
        action = ArgAction::Append,
        required_unless_present_any = ["status", "stop", "servers_file"]
    )]
    pub url: Vec<String>,

    /// File listing servers to work for, one a line: URL, then
    /// token-env=VAR, token-file=PATH or token=TOKEN (see docs/operations.md)
    #[arg(long, env = "TRAINYARD_SERVERS_FILE", value_name = "FILE")]
    pub servers_file: Option<PathBuf>,

    /// Stable id of this host: letters, digits, '.', '_', '-' [default: the hostname]
    #[arg(long, env = "TRAINYARD_HOST_ID")]
    pub host_id: Option<String>,

    /// Token the server requires, sent as "Authorization: Bearer <token>";
    /// with several --url, give each its own right after it
    #[arg(
        long,
        env = "TRAINYARD_TOKEN",
        hide_env_values = true,
        action = ArgAction::Append
    )]
    pub token: Vec<String>,

    /// Report N simulated GPUs instead of reading NVML (demos and tests)
    #[arg(
        long,
        env = "TRAINYARD_FAKE_GPUS",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(0..=64),
        conflicts_with = "no_gpus"
    )]
    pub fake_gpus: Option<u32>,

    /// Report no GPUs at all (do not load NVML)
    #[arg(long, env = "TRAINYARD_NO_GPUS")]
    pub no_gpus: bool,

    /// Seconds between heartbeats; fractions such as 0.5 are allowed
    #[arg(
        long,
        env = "TRAINYARD_HEARTBEAT_INTERVAL",
        value_name = "SECONDS",
        default_value = "3",
        value_parser = parse_interval
    )]
    pub heartbeat_interval: Duration,

    /// Directory whose disk usage is reported; jobs run in its runs/ folder
    /// (those of a second or further --url in servers/<host>_<port>/runs/)
    #[arg(long, env = "TRAINYARD_WORK_DIR", default_value = ".")]
    pub work_dir: PathBuf,

    /// Most jobs to run at once [default: no limit beyond GPUs and CPU slots]
    #[arg(
        long,
        env = "TRAINYARD_MAX_JOBS",
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub max_jobs: Option<u32>,

    /// How many CPU-only (gpus: 0) jobs may run at once
    #[arg(
        long,
        env = "TRAINYARD_CPU_SLOTS",
        value_name = "N",
        default_value = "1"
    )]
    pub cpu_slots: u32,

    /// Seconds a stopped job gets between SIGTERM and SIGKILL; fractions allowed
    #[arg(
        long,
        env = "TRAINYARD_KILL_GRACE",
        value_name = "SECONDS",
        default_value = "10",
        value_parser = parse_grace
    )]
    pub kill_grace: Duration,

    /// How component copies under a job's working directory are reconciled
    /// with the server's store before it starts: server_authoritative,
    /// local_priority, interactive or dry_run (an experiment's `sync:` wins)
    #[arg(long, env = "TRAINYARD_SYNC_STRATEGY", default_value = "interactive")]
    pub sync_strategy: SyncStrategy,

    /// Detach from the terminal and run in the background; pid in
    /// <work dir>/agent.pid, log in <work dir>/agent.log
    #[arg(long, conflicts_with_all = ["status", "stop"])]
    pub daemon: bool,

    /// Print the pid, uptime, server link and jobs of the agent running on
    /// --work-dir, and exit (3 when none runs)
    #[arg(long, conflicts_with = "stop")]
    pub status: bool,

    /// With --status: print the status file's JSON instead
    #[arg(long, requires = "status")]
    pub json: bool,

    /// Stop the agent running on --work-dir and wait for it to exit; its
    /// jobs keep running and the next agent there adopts them
    #[arg(long)]
    pub stop: bool,

    /// With --stop: first take no new work and wait until the running jobs
    /// have finished and been reported
    #[arg(long, requires = "stop")]
    pub drain: bool,

    /// With --stop: give up waiting after this many seconds (the agent is
    /// left running) [default: 60, with --drain: no limit]
    #[arg(long, requires = "stop", value_name = "SECONDS", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,

    /// Address the server's /serve/… proxy reaches this host's model
    /// servers at [default: the address the server sees this agent's
    /// requests come from]
    #[arg(long, env = "TRAINYARD_ADVERTISE_ADDRESS", value_name = "ADDRESS")]
    pub advertise_address: Option<String>,

    /// Where each --url and --token stood (filled by [`Args::read_from`]).
    #[arg(skip)]
    pub positions: super::servers::Positions,
}

/// What the command line asks for.
pub enum Action {
    /// Run the agent in the foreground (`daemon: false`) or detached.
    Run {
        settings: Box<AgentSettings>,
        daemon: bool,
    },
    /// Print the status of the agent on this work dir.
    Status { work_dir: PathBuf, json: bool },
    /// Stop the agent on this work dir.
    Stop {
        work_dir: PathBuf,
        drain: bool,
        timeout: Option<Duration>,
    },
}

/// Flags that pick what the command does rather than configure an agent:
/// they have no environment variable (an env file for systemd must not turn
/// every start into a `--stop`).
#[cfg(test)]
const ACTION_FLAGS: [&str; 6] = ["daemon", "status", "json", "stop", "drain", "timeout"];

impl Args {
    /// Parses the process's arguments; prints the error and exits on bad ones.
    pub fn parse_or_exit() -> Args {
        Self::read_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// Parses `args` (the program name first), keeping where each `--url`
    /// and `--token` stood.
    pub fn read_from<I, T>(args: I) -> Result<Args, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Args::command().try_get_matches_from(args)?;
        let mut parsed = Args::from_arg_matches(&matches)?;
        parsed.positions = super::servers::Positions::of(&matches);
        Ok(parsed)
    }

    /// What to do; `Err` for tokens without their `--url` or a servers
    /// file that cannot be used.
    pub fn into_action(self) -> Result<Action, clap::Error> {
        self.into_action_checked().map_err(usage_error)
    }

    fn into_action_checked(self) -> Result<Action, String> {
        if self.status {
            return Ok(Action::Status {
                work_dir: self.work_dir,
                json: self.json,
            });
        }
        if self.stop {
            let timeout = match (self.timeout, self.drain) {
                (Some(limit), _) => Some(limit),
                (None, true) => None,
                (None, false) => Some(DEFAULT_STOP_TIMEOUT),
            };
            return Ok(Action::Stop {
                work_dir: self.work_dir,
                drain: self.drain,
                timeout,
            });
        }
        let daemon = self.daemon;
        Ok(Action::Run {
            settings: Box::new(self.into_config()?),
            daemon,
        })
    }

    /// The library config these flags describe; `Err` for tokens without
    /// their `--url` or a servers file that cannot be used.
    pub fn into_config(self) -> Result<AgentSettings, String> {
        let host_id = self.host_id.unwrap_or_else(default_host_id);
        let mut servers = super::servers::pair(&self.url, &self.token, &self.positions)?;
        if let Some(path) = &self.servers_file {
            servers.extend(super::servers_file::read(path)?);
        }
        let mut servers = servers.into_iter();
        // clap requires --url unless --servers-file, --status or --stop is
        // given, and a servers file lists at least one.
        let first = servers.next().ok_or("no server to work for: give --url")?;
        let mut config = AgentSettings::new(first.url, host_id);
        config.token = first.token;
        config.extra_servers = servers.collect();
        config.write_status = true;
        config.heartbeat_interval = self.heartbeat_interval;
        config.work_dir = self.work_dir;
        config.max_jobs = self.max_jobs;
        config.cpu_slots = self.cpu_slots;
        config.kill_grace = self.kill_grace;
        config.sync_strategy = self.sync_strategy;
        config.advertise_address = self.advertise_address.filter(|a| !a.trim().is_empty());
        config.gpus = match (self.no_gpus, self.fake_gpus) {
            (true, _) => GpuSource::None,
            (false, Some(count)) => GpuSource::Fake(count),
            (false, None) => GpuSource::Nvml,
        };
        Ok(config)
    }
}

/// A bad combination of flags, worded as clap words its own.
fn usage_error(message: String) -> clap::Error {
    Args::command().error(clap::error::ErrorKind::ArgumentConflict, message)
}

/// How long `--stop` waits for the agent to exit when not told.
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Parses `--timeout`: more than 0 seconds, fractions allowed.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds.is_finite()) {
        return Err(format!(
            "the timeout must be more than 0 seconds, not {text}"
        ));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

/// Parses a positive number of seconds, fractions allowed.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= MAX_INTERVAL_SECS) {
        return Err(format!(
            "the heartbeat interval must be more than 0 and at most {MAX_INTERVAL_SECS} seconds, not {text}"
        ));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

/// Parses a number of seconds from 0 (KILL at once) to an hour.
fn parse_grace(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.0..=MAX_INTERVAL_SECS).contains(&seconds) {
        return Err(format!(
            "the kill grace must be between 0 and {MAX_INTERVAL_SECS} seconds, not {text}"
        ));
    }
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::read_from(std::iter::once("trainyard-agent").chain(args.iter().copied()))
    }

    fn config_of(args: &[&str]) -> AgentSettings {
        match parse(args).map(Args::into_config) {
            Ok(Ok(config)) => config,
            Ok(Err(e)) => panic!("{args:?}: {e}"),
            Err(e) => panic!("{args:?}: {e}"),
        }
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn intervals_accept_fractions_and_refuse_zero_or_negative() {
        assert_eq!(parse_interval("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_interval("3"), Ok(Duration::from_secs(3)));
        for bad in ["0", "-1", "abc", "NaN", "inf", "1e9"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_map_onto_the_library_config() {
        let Ok(args) = parse(&[
            "--url",
            "http://s:3000",
            "--host-id",
            "gpu-7",
            "--fake-gpus",
            "2",
            "--heartbeat-interval",
            "0.5",
        ]) else {
            panic!("valid flags refused");
        };
        let config = args.into_config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.host_id, "gpu-7");
        assert_eq!(config.gpus, GpuSource::Fake(2));
        assert_eq!(config.heartbeat_interval, Duration::from_millis(500));
        assert_eq!(config.max_jobs, None);
        assert_eq!(config.cpu_slots, 1);
        assert_eq!(config.kill_grace, Duration::from_secs(10));

        let Ok(args) = parse(&["--url", "http://s:3000", "--no-gpus"]) else {
            panic!("valid flags refused");
        };
        let config = args.into_config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.gpus, GpuSource::None);
        assert_eq!(config.heartbeat_interval, Duration::from_secs(3));
        assert!(!config.host_id.is_empty());
    }

    #[test]
    fn job_limits_and_kill_grace_map_onto_the_config() {
        let Ok(args) = parse(&[
            "--url",
            "http://s",
            "--max-jobs",
            "2",
            "--cpu-slots",
            "4",
            "--kill-grace",
            "0.5",
        ]) else {
            panic!("valid flags refused");
        };
        let config = args.into_config().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.max_jobs, Some(2));
        assert_eq!(config.cpu_slots, 4);
        assert_eq!(config.kill_grace, Duration::from_millis(500));
        assert!(parse(&["--url", "http://s", "--max-jobs", "0"]).is_err());
        assert!(parse(&["--url", "http://s", "--kill-grace", "-1"]).is_err());
        assert_eq!(parse_grace("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn contradictory_or_out_of_range_flags_are_refused() {
        assert!(parse(&["--url", "http://s", "--no-gpus", "--fake-gpus", "1"]).is_err());
        assert!(parse(&["--url", "http://s", "--fake-gpus", "65"]).is_err());
        assert!(parse(&["--url", "http://s", "--heartbeat-interval", "0"]).is_err());
    }

    #[test]
    fn status_and_stop_need_no_url_and_pick_their_action() {
        let Ok(args) = parse(&["--status", "--work-dir", "/w", "--json"]) else {
            panic!("--status refused");
        };
        assert!(matches!(
            args.into_action().ok(),
            Some(Action::Status { json: true, .. })
        ));
        let Ok(args) = parse(&["--stop", "--drain"]) else {
            panic!("--stop --drain refused");
        };
        assert!(matches!(
            args.into_action().ok(),
            Some(Action::Stop {
                drain: true,
                timeout: None,
                ..
            })
        ));
        let Ok(args) = parse(&["--stop"]) else {
            panic!("--stop refused");
        };
        assert!(matches!(
            args.into_action().ok(),
            Some(Action::Stop {
                drain: false,
                timeout: Some(DEFAULT_STOP_TIMEOUT),
                ..
            })
        ));
        let Ok(args) = parse(&["--url", "http://s", "--daemon"]) else {
            panic!("--daemon refused");
        };
        assert!(matches!(
            args.into_action().ok(),
            Some(Action::Run { daemon: true, .. })
        ));
    }

    #[test]
    fn contradictory_actions_are_refused() {
        assert!(parse(&["--daemon"]).is_err(), "--daemon needs --url");
        assert!(parse(&["--url", "http://s", "--drain"]).is_err());
        assert!(parse(&["--url", "http://s", "--json"]).is_err());
        assert!(parse(&["--status", "--stop"]).is_err());
        assert!(parse(&["--url", "http://s", "--daemon", "--stop"]).is_err());
        assert!(parse(&["--stop", "--timeout", "0"]).is_err());
        assert!(parse(&["--stop", "--timeout", "soon"]).is_err());
    }

    #[test]
    fn help_never_shows_the_token_value() {
        let command = Args::command();
        let token = command.get_arguments().find(|arg| arg.get_id() == "token");
        assert!(token.is_some_and(|arg| arg.is_hide_env_values_set()));
        // Every flag is documented and settable from the environment.
        for arg in command.get_arguments().filter(|a| {
            let id = a.get_id().as_str();
            !matches!(id, "help" | "version") && !ACTION_FLAGS.contains(&id)
        }) {
            assert!(arg.get_help().is_some(), "{} has no help", arg.get_id());
            assert!(arg.get_env().is_some(), "{} has no env var", arg.get_id());
        }
    }

    #[test]
    fn one_url_with_its_token_works_as_it_always_did() {
        let config = config_of(&["--url", "http://s:3000", "--token", "t"]);
        assert_eq!(config.server_url, "http://s:3000");
        assert_eq!(config.token.as_deref(), Some("t"));
        assert!(config.extra_servers.is_empty());
        // The token may come first when there is one --url.
        let config = config_of(&["--token", "t", "--url", "http://s:3000"]);
        assert_eq!(config.token.as_deref(), Some("t"));
    }

    #[test]
    fn repeated_urls_each_take_the_token_after_them() {
        let config = config_of(&[
            "--url", "http://a", "--token", "ta", "--url", "http://b", "--url", "http://c",
            "--token", "tc",
        ]);
        assert_eq!(config.server_url, "http://a");
        assert_eq!(config.token.as_deref(), Some("ta"));
        let extra: Vec<(&str, Option<&str>)> = config
            .extra_servers
            .iter()
            .map(|s| (s.url.as_str(), s.token.as_deref()))
            .collect();
        assert_eq!(extra, [("http://b", None), ("http://c", Some("tc"))]);
    }

    #[test]
    fn servers_files_add_to_the_urls_given() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("servers.txt");
        std::fs::write(&file, "http://b:3000 token=tb\n").unwrap_or_else(|e| panic!("{e}"));
        let path = file.to_str().unwrap_or_default();
        let config = config_of(&["--servers-file", path]);
        assert_eq!(config.server_url, "http://b:3000");
        assert_eq!(config.token.as_deref(), Some("tb"));
        let config = config_of(&["--url", "http://a", "--servers-file", path]);
        assert_eq!(config.server_url, "http://a");
        assert_eq!(config.extra_servers.len(), 1);
        let missing = parse(&["--servers-file", "/nonexistent/servers.txt"])
            .ok()
            .map(Args::into_action);
        assert!(
            matches!(&missing, Some(Err(e)) if e.to_string().contains("/nonexistent/servers.txt")),
            "an unreadable servers file is named"
        );
    }

    #[test]
    fn tokens_without_their_url_are_refused() {
        for (args, expected) in [
            (
                &["--url", "http://a", "--token", "x", "--token", "y"][..],
                "two --token",
            ),
            (
                &["--token", "x", "--url", "http://a", "--url", "http://b"][..],
                "--token must follow",
            ),
        ] {
            let error = match parse(args).map(Args::into_action) {
                Err(e) | Ok(Err(e)) => e.to_string(),
                Ok(Ok(_)) => String::new(),
            };
            assert!(error.contains(expected), "{args:?}: {error}");
        }
        assert!(parse(&["--token", "x"]).is_err(), "a token needs a --url");
    }
}
