//! One attempt's file sync as a task beside the log reporter: a pass about
//! every second while the job runs, then, once it ended, passes against a
//! fresh status until the server holds every file; only then may
//! `finished` go (the server refuses file writes after it).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use trainyard_core::work::{AttemptRef, FinishedReport};

use super::pass::Halt;
use super::syncer::{PassReport, Syncer};
use crate::http::response::Verdict;
use crate::jobs::retry::Retry;
use crate::jobs::JobContext;

/// Time between passes while the job runs.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Final passes that still had to send something before the sync is
/// called done anyway: a server whose status never matches what it
/// acknowledged must not hold `finished` back for ever.
const MAX_FINAL_ROUNDS: u32 = 5;

/// How an attempt's file sync ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FilesEnd {
    /// The server holds every run file it will take.
    Done,
    /// The attempt is superseded: nothing more goes out; stop the job.
    Superseded(String),
}

/// The running sync; dropping it stops the task.
pub(crate) struct FileTask {
    end: watch::Receiver<Option<FilesEnd>>,
    task: JoinHandle<()>,
}

impl FileTask {
    /// Starts syncing `root`; `ended` turns `Some` once the process ended
    /// and no more files will change.
    pub fn spawn(
        ctx: Arc<JobContext>,
        attempt: AttemptRef,
        root: PathBuf,
        ended: watch::Receiver<Option<FinishedReport>>,
    ) -> Self {
        let (report, end) = watch::channel(None);
        let task = tokio::spawn(async move {
            let outcome = sync(&ctx, attempt, root, ended).await;
            report.send_replace(Some(outcome));
        });
        Self { end, task }
    }

    /// How the sync ended, once it has.
    pub fn end(&self) -> Option<FilesEnd> {
        self.end.borrow().clone()
    }
}

impl Drop for FileTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn sync(
    ctx: &JobContext,
    attempt: AttemptRef,
    root: PathBuf,
    mut ended: watch::Receiver<Option<FinishedReport>>,
) -> FilesEnd {
    let mut syncer = Syncer::new(attempt, root);
    let mut retry = Retry::new(ctx.backoff, attempt, "run files");
    while ended.borrow().is_none() {
        match syncer.pass(&ctx.api, false).await {
            Ok(report) => match report.later {
                Some(why) => retry.wait(Verdict::Rejected(why)).await,
                None => {
                    retry.reset();
                    // The last pass starts as soon as the process ended.
                    let changed = tokio::time::timeout(SYNC_INTERVAL, ended.changed()).await;
                    if matches!(changed, Ok(Err(_))) {
                        // The attempt task is gone; keep the pace anyway.
                        tokio::time::sleep(SYNC_INTERVAL).await;
                    }
                }
            },
            Err(halt) => {
                if let Some(end) = halted(halt, attempt, &mut retry).await {
                    return end;
                }
            }
        }
    }
    let mut rounds = 0;
    loop {
        match syncer.pass(&ctx.api, true).await {
            Ok(PassReport {
                later: Some(why), ..
            }) => retry.wait(Verdict::Rejected(why)).await,
            Ok(PassReport { sent: true, .. }) => {
                retry.reset();
                rounds += 1;
                if rounds >= MAX_FINAL_ROUNDS {
                    tracing::warn!(?attempt,
                        "run files still differ from the server's copies after {rounds} rounds; reporting the job anyway");
                    return FilesEnd::Done;
                }
            }
            Ok(_) => {
                retry.reset();
                return FilesEnd::Done;
            }
            Err(halt) => {
                if let Some(end) = halted(halt, attempt, &mut retry).await {
                    return end;
                }
            }
        }
    }
}

/// Handles a pass that stopped early: `Some` ends the sync.
async fn halted(halt: Halt, attempt: AttemptRef, retry: &mut Retry) -> Option<FilesEnd> {
    match halt {
        Halt::Superseded(message) => Some(FilesEnd::Superseded(message)),
        Halt::Unsupported(why) => {
            tracing::warn!(
                ?attempt,
                "the server does not take run files ({why}); they stay on this host"
            );
            Some(FilesEnd::Done)
        }
        Halt::Outage(verdict) => {
            retry.wait(verdict).await;
            None
        }
    }
}
