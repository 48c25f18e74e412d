//! What one sync pass shares, and what syncing one file comes to.

use std::io;

use trainyard_core::work::AttemptRef;

use crate::http::response::Verdict;
use crate::jobs::api::WorkClient;

/// One pass over the run dir.
pub(super) struct Pass<'a> {
    pub api: &'a WorkClient,
    pub attempt: AttemptRef,
    /// The process ended: everything is sent now, stable or not, and
    /// anything that cannot be is retried rather than left for later.
    pub last: bool,
    /// A whole file (a checkpoint) goes out in this pass: append files
    /// send what they hold first, batch or not, so the server's metrics
    /// are never behind its checkpoint (a retry resumes from it).
    pub flush_appends: bool,
}

impl Pass<'_> {
    /// A file that cannot be sent right now (it is being written): while
    /// the job runs, the next pass takes it; in the last pass, it is
    /// retried after a backoff.
    pub fn not_now(&self, why: impl Into<String>) -> FileResult {
        if self.last {
            FileResult::Later(why.into())
        } else {
            FileResult::Idle
        }
    }
}

/// How syncing one file went.
#[derive(Debug)]
pub(super) enum FileResult {
    /// In step with the server, or nothing to send yet.
    Idle,
    /// Bytes went out and were acknowledged.
    Sent,
    /// Not in step: try again after a backoff, with a fresh status.
    Later(String),
    /// The file could not be read.
    Unreadable(io::Error),
    /// The server will not take this file; why.
    Refused(String),
}

/// Why a pass stops before its last file.
#[derive(Debug)]
pub(super) enum Halt {
    /// 409 `superseded`: nothing more is sent and the job is stopped.
    Superseded(String),
    /// The server is unreachable or failing: back off, then try again.
    Outage(Verdict),
    /// The server refused the status request itself (it predates run
    /// files, or a proxy blocks them): the files stay on this host.
    Unsupported(String),
}
