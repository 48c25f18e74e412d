//! `trainyard-agent`: reports this host's hardware to a Trainyard server and runs its jobs.

mod cli;

use std::process::ExitCode;

use anyhow::Context;
use tokio::sync::watch;
use trainyard_agent::workdir_lock::WorkDirLock;
use trainyard_agent::{AgentSettings, Control};

use cli::args::{Action, Args};

fn main() -> ExitCode {
    // A job's supervisor runs the job and exits here (no logging, no runtime).
    trainyard_agent::supervisor::run_if_requested();
    let daemon_child = cli::daemon::is_daemon_child();
    let action = Args::parse_or_exit()
        .into_action()
        .unwrap_or_else(|e| e.exit());
    let result = match action {
        Action::Status { work_dir, json } => return cli::status::print(&work_dir, json),
        Action::Stop {
            work_dir,
            drain,
            timeout,
        } => return cli::stop::stop(&work_dir, drain, timeout),
        Action::Run { settings, daemon } if daemon && !daemon_child => {
            cli::daemon::start(&settings.work_dir)
        }
        Action::Run { settings, .. } => {
            cli::logging::init();
            run_until_signalled(*settings)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the cause chain on one line; anyhow's default
            // `Debug` output would add a backtrace an operator cannot use.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Async worker threads. The agent's async work is two loops, a few
/// requests and each job's output: two threads keep up with 1 MB/s of log
/// (docs/benchmarks.md, "Agent footprint"), where tokio's default (one per
/// core) would start 128 on a 128-core GPU host. Blocking work (sampling,
/// hashing, file IO) runs on tokio's separate blocking pool.
/// `TOKIO_WORKER_THREADS` still overrides it.
const WORKER_THREADS: usize = 2;

/// Runs the agent, holding its work dir's lock, until a signal ends it
/// (see `cli/signals.rs`).
fn run_until_signalled(config: AgentSettings) -> anyhow::Result<()> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(WORKER_THREADS);
    }
    let runtime = builder
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (orders, control) = watch::channel(Control::Run);
        // Before the lock: whoever finds this pid in it may signal it.
        let signals = cli::signals::listen(orders).context("cannot listen for signals")?;
        let _lock = WorkDirLock::acquire(&config.work_dir)?;
        tokio::select! {
            result = trainyard_agent::run_controlled(config, control) => result?,
            () = signals => {}
        }
        anyhow::Ok(())
    })
}
