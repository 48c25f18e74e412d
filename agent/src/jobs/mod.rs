//! Running jobs: the long-poll for work, one task per attempt (process,
//! stop handling, fencing), log shipping and reports, run-file sync, and
//! the local spool that survives an agent restart. See docs/agent-protocol.md, "Jobs".

mod api;
mod attempt;
mod command;
mod components;
mod contact;
mod files;
mod host_slots;
mod outcome;
mod output;
mod poller;
mod process;
mod recovery;
mod registry;
mod reporter;
mod resume;
mod retry;
mod serving;
mod slots;
mod spool;
mod stop;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use trainyard_core::components::SyncStrategy;
use trainyard_core::work::{Assignment, AttemptRef, StopOrder};

pub(crate) use contact::Contact;
pub(crate) use host_slots::HostSlots;
pub(crate) use poller::poll_forever;
pub(crate) use slots::Limits;

use crate::backoff::BackoffPolicy;
use crate::error::AgentError;
use crate::settings::{AgentSettings, ValidatedSettings};
use api::WorkClient;
use registry::{AttemptRegistry, Claim, Entry};
use spool::Spooled;
use stop::StopCause;

/// This process's executable, by the kernel's link to it.
const OWN_EXE: &str = "/proc/self/exe";

/// What every attempt task shares.
pub(crate) struct JobContext {
    api: WorkClient,
    registry: AttemptRegistry,
    /// `<work_dir>/runs`, absolute.
    runs: PathBuf,
    /// Where relative `workdir`s start, and the default cwd of a job.
    agent_cwd: PathBuf,
    contact: Contact,
    kill_grace: Duration,
    backoff: BackoffPolicy,
    host_id: String,
    /// The executable jobs' supervisors run as.
    supervisor: PathBuf,
    /// How component copies are reconciled before a job starts.
    sync_strategy: SyncStrategy,
    /// Where jobs' MLflow logging goes (this agent's server).
    tracking: command::TrackingEnv,
    /// The address serving attempts tell the server to proxy to; `None`:
    /// the address the server sees this agent's requests come from.
    advertise_address: Option<String>,
}

/// One server the agent takes work from, as the job side needs it.
pub(crate) struct ServerSide<'a> {
    /// Its place in the list of servers (the host's capacity counts by it).
    pub index: usize,
    /// The URL as configured.
    pub url: &'a str,
    pub token: Option<&'a str>,
    pub validated: &'a ValidatedSettings,
    /// The folder holding this server's `runs/` (and model cache).
    pub workspace: PathBuf,
}

/// One server's jobs on this agent: starts, stops and finally shuts them down.
pub(crate) struct JobRunner {
    ctx: Arc<JobContext>,
    tasks: Mutex<JoinSet<()>>,
}

impl JobRunner {
    /// Sets up job running and starts reporting attempts a previous run of
    /// the agent left unreported.
    pub async fn open(
        config: &AgentSettings,
        server: ServerSide<'_>,
        host: Arc<HostSlots>,
        contact: Contact,
    ) -> Result<Self, AgentError> {
        let startup = |what: &str, e: std::io::Error| AgentError::Startup(format!("{what}: {e}"));
        let agent_cwd =
            std::env::current_dir().map_err(|e| startup("cannot read the current directory", e))?;
        let runs = std::path::absolute(server.workspace.join("runs"))
            .map_err(|e| startup("cannot resolve the work directory", e))?;
        let supervisor = match &config.supervisor {
            Some(path) => path.clone(),
            // The running image itself, even after an upgrade replaced the
            // file at its path (its name then ends in " (deleted)").
            None if std::path::Path::new(OWN_EXE).exists() => PathBuf::from(OWN_EXE),
            None => std::env::current_exe()
                .map_err(|e| startup("cannot find the agent's own executable", e))?,
        };
        let ctx = JobContext {
            supervisor,
            api: WorkClient::new(server.validated)?,
            registry: AttemptRegistry::for_link(host, server.index),
            runs,
            agent_cwd,
            contact,
            kill_grace: config.kill_grace,
            backoff: config.backoff,
            host_id: config.host_id.clone(),
            sync_strategy: config.sync_strategy,
            advertise_address: config.advertise_address.clone(),
            tracking: command::TrackingEnv {
                uri: server.url.trim().trim_end_matches('/').to_string(),
                token: server.token.map(str::to_string),
            },
        };
        let jobs = Self {
            ctx: Arc::new(ctx),
            tasks: Mutex::new(JoinSet::new()),
        };
        recovery::recover(&jobs).await;
        Ok(jobs)
    }

    fn context(&self) -> &JobContext {
        &self.ctx
    }

