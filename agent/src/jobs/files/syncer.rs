//! One attempt's file sync state and a pass over its run dir: learn what
//! the server holds (when unknown or in doubt), scan, and bring each file
//! in step. Files the server will not take are given up with one warning.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use trainyard_core::sync::{parse_hex64, SyncKind, SyncStatus};
use trainyard_core::work::AttemptRef;

use super::append::sync_append;
use super::pass::{FileResult, Halt, Pass};
use super::read::blocking;
use super::scan::{scan, LocalFile, RunDirScan};
use super::tracked::{Pending, ServerCopy, Tracked};
use super::whole::sync_whole;
use crate::http::response::Verdict;
use crate::jobs::api::{Reply, WorkClient};

/// Consecutive "later"s after which a file is given up: a server that
/// refuses the same file's hash this often will not take it.
const MAX_FAILURES: u32 = 8;

/// What a pass came to.
#[derive(Debug, Default)]
pub(super) struct PassReport {
    /// Some file sent bytes.
    pub sent: bool,
    /// Some file must be tried again after a backoff; why.
    pub later: Option<String>,
}

/// The in-memory sync state of one attempt's run dir.
pub(super) struct Syncer {
    attempt: AttemptRef,
    root: PathBuf,
    files: HashMap<String, Tracked>,
    given_up: HashSet<String>,
    /// Messages already logged, so each is logged once.
    warned: HashSet<String>,
    /// Whether `files` reflects the server's status; cleared on doubt.
    status_known: bool,
}

impl Syncer {
    pub fn new(attempt: AttemptRef, root: PathBuf) -> Self {
        Self {
            attempt,
            root,
            files: HashMap::new(),
            given_up: HashSet::new(),
            warned: HashSet::new(),
            status_known: false,
        }
    }

    /// Brings every file in step as far as it can; `last` after the process
    /// ended (the status is asked again, nothing waits to be stable).
    pub async fn pass(&mut self, api: &WorkClient, last: bool) -> Result<PassReport, Halt> {
        if last || !self.status_known {
            self.learn_status(api).await?;
        }
        let root = self.root.clone();
        let scan = blocking(move || Ok(scan(&root))).await.unwrap_or_else(|e| {
            tracing::warn!(attempt = ?self.attempt, "cannot scan the run dir: {e}");
            RunDirScan::default()
        });
        for refused in &scan.refused {
            self.give_up(&refused.name, &refused.why);
        }
        let mut files: Vec<&LocalFile> = scan.files.iter().collect();
        // Appends first: see `Pass::flush_appends`.
        files.sort_by_key(|f| SyncKind::of(&f.path) == SyncKind::Whole);
        let flush_appends = files.iter().any(|file| {
            SyncKind::of(&file.path) == SyncKind::Whole
                && !self.given_up.contains(&file.path)
                && self
                    .files
                    .entry(file.path.clone())
                    .or_default()
                    .due(file.stamp)
        });
        let pass = Pass {
            api,
            attempt: self.attempt,
            last,
            flush_appends,
        };
        let mut report = PassReport::default();
        for file in files {
            if self.given_up.contains(&file.path) {
                continue;
            }
            let tracked = self.files.entry(file.path.clone()).or_default();
            let result = match SyncKind::of(&file.path) {
                SyncKind::Append => sync_append(&pass, file, tracked).await?,
                SyncKind::Whole => sync_whole(&pass, file, tracked).await?,
            };
            match result {
                FileResult::Idle => tracked.failures = 0,
                FileResult::Sent => {
                    tracked.failures = 0;
                    report.sent = true;
                }
                FileResult::Later(why) => {
                    tracked.failures += 1;
                    // Whatever went wrong, the server's status is the truth.
                    self.status_known = false;
                    if tracked.failures >= MAX_FAILURES {
                        self.give_up(&file.path, &format!("{why} ({MAX_FAILURES} tries)"));
                    } else {
                        report.later.get_or_insert(format!("{}: {why}", file.path));
                    }
                }
                // Removed since the scan: nothing to send.
                FileResult::Unreadable(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                FileResult::Unreadable(e) => {
                    self.give_up(&file.path, &format!("cannot read it: {e}"))
                }
                FileResult::Refused(why) => self.give_up(&file.path, &why),
            }
        }
        Ok(report)
    }

    /// Asks the server what it holds and starts over from that.
    async fn learn_status(&mut self, api: &WorkClient) -> Result<(), Halt> {
        match api.file_status(self.attempt).await {
            Reply::Done(status) => {
                self.apply(status);
                self.status_known = true;
                Ok(())
            }
            Reply::Superseded(message) => Err(Halt::Superseded(message)),
            Reply::Failed(Verdict::Transient(why)) => Err(Halt::Outage(Verdict::Transient(why))),
            Reply::Failed(Verdict::Fatal(e)) => Err(Halt::Outage(Verdict::Fatal(e))),
            Reply::Failed(Verdict::Rejected(why)) | Reply::Refused(_, why) => {
                Err(Halt::Unsupported(why))
            }
            Reply::Failed(Verdict::Accepted) | Reply::OffsetMismatch { .. } => Err(Halt::Outage(
                Verdict::Rejected("an unexpected answer to the run-file status".into()),
            )),
        }
    }

    fn apply(&mut self, status: SyncStatus) {
        for tracked in self.files.values_mut() {
            tracked.forget_server();
        }
        for entry in status.files {
            self.files.entry(entry.path).or_default().server = Some(ServerCopy {
                size: entry.size,
                xxh3: parse_hex64(&entry.xxh3),
            });
        }
        for upload in status.uploads {
            let Some(xxh3) = parse_hex64(&upload.xxh3) else {
                continue;
            };
            self.files.entry(upload.path).or_default().upload = Some(Pending {
                size: upload.size,
                xxh3,
                received: upload.received.min(upload.size),
            });
        }
    }

    /// Stops syncing `path` for this attempt, saying why once.
    fn give_up(&mut self, path: &str, why: &str) {
        self.given_up.insert(path.to_string());
        if self.warned.insert(format!("{path}\0{why}")) {
            tracing::warn!(attempt = ?self.attempt,
                "not sending run file {path:?} to the server: {why}; it stays in {}",
                self.root.display());
        }
    }
}
