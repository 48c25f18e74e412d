//! The agent's top level: for every server it works for, a heartbeat loop
//! and a job loop, all side by side until told to stop (or drain), then the
//! running jobs are stopped, left to their supervisors, or waited for.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tokio::sync::watch;

use crate::control::Control;
use crate::error::AgentError;
use crate::heartbeat::{post_forever, HeartbeatClient, SharedCollector};
use crate::jobs::{poll_forever, Contact, HostSlots, JobRunner, Limits, ServerSide};
use crate::settings::{AgentSettings, ServerPlan};
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
    let plans = config.plan_servers()?;
    let host = Arc::new(HostSlots::new(
        Limits {
            cpu_slots: config.cpu_slots,
            max_jobs: config.max_jobs,
        },
        plans.len(),
    ));
    let started_ms = now_ms();
    let links = open_links(&config, &plans, &host).await?;
    let runners: Vec<&JobRunner> = links.iter().map(|link| &link.jobs).collect();
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
        let boards: Vec<LinkBoard> = links.iter().map(|link| link.board.clone()).collect();
        status::keep_written(fixed, boards, &runners).await;
    };
    let (inventory, inventory_rx) = watch::channel(None);
    let heartbeats = async {
        let collector = SharedCollector::open(config.clone()).await.ok_or_else(|| {
            AgentError::Startup("opening the system and GPU samplers panicked".into())
        })?;
        let loops = links
            .iter()
            .map(|link| {
                Box::pin(post_forever(
                    &config,
                    &link.client,
                    &collector,
                    &link.contact,
                    &inventory,
                    &link.board,
                )) as Task<'_, Result<(), AgentError>>
            })
            .collect();
        first_to_end(loops).await
    };
    let polls = first_to_end(
        links
            .iter()
            .map(|link| {
                Box::pin(poll_forever(&link.jobs, inventory_rx.clone()))
                    as Task<'_, Result<(), AgentError>>
            })
            .collect(),
    );
    let result = tokio::select! {
        exit = obey(&mut orders, &runners) => Ok(exit),
        result = heartbeats => result.map(|()| Control::ExitStoppingJobs),
        result = polls => result.map(|()| Control::ExitStoppingJobs),
        () = status => Ok(Control::ExitStoppingJobs),
    };
    let shutdown = || {
        all_of(
            runners
                .iter()
                .map(|jobs| Box::pin(jobs.shutdown()) as Task<'_, ()>)
                .collect(),
        )
    };
    match &result {
        Err(error) => {
            tracing::error!("{error}");
            shutdown().await;
        }
        Ok(Control::ExitLeavingJobs) => runners.iter().for_each(|jobs| jobs.leave_running()),
        Ok(Control::Drain) => tracing::info!("drained: every job here has ended and been reported"),
        Ok(Control::ExitStoppingJobs | Control::Run) => shutdown().await,
    }
    if config.write_status {
        status::remove(&work_dir);
    }
    tracing::info!("trainyard agent stopped");
    result.map(|_| ())
}

/// Opens every server's link; each one's jobs adopt what its folder holds.
async fn open_links(
    config: &AgentSettings,
    plans: &[ServerPlan],
    host: &Arc<HostSlots>,
) -> Result<Vec<Link>, AgentError> {
    let mut links = Vec::with_capacity(plans.len());
    for (index, plan) in plans.iter().enumerate() {
        let client = HeartbeatClient::new(&plan.validated)?;
        tracing::info!(
            host_id = %config.host_id,
            url = %client.url(),
            interval = ?config.heartbeat_interval,
            "trainyard agent starting"
        );
        let contact = Contact::new();
        let server = ServerSide {
            index,
            url: &plan.endpoint.url,
            token: plan.endpoint.token.as_deref(),
            validated: &plan.validated,
            workspace: plan.workspace.clone(),
        };
        let jobs = JobRunner::open(config, server, Arc::clone(host), contact.clone()).await?;
        let board = LinkBoard::new(plan.endpoint.url.trim().to_string());
        links.push(Link {
            client,
            contact,
            jobs,
            board,
        });
    }
    Ok(links)
}

/// One server this agent works for: its heartbeats, contact, jobs and link state.
struct Link {
    client: HeartbeatClient,
    contact: Contact,
    jobs: JobRunner,
    board: LinkBoard,
}

/// A boxed future borrowing the agent's state, one per server.
type Task<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Resolves with the first of `tasks` to end (never, when there are none).
async fn first_to_end<T>(mut tasks: Vec<Task<'_, T>>) -> T {
    std::future::poll_fn(|cx| {
        for task in &mut tasks {
            if let Poll::Ready(value) = task.as_mut().poll(cx) {
                return Poll::Ready(value);
            }
        }
        Poll::Pending
    })
    .await
}

/// Resolves once every one of `tasks` has ended.
async fn all_of(tasks: Vec<Task<'_, ()>>) {
    let mut pending: Vec<Option<Task<'_, ()>>> = tasks.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        for slot in &mut pending {
            if let Some(task) = slot {
                if task.as_mut().poll(cx).is_ready() {
                    *slot = None;
                }
            }
        }
        if pending.iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Follows the orders until one says to exit, and returns it (`Drain`
/// once the drain is complete).
async fn obey(orders: &mut watch::Receiver<Control>, runners: &[&JobRunner]) -> Control {
    loop {
        let order = *orders.borrow_and_update();
        match order {
            Control::Run => {}
            Control::Drain => {
                // Draining is the host's: one runner stops every server's offers.
                if let Some(jobs) = runners.first() {
                    if !jobs.status().0 {
                        tracing::info!(
                            "draining: taking no new work, exiting once the jobs here are done"
                        );
                    }
                    jobs.start_draining();
                }
                tokio::select! {
                    () = until_all_done(runners) => return Control::Drain,
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

/// Resolves once no server's runner holds an attempt, all at the same time.
async fn until_all_done(runners: &[&JobRunner]) {
    loop {
        for jobs in runners {
            jobs.until_all_done().await;
        }
        // An answer on its way as the drain began may have added one to a
        // runner already waited for.
        if runners.iter().all(|jobs| jobs.status().1.is_empty()) {
            return;
        }
    }
}
