//! Run-file sync: everything a job writes into its run dir reaches the
//! server (see docs/agent-protocol.md, "Run files"). Append files (CSV,
//! logs…) go as offset-checked appends, whole files (YAML, checkpoints…)
//! as resumable uploads once stable. The agent keeps its knowledge in
//! memory; the server's status is the truth, asked again after a restart,
//! on any doubt and before `finished`.
//!
//! `task` runs the passes, `syncer` one pass over the run dir (`scan`),
//! `pass` is what a pass shares and what one file's sync came to;
//! `append`, `whole` and `upload` sync one file each, through the
//! requests in `api`; `tracked` is a file's state, `fingerprint` tells a
//! grown file from a rewritten one, `read` and `compress` do the blocking
//! work off the runtime.

mod api;
mod append;
mod compress;
mod fingerprint;
mod pass;
mod read;
mod scan;
mod syncer;
mod task;
mod tracked;
mod upload;
mod whole;

pub(crate) use api::with_file_path;
pub(crate) use task::{FileTask, FilesEnd};
