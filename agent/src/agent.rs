//! The agent's top level: the heartbeat loop and the job loop side by side
//! until told to stop, then the running jobs are stopped and reported.

use std::future::Future;
use std::pin::pin;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use trainyard_core::Heartbeat;

use crate::client::HeartbeatClient;
use crate::collector::SharedCollector;
use crate::config::AgentConfig;
use crate::error::AgentError;
use crate::jobs::{poll_forever, Contact, Jobs};
use crate::http::link_state::{LinkState, Recovery};
use crate::http::response::Verdict;

/// Runs the agent until `shutdown` resolves (then `Ok(())`) or a fatal error
/// (bad config, protocol mismatch, refused token). Network outages and
/// refused heartbeats are logged and retried, never returned. Either way,
/// running jobs are stopped (TERM, then KILL after the grace) and reported
/// as failed with "the agent was stopped" before it returns.
pub async fn run(
    config: AgentConfig,
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
    let jobs = Jobs::open(&config, &validated, contact.clone()).await?;
    let (inventory, inventory_rx) = watch::channel(None);
    let heartbeats = async {
        let collector = SharedCollector::open(config.clone()).await.ok_or_else(|| {
            AgentError::Startup("opening the system and GPU samplers panicked".into())
        })?;
        heartbeat_loop(&config, &client, &collector, &contact, &inventory).await
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

/// Collect, post, wait, repeat. Returns only on a fatal answer.
async fn heartbeat_loop(
    config: &AgentConfig,
    client: &HeartbeatClient,
    collector: &SharedCollector,
    contact: &Contact,
    inventory: &watch::Sender<Option<Vec<u32>>>,
) -> Result<(), AgentError> {
    let interval = config.heartbeat_interval;
    let backoff = config.backoff;
    let mut link = LinkState::default();
    // Jitter only needs to differ between hosts, not be unpredictable.
    let mut rng = SmallRng::from_os_rng();
    loop {
        let started = Instant::now();
        let heartbeat = collector.collect().await;
        publish_gpus(inventory, &heartbeat);
        let next = match client.send(&heartbeat).await {
            Verdict::Accepted => {
                contact.record(started);
                log_recovery(link.on_success(), client);
                // Measured from the start of this attempt, so the period stays
                // steady however long collection and the request took.
                started + interval
            }
            Verdict::Rejected(message) => {
                if link.on_rejected(&message) {
                    tracing::error!("the server refused the heartbeat: {message}");
                } else {
                    tracing::debug!("the server refused the heartbeat again: {message}");
                }
                started + interval
            }
            Verdict::Transient(message) => {
                let failures = link.on_transient_failure();
                if failures == 1 {
                    tracing::warn!(
                        "cannot reach the server at {}: {message}; retrying with backoff \
                         (further failures are logged at debug level)",
                        client.url()
                    );
                } else {
                    tracing::debug!(failures, "server still unreachable: {message}");
                }
                Instant::now() + backoff.delay(failures.saturating_sub(1), rng.random())
            }
            Verdict::Fatal(error) => return Err(error),
        };
        sleep_until(next).await;
    }
}

/// Tells the job loop which GPU indices exist, when that changes.
fn publish_gpus(inventory: &watch::Sender<Option<Vec<u32>>>, heartbeat: &Heartbeat) {
    let indices: Vec<u32> = heartbeat.gpus.iter().map(|gpu| gpu.index).collect();
    inventory.send_if_modified(|known| {
        if known.as_ref() == Some(&indices) {
            return false;
        }
        *known = Some(indices);
        true
    });
}

fn log_recovery(recovery: Option<Recovery>, client: &HeartbeatClient) {
    match recovery {
        Some(Recovery::Connected) => tracing::info!("connected to the server at {}", client.url()),
        Some(Recovery::Reachable { failures }) => {
            tracing::info!("server reachable again after {failures} failures");
        }
        Some(Recovery::AcceptedAgain) => tracing::info!("the server accepts heartbeats again"),
        None => tracing::trace!("heartbeat accepted"),
    }
}
