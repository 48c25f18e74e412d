//! The agent's top level: the heartbeat loop and the job loop side by side
//! until told to stop, then the running jobs are stopped and reported.

use std::future::Future;
use std::pin::pin;

use tokio::sync::watch;

use crate::error::AgentError;
use crate::heartbeat::{post_forever, HeartbeatClient, SharedCollector};
use crate::jobs::{poll_forever, Contact, JobRunner};
use crate::settings::AgentSettings;

/// Runs the agent until `shutdown` resolves (then `Ok(())`) or a fatal error
/// (bad config, protocol mismatch, refused token). Network outages and
/// refused heartbeats are logged and retried, never returned. Either way,
/// running jobs are stopped (TERM, then KILL after the grace) and reported
/// as failed with "the agent was stopped" before it returns.
pub async fn run(
    config: AgentSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), AgentError> {
    let validated = config.validate()?;
    let client = HeartbeatClient::new(&validated)?;
    let mut shutdown = pin!(shutdown);
    tracing::info!(
        host_id = %config.host_id,
        url = %client.url(),
        interval = ?config.heartbeat_interval,
        "trainyard agent starting"
    );

    let contact = Contact::new();
    let jobs = JobRunner::open(&config, &validated, contact.clone()).await?;
    let (inventory, inventory_rx) = watch::channel(None);
    let heartbeats = async {
        let collector = SharedCollector::open(config.clone()).await.ok_or_else(|| {
            AgentError::Startup("opening the system and GPU samplers panicked".into())
        })?;
        post_forever(&config, &client, &collector, &contact, &inventory).await
    };
    let result = tokio::select! {
        () = &mut shutdown => Ok(()),
        result = heartbeats => result,
        result = poll_forever(&jobs, inventory_rx) => result,
    };
    if let Err(error) = &result {
        tracing::error!("{error}");
    }
    jobs.shutdown().await;
    tracing::info!("trainyard agent stopped");
    result
}
