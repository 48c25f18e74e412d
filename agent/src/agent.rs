//! The agent's top level: the heartbeat loop and the job loop side by side
//! until told to stop (or drain), then the running jobs are stopped, left
//! to their supervisors, or waited for.

use std::future::Future;

use tokio::sync::watch;

use crate::control::Control;
use crate::error::AgentError;
use crate::heartbeat::{post_forever, HeartbeatClient, SharedCollector};
use crate::jobs::{poll_forever, Contact, JobRunner};
use crate::settings::AgentSettings;
use crate::status::{self, LinkBoard};
use crate::supervisor::now_ms;

/// Runs the agent until `shutdown` resolves (then `Ok(())`) or a fatal error
/// (bad config, protocol mismatch, refused token). Network outages and
/// refused heartbeats are logged and retried, never returned. Either way,
/// running jobs are stopped (TERM, then KILL after the grace) and reported
/// as failed with "the agent was stopped" before it returns.
pub async fn run(
    config: AgentSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), AgentError> {
    let (control, orders) = watch::channel(Control::Run);
    let stop = async move {
        shutdown.await;
        let _ = control.send(Control::ExitStoppingJobs);
        // `control` must outlive the agent, which now winds down.
        std::future::pending::<Result<(), AgentError>>().await
    };
    tokio::select! {
        result = run_controlled(config, orders) => result,
        never = stop => never,
    }
}

/// Runs the agent as [`run`] does, obeying [`Control`] orders: `Drain`
/// stops taking work and returns `Ok(())` once every job here has ended
/// and been reported; `ExitLeavingJobs` returns at once and leaves the jobs
/// running for the next agent on this work dir to adopt;
/// `ExitStoppingJobs` is [`run`]'s shutdown. A dropped sender counts as
/// `ExitStoppingJobs`. A fatal error stops the jobs too.
pub async fn run_controlled(
    config: AgentSettings,
    mut orders: watch::Receiver<Control>,
) -> Result<(), AgentError> {
    let validated = config.validate()?;
    let client = HeartbeatClient::new(&validated)?;
    tracing::info!(
        host_id = %config.host_id,
        url = %client.url(),
        interval = ?config.heartbeat_interval,
        "trainyard agent starting"
    );

    let started_ms = now_ms();
    let contact = Contact::new();
    let jobs = JobRunner::open(&config, &validated, contact.clone()).await?;
    let board = LinkBoard::new(config.server_url.trim().to_string());
    let work_dir =
        std::path::absolute(&config.work_dir).unwrap_or_else(|_| config.work_dir.clone());
    let status = async {
        if !config.write_status {
            return std::future::pending().await;
        }
        let fixed = status::Fixed {
            host_id: config.host_id.clone(),
            work_dir: work_dir.clone(),
            started_ms,
        };
        status::keep_written(fixed, board.clone(), &jobs).await;
    };
    let (inventory, inventory_rx) = watch::channel(None);
    let heartbeats = async {
        let collector = SharedCollector::open(config.clone()).await.ok_or_else(|| {
            AgentError::Startup("opening the system and GPU samplers panicked".into())
        })?;
        post_forever(&config, &client, &collector, &contact, &inventory, &board).await
    };
    let result = tokio::select! {
        exit = obey(&mut orders, &jobs) => Ok(exit),
        result = heartbeats => result.map(|()| Control::ExitStoppingJobs),
        result = poll_forever(&jobs, inventory_rx) => result.map(|()| Control::ExitStoppingJobs),
        () = status => Ok(Control::ExitStoppingJobs),
    };
    match &result {
        Err(error) => {
            tracing::error!("{error}");
            jobs.shutdown().await;
        }
        Ok(Control::ExitLeavingJobs) => jobs.leave_running(),
        Ok(Control::Drain) => tracing::info!("drained: every job here has ended and been reported"),
        Ok(Control::ExitStoppingJobs | Control::Run) => jobs.shutdown().await,
    }
    if config.write_status {
        status::remove(&work_dir);
    }
    tracing::info!("trainyard agent stopped");
    result.map(|_| ())
}

/// Follows the orders until one says to exit, and returns it (`Drain`
/// once the drain is complete).
async fn obey(orders: &mut watch::Receiver<Control>, jobs: &JobRunner) -> Control {
    loop {
        let order = *orders.borrow_and_update();
        match order {
            Control::Run => {}
            Control::Drain => {
                if !jobs.status().0 {
                    tracing::info!(
                        "draining: taking no new work, exiting once the jobs here are done"
                    );
                }
                jobs.start_draining();
                tokio::select! {
                    () = jobs.until_all_done() => return Control::Drain,
                    changed = orders.changed() => if changed.is_err() {
                        return Control::ExitStoppingJobs;
                    },
                }
                continue;
            }
            exit @ (Control::ExitLeavingJobs | Control::ExitStoppingJobs) => return exit,
        }
        if orders.changed().await.is_err() {
            return Control::ExitStoppingJobs;
        }
    }
}
