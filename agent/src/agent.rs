//! The heartbeat loop: collect, post, wait, repeat until told to stop or
//! the server says retrying is pointless.

use std::future::Future;
use std::pin::pin;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::{sleep_until, Instant};

use crate::client::HeartbeatClient;
use crate::collector::SharedCollector;
use crate::config::AgentConfig;
use crate::error::AgentError;
use crate::link_state::{LinkState, Recovery};
use crate::response::Verdict;

/// Runs the agent until `shutdown` resolves (then `Ok(())`) or a fatal error
/// (bad config, protocol mismatch, refused token). Network outages and
/// refused heartbeats are logged and retried, never returned.
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

    let interval = config.heartbeat_interval;
    let backoff = config.backoff;
    let collector = tokio::select! {
        () = &mut shutdown => return Ok(()),
        opened = SharedCollector::open(config) => opened.ok_or_else(|| {
            AgentError::Startup("opening the system and GPU samplers panicked".into())
        })?,
    };

    let mut link = LinkState::default();
    // Jitter only needs to differ between hosts, not be unpredictable.
    let mut rng = SmallRng::from_os_rng();
    loop {
        let started = Instant::now();
        let attempt = async { client.send(&collector.collect().await).await };
        let verdict = tokio::select! {
            () = &mut shutdown => break,
            verdict = attempt => verdict,
        };

        let next = match verdict {
            Verdict::Accepted => {
                log_recovery(link.on_success(), &client);
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
            Verdict::Fatal(error) => {
                tracing::error!("{error}");
                return Err(error);
            }
        };

        tokio::select! {
            () = &mut shutdown => break,
            () = sleep_until(next) => {}
        }
    }
    tracing::info!("trainyard agent stopped");
    Ok(())
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
