//! Command-line flags and environment variables of `trainyard-agent`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
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
    /// Base URL of the Trainyard server, e.g. http://trainyard.lab:3000
    #[arg(long, env = "TRAINYARD_URL", required_unless_present_any = ["status", "stop"])]
    pub url: Option<String>,

    /// Stable id of this host: letters, digits, '.', '_', '-' [default: the hostname]
    #[arg(long, env = "TRAINYARD_HOST_ID")]
    pub host_id: Option<String>,

    /// Token the server requires, sent as "Authorization: Bearer <token>"
    #[arg(long, env = "TRAINYARD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

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
}

/// What the command line asks for.
pub enum Action {
    /// Run the agent in the foreground (`daemon: false`) or detached.
    Run {
        settings: AgentSettings,
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
    /// What to do.
    pub fn into_action(self) -> Action {
        if self.status {
            return Action::Status {
                work_dir: self.work_dir,
                json: self.json,
            };
        }
        if self.stop {
            let timeout = match (self.timeout, self.drain) {
                (Some(limit), _) => Some(limit),
                (None, true) => None,
                (None, false) => Some(DEFAULT_STOP_TIMEOUT),
            };
            return Action::Stop {
                work_dir: self.work_dir,
                drain: self.drain,
                timeout,
            };
        }
        let daemon = self.daemon;
        Action::Run {
            settings: self.into_config(),
            daemon,
        }
    }

    /// The library config these flags describe.
    pub fn into_config(self) -> AgentSettings {
        let host_id = self.host_id.unwrap_or_else(default_host_id);
        // clap requires --url unless --status or --stop is given.
        let mut config = AgentSettings::new(self.url.unwrap_or_default(), host_id);
        config.write_status = true;
        config.token = self.token;
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
        config
    }
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
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("trainyard-agent").chain(args.iter().copied()))
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
        let config = args.into_config();
        assert_eq!(config.host_id, "gpu-7");
        assert_eq!(config.gpus, GpuSource::Fake(2));
        assert_eq!(config.heartbeat_interval, Duration::from_millis(500));
        assert_eq!(config.max_jobs, None);
        assert_eq!(config.cpu_slots, 1);
        assert_eq!(config.kill_grace, Duration::from_secs(10));

        let Ok(args) = parse(&["--url", "http://s:3000", "--no-gpus"]) else {
            panic!("valid flags refused");
        };
        let config = args.into_config();
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
        let config = args.into_config();
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
            args.into_action(),
            Action::Status { json: true, .. }
        ));
        let Ok(args) = parse(&["--stop", "--drain"]) else {
            panic!("--stop --drain refused");
        };
        assert!(matches!(
            args.into_action(),
            Action::Stop {
                drain: true,
                timeout: None,
                ..
            }
        ));
        let Ok(args) = parse(&["--stop"]) else {
            panic!("--stop refused");
        };
        assert!(matches!(
            args.into_action(),
            Action::Stop {
                drain: false,
                timeout: Some(DEFAULT_STOP_TIMEOUT),
                ..
            }
        ));
        let Ok(args) = parse(&["--url", "http://s", "--daemon"]) else {
            panic!("--daemon refused");
        };
        assert!(matches!(
            args.into_action(),
            Action::Run { daemon: true, .. }
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
}
