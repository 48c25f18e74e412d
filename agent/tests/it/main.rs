//! The agent's end-to-end tests, in one binary: the real `run` against a
//! fake server on 127.0.0.1 (`support/`), for heartbeats, jobs and run files.

// clippy.toml's allow-*-in-tests covers #[test] functions only, not the
// helpers beside them; in this crate a panic is always a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod files;
mod heartbeat_loop;
mod jobs;
mod support;
