//! Integration tests: the real server on port 0, driven over HTTP by a
//! client and by the real agent library.

// Helpers outside #[test] functions expect too; clippy.toml only covers
// the test functions themselves.
#![allow(clippy::expect_used)]

mod agent_daemon;
mod agent_restart;
mod agent_servers;
mod api_auth;
mod bad_input;
mod chunk_packs;
mod components_sync;
mod files_sync;
mod harness;
mod hosts_lifecycle;
mod hosts_paging;
mod hosts_telemetry;
mod import_cli;
mod jobs_api;
mod jobs_run;
mod jobs_support;
mod killable;
mod launcher;
mod metrics_api;
mod metrics_endpoint;
mod mlflow_client;
mod mlflow_registry;
mod models_api;
mod models_ftp;
mod models_serve;
mod page_renders;
mod results_api;
mod resume_preempt;
mod sse;
mod startup;
mod submit_cli;
mod tensorboard_live;
mod webhooks_api;
