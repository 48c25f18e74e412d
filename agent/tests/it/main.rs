//! The agent's end-to-end tests, in one binary: the real `run` against a
//! fake server on 127.0.0.1 (`support/`), for heartbeats, jobs and run files.

mod files;
mod heartbeat_loop;
mod jobs;
mod support;