    /// Starts an assignment unless this attempt is already known here, or
    /// another server's job holds its GPUs: that one is declined (left out
    /// of the next poll, so its server queues it again without using a
    /// retry).
    pub fn start(&self, assignment: Assignment, inventory: &[u32]) {
        let attempt = AttemptRef {
            job_id: assignment.job_id,
            attempt: assignment.attempt,
        };
        let registry = &self.ctx.registry;
        let draining = registry.is_draining();
        let overcommit = registry.would_overcommit(inventory, &assignment.gpu_indices);
        let (stop, stops) = mpsc::unbounded_channel();
        let lease = Duration::from_millis(assignment.lease_ms);
        let entry = Entry {
            gpus: assignment.gpu_indices.clone(),
            holds_slots: true,
            lease,
            fence: assignment.fence,
            stop: stop.clone(),
        };
        match registry.claim(attempt, entry, inventory) {
            Claim::Inserted => {}
            Claim::Known => {
                tracing::debug!(?attempt, "ignoring a repeated assignment");
                return;
            }
            Claim::TakenElsewhere(why) => {
                tracing::info!(?attempt, url = %self.ctx.tracking.uri,
                    "declining an assignment: {why}; its server queues it again");
                return;
            }
        }
        if draining {
            // The answer was on its way when the drain began: the server
            // counts the job as ours, so it runs and the drain waits for it.
            tracing::info!(
                ?attempt,
                "an assignment arrived as the drain began; running it"
            );
        } else if overcommit {
            // The server is the authority on placement; run it, but say so.
            tracing::warn!(?attempt, gpus = ?assignment.gpu_indices,
                "the server assigned more than this agent advertised as free");
        }
        tracing::info!(?attempt, name = %assignment.name, gpus = ?assignment.gpu_indices, "starting job");
        self.spawn(attempt::run(Arc::clone(&self.ctx), assignment, stop, stops));
    }

    /// Forwards a stop order from the server.
    pub fn stop(&self, order: StopOrder) {
        if !self.ctx.registry.stop(order.attempt, order.reason.into()) {
            tracing::debug!(attempt = ?order.attempt, "stop order for an attempt not running here");
        }
    }

    /// Takes over a job a previous life of the agent left running: it
    /// holds its GPUs and slots again, and is watched to its end.
    fn adopt(&self, spooled: Arc<Spooled>, process: process::Process, assignment: &Assignment) {
        let attempt = AttemptRef {
            job_id: assignment.job_id,
            attempt: assignment.attempt,
        };
        let (stop, stops) = mpsc::unbounded_channel();
        let entry = Entry {
            gpus: assignment.gpu_indices.clone(),
            holds_slots: true,
            lease: Duration::from_millis(assignment.lease_ms),
            fence: assignment.fence,
            stop: stop.clone(),
        };
        if self.ctx.registry.insert(attempt, entry) {
            self.spawn(attempt::adopted(
                Arc::clone(&self.ctx),
                spooled,
                process,
                stop,
                stops,
            ));
        }
    }

    /// Reports an attempt recovered from the spool.
    async fn resume_report(&self, spooled: Arc<Spooled>) {
        let state = spooled.get().await;
        let (stop, stops) = mpsc::unbounded_channel();
        // Its process is gone: listed in polls, but holding no GPUs.
        let entry = Entry {
            gpus: Vec::new(),
            holds_slots: false,
            lease: Duration::from_millis(state.assignment.lease_ms),
            fence: state.assignment.fence,
            stop: stop.clone(),
        };
        if self.ctx.registry.insert(state.attempt(), entry) {
            self.spawn(attempt::report_recovered(
                Arc::clone(&self.ctx),
                spooled,
                stop,
                stops,
            ));
        }
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().unwrap_or_else(PoisonError::into_inner);
        // Drop the results of tasks that already ended.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    /// Takes no new work from now on (see [`AttemptRegistry::start_draining`]).
    pub fn start_draining(&self) {
        self.ctx.registry.start_draining();
    }

    /// Resolves once every attempt here has ended and been reported.
    pub async fn until_all_done(&self) {
        self.ctx.registry.until_empty().await;
    }

    /// What `trainyard-agent --status` shows about the jobs.
    pub fn status(&self) -> (bool, Vec<registry::Listed>) {
        (self.ctx.registry.is_draining(), self.ctx.registry.list())
    }

    /// A change counter bumped whenever [`status`](Self::status) may differ.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.ctx.registry.subscribe()
    }

    /// Leaves every job running under its supervisor and drops the tasks
    /// that watched them, as a `kill -9` of the agent would, but at a
    /// moment of its choosing: the next agent on this work dir adopts the
    /// jobs, ships the rest of their output and reports them.
    pub fn leave_running(&self) {
        let mut tasks =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        if !tasks.is_empty() {
            tracing::info!(
                "leaving {} job(s) running; the next agent on this work dir adopts them",
                tasks.len()
            );
        }
        tasks.abort_all();
    }

    /// Stops every job (TERM, KILL after the grace), gives their reports a
    /// few seconds to reach the server, and returns. Reports not delivered
    /// stay in the spool for the next start.
    pub async fn shutdown(&self) {
        let mut tasks =
            std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        if tasks.is_empty() {
            return;
        }
        tracing::info!("stopping {} job(s) before the agent exits", tasks.len());
        self.ctx.registry.stop_all(StopCause::AgentStopped);
        let limit = self.ctx.kill_grace + attempt::SHUTDOWN_REPORT_WINDOW + Duration::from_secs(2);
        let all_ended = async { while tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(limit, all_ended).await.is_err() {
            tracing::warn!("some jobs did not wind down within {limit:?}; leaving them");
            tasks.abort_all();
        }
    }
}
