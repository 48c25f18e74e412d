//! One attempt from assignment to delivered report: prepare the run dir,
//! start the process, stop it on an order, a timeout or a fence, record the
//! outcome, and wait for the reporter.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use trainyard_core::work::{Assignment, AttemptRef, FinishedReport};

use super::command::{prepare, RunPaths};
use super::components;
use super::files::FileTask;
use super::outcome::Ending;
use super::process::{Exit, Process};
use super::reporter::{deliver, Delivery};
use super::serving::{self, ServeVars};
use super::spool::{AttemptState, RunDir, Spooled};
use super::stop::StopCause;
use super::JobContext;
use crate::supervisor::now_ms;

/// How long a stopping agent still tries to deliver a finished report;
/// what is not delivered by then is sent when the agent starts again.
pub(crate) const SHUTDOWN_REPORT_WINDOW: Duration = Duration::from_secs(5);

/// Runs `assignment` to the end. `stop` is this attempt's own stop channel
/// (the registry holds another sender of it).
pub(crate) async fn run(
    ctx: Arc<JobContext>,
    assignment: Assignment,
    stop: mpsc::UnboundedSender<StopCause>,
    stops: mpsc::UnboundedReceiver<StopCause>,
) {
    let attempt = AttemptRef {
        job_id: assignment.job_id,
        attempt: assignment.attempt,
    };
    let dir = RunDir::new(&ctx.runs, attempt);
    let spooled = Arc::new(Spooled::new(dir, AttemptState::new(assignment.clone())));
    let started = Instant::now();
    let (launched, _probe) = match launch(&ctx, &assignment, &spooled).await {
        Ok((process, serve)) => {
            let pid = process.pid();
            let port = serve.as_ref().map(|v| v.port);
            spooled
                .update(|s| {
                    s.pid = Some(pid);
                    s.serve_port = port;
                })
                .await;
            // Dropped (aborted) when the attempt ends.
            let probe = match (serve, &assignment.serve) {
                (Some(vars), Some(spec)) => Some(serving::probe(
                    Arc::clone(&ctx),
                    attempt,
                    vars.port,
                    spec.health_path.clone(),
                )),
                _ => None,
            };
            (Ok(process), probe)
        }
        Err(e) => (Err(e), None),
    };
    follow(ctx, assignment, spooled, launched, started, stop, stops).await;
}

/// Takes over a job a previous life of the agent started and left running
/// under its supervisor: watches it, stops it on orders, ships its output
/// from where the spool says the server is, and reports how it ended.
pub(crate) async fn adopted(
    ctx: Arc<JobContext>,
    spooled: Arc<Spooled>,
    process: Process,
    stop: mpsc::UnboundedSender<StopCause>,
    stops: mpsc::UnboundedReceiver<StopCause>,
) {
    let (assignment, port) = spooled.read(|s| (s.assignment.clone(), s.serve_port)).await;
    let ran_for = Duration::from_millis(now_ms().saturating_sub(process.started_ms()));
    let now = Instant::now();
    let started = now.checked_sub(ran_for).unwrap_or(now);
    // A serving attempt is probed again: the server may not have heard
    // that it is healthy before the previous agent died.
    let _probe = match (&assignment.serve, port) {
        (Some(spec), Some(port)) => Some(serving::probe(
            Arc::clone(&ctx),
            AttemptRef {
                job_id: assignment.job_id,
                attempt: assignment.attempt,
            },
            port,
            spec.health_path.clone(),
        )),
        _ => None,
    };
    follow(ctx, assignment, spooled, Ok(process), started, stop, stops).await;
}

