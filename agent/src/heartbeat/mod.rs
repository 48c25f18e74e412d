//! The heartbeat loop: a reading of this host posted to the server every interval.
//!
//! It backs off while the server is away. Every accepted heartbeat renews
//! contact (for fencing), and every reading tells the job loop which GPU
//! indices exist. `collector` takes the reading (`system_stats`, `gpu/`,
//! `hostname`, kept valid by `sanitize`); `client` posts it.

mod client;
mod collector;
pub(crate) mod hostname;
pub(crate) mod sanitize;
mod system_stats;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use trainyard_core::Heartbeat;

pub(crate) use client::HeartbeatClient;
pub(crate) use collector::SharedCollector;

use crate::error::AgentError;
use crate::http::link_state::{LinkState, Recovery};
use crate::http::response::Verdict;
use crate::jobs::Contact;
use crate::settings::AgentSettings;
use crate::status::LinkBoard;

/// Collect, post, wait, repeat. Returns only on a fatal answer.
pub(crate) async fn post_forever(
    config: &AgentSettings,
    client: &HeartbeatClient,
    collector: &SharedCollector,
    contact: &Contact,
    inventory: &watch::Sender<Option<Vec<u32>>>,
    board: &LinkBoard,
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
                board.accepted();
                log_recovery(link.on_success(), client);
                // Measured from the start of this attempt, so the period stays
                // steady however long collection and the request took.
                started + interval
            }
            Verdict::Rejected(message) => {
                board.refused(&message);
                if link.on_rejected(&message) {
                    tracing::error!("the server refused the heartbeat: {message}");
                } else {
                    tracing::debug!("the server refused the heartbeat again: {message}");
                }
                started + interval
            }
            Verdict::Transient(message) => {
                board.unreachable(&message);
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