/// From a started (or failed) launch to the delivered report.
async fn follow(
    ctx: Arc<JobContext>,
    assignment: Assignment,
    spooled: Arc<Spooled>,
    launched: Result<Process, String>,
    started: Instant,
    stop: mpsc::UnboundedSender<StopCause>,
    mut stops: mpsc::UnboundedReceiver<StopCause>,
) {
    let attempt = AttemptRef {
        job_id: assignment.job_id,
        attempt: assignment.attempt,
    };
    let (finished, finished_rx) = watch::channel(None);
    let mut reporter = spawn_reporter(&ctx, &spooled, launched.is_ok(), finished_rx, stop);

    let ending = match launched {
        Ok(mut process) => {
            let (exit, cause) =
                supervise(&ctx, &assignment, &mut process, &mut stops, started).await;
            Ending::Exited { exit, cause }
        }
        Err(error) => {
            append_line(&spooled.dir().log(), &error).await;
            tracing::warn!(?attempt, "job not started: {error}");
            Ending::NotStarted(error)
        }
    };
    ctx.registry.release(attempt);
    let report = ending.report(started.elapsed());
    tracing::info!(?attempt, outcome = ?report.outcome, exit_code = ?report.exit_code,
        signal = ?report.signal, error = ?report.error, "job ended");
    spooled.update(|s| s.outcome = Some(report.clone())).await;

    let cause = match &ending {
        Ending::Exited { cause, .. } => *cause,
        Ending::NotStarted(_) => None,
    };
    let delivery = match cause {
        Some(cause) if cause.drops_reports() => {
            reporter.0.abort();
            Some(Delivery::Superseded(format!("{cause:?}")))
        }
        _ => {
            finished.send_replace(Some(report));
            let window = (cause == Some(StopCause::AgentStopped))
                .then(|| Instant::now() + SHUTDOWN_REPORT_WINDOW);
            await_delivery(&mut reporter, &mut stops, window).await
        }
    };
    settle(&ctx, attempt, &spooled, delivery).await;
}

/// Reports an attempt recovered from the spool after a restart: its
/// process is gone and `state.outcome` is set.
pub(crate) async fn report_recovered(
    ctx: Arc<JobContext>,
    spooled: Arc<Spooled>,
    stop: mpsc::UnboundedSender<StopCause>,
    mut stops: mpsc::UnboundedReceiver<StopCause>,
) {
    let state = spooled.get().await;
    let attempt = state.attempt();
    let (_finished, finished_rx) = watch::channel(state.outcome);
    let mut reporter = spawn_reporter(&ctx, &spooled, false, finished_rx, stop);
    let delivery = await_delivery(&mut reporter, &mut stops, None).await;
    settle(&ctx, attempt, &spooled, delivery).await;
}

/// Creates the run dir (and, for a serving attempt, unpacks the model and
/// picks its port) and starts the process; `Err` says, for the job's log
/// and report, why it could not start.
async fn launch(
    ctx: &JobContext,
    assignment: &Assignment,
    spooled: &Spooled,
) -> Result<(Process, Option<ServeVars>), String> {
    let dir = spooled.dir();
    dir.create(assignment).await.map_err(|e| {
        format!(
            "cannot create the run directory {}: {e}",
            dir.path().display()
        )
    })?;
    // Saved before the spawn, so a crash right after it is still recovered.
    spooled.update(|_| {}).await;
    let attempt = AttemptRef {
        job_id: assignment.job_id,
        attempt: assignment.attempt,
    };
    let serve = match &assignment.serve {
        Some(spec) => Some(serving::prepare(ctx, attempt, spec, &dir.log()).await?),
        None => None,
    };
    let resume = if assignment.resume {
        super::resume::fetch(ctx, attempt, dir.path(), &dir.log()).await
    } else {
        None
    };
    let paths = RunPaths {
        run_dir: dir.path(),
        config: &dir.config(),
        serve: serve.as_ref(),
        resume: resume.as_deref(),
    };
    let command =
        prepare(assignment, &paths, &ctx.agent_cwd, &ctx.tracking).map_err(|e| e.to_string())?;
    if !command.cwd.is_dir() {
        return Err(format!(
            "the working directory {} does not exist",
            command.cwd.display()
        ));
    }
    for line in components::sync_before_start(ctx, attempt, assignment, &command.cwd).await? {
        append_line(&dir.log(), &line).await;
    }
    let process = Process::spawn(&command, dir.path(), &dir.log(), &ctx.supervisor).await?;
    Ok((process, serve))
}

/// Waits for the process to exit, stopping it first if an order, the
/// timeout or the fence comes before.
async fn supervise(
    ctx: &JobContext,
    assignment: &Assignment,
    process: &mut Process,
    stops: &mut mpsc::UnboundedReceiver<StopCause>,
    started: Instant,
) -> (Exit, Option<StopCause>) {
    let timeout = assignment.timeout_secs.map(Duration::from_secs);
    let timed_out = async {
        match timeout {
            Some(after) => tokio::time::sleep_until(started + after).await,
            None => std::future::pending().await,
        }
    };
    let lease = Duration::from_millis(assignment.lease_ms);
    let fenced = async {
        if assignment.fence {
            ctx.contact.lost_for(lease).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let cause = tokio::select! {
        exit = process.wait() => return (exit, None),
        Some(cause) = stops.recv() => cause,
        () = timed_out => StopCause::TimedOut { after: timeout.unwrap_or_default() },
        () = fenced => StopCause::Fenced,
    };
    let attempt = (assignment.job_id, assignment.attempt);
    if cause == StopCause::Fenced {
        tracing::warn!(
            ?attempt,
            "no contact with the server for {:?} of a {lease:?} lease; killing the job \
             because the server will have given it to another attempt",
            Instant::now() - ctx.contact.last()
        );
    } else {
        tracing::info!(?attempt, ?cause, "stopping the job");
    }
    (process.stop(ctx.kill_grace).await, Some(cause))
}

/// The reporter task, aborted when its owner drops it: an attempt task
/// that is aborted (the agent crashed or gave up waiting at shutdown) must
/// not leave its reports and file uploads running behind it.
struct Reporter(JoinHandle<Delivery>);

impl Drop for Reporter {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn spawn_reporter(
    ctx: &Arc<JobContext>,
    spooled: &Arc<Spooled>,
    send_started: bool,
    finished: watch::Receiver<Option<FinishedReport>>,
    stop: mpsc::UnboundedSender<StopCause>,
) -> Reporter {
    let ctx = Arc::clone(ctx);
    let spooled = Arc::clone(spooled);
    Reporter(tokio::spawn(async move {
        let attempt = spooled.read(AttemptState::attempt).await;
        let root = spooled.dir().path().to_path_buf();
        // Stopped with this task: dropped reports drop the files too.
        let files = FileTask::spawn(Arc::clone(&ctx), attempt, root, finished.clone());
        let delivery = deliver(&ctx, &spooled, send_started, finished, &files).await;
        if matches!(delivery, Delivery::Superseded(_)) {
            // Stops the process if it still runs; ignored once it ended.
            let _ = stop.send(StopCause::Superseded);
        }
        delivery
    }))
}

/// Waits for the reporter after the process ended. A superseded order
/// abandons the reports; an agent shutdown allows `SHUTDOWN_REPORT_WINDOW`
/// more. `None`: given up, the spool keeps the report for the next start.
async fn await_delivery(
    Reporter(reporter): &mut Reporter,
    stops: &mut mpsc::UnboundedReceiver<StopCause>,
    mut give_up_at: Option<Instant>,
) -> Option<Delivery> {
    loop {
        let deadline = async {
            match give_up_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            joined = &mut *reporter => return joined.ok(),
            Some(cause) = stops.recv() => match cause {
                StopCause::AgentStopped => {
                    give_up_at.get_or_insert_with(|| Instant::now() + SHUTDOWN_REPORT_WINDOW);
                }
                StopCause::Superseded => {
                    reporter.abort();
                    return Some(Delivery::Superseded("superseded".into()));
                }
                // The process already ended; nothing left to stop.
                _ => {}
            },
            () = deadline => {
                reporter.abort();
                return None;
            }
        }
    }
}

/// Records how reporting ended and forgets the attempt.
async fn settle(
    ctx: &JobContext,
    attempt: AttemptRef,
    spooled: &Spooled,
    delivery: Option<Delivery>,
) {
    match delivery {
        Some(Delivery::Delivered) => tracing::debug!(?attempt, "job reported"),
        Some(Delivery::Superseded(why)) => {
            tracing::info!(?attempt, "dropping the job's reports: {why}");
            spooled
                .update(|s| {
                    s.reported = true;
                    s.dropped = Some(why);
                })
                .await;
        }
        None => tracing::info!(
            ?attempt,
            "the job's report was not delivered; it is sent when the agent starts again"
        ),
    }
    ctx.registry.remove(attempt);
}

/// Appends `trainyard-agent: <text>` to the job's log, for the user.
pub(crate) async fn append_line(log: &std::path::Path, text: &str) {
    let line = format!("trainyard-agent: {text}\n");
    let written = async {
        let mut file = super::output::open_log(log).await?;
        file.write_all(line.as_bytes()).await?;
        file.flush().await
    };
    if let Err(e) = written.await {
        tracing::warn!("cannot write to {}: {e}", log.display());
    }
}
