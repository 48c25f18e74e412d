//! The long-poll for work: one poll outstanding at a time, re-sent at once
//! when this host's capacity changes, backing off while the server is away.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::time::Instant;
use trainyard_core::work::{PollRequest, MAX_POLL_WAIT_MS};
use trainyard_core::PROTOCOL_VERSION;

use super::api::Reply;
use super::JobRunner;
use crate::error::AgentError;
use crate::http::link_state::LinkState;
use crate::http::response::Verdict;

/// How long the server may hold a poll when nothing else limits it.
const POLL_WAIT: Duration = Duration::from_secs(25);

/// Polls for work until a fatal answer (bad token, protocol mismatch).
/// `inventory` holds the host's GPU indices once the first reading is in.
pub(crate) async fn poll_forever(
    jobs: &JobRunner,
    mut inventory: watch::Receiver<Option<Vec<u32>>>,
) -> Result<(), AgentError> {
    let ctx = jobs.context();
    // Wait for the first GPU reading, so no poll offers GPUs that do not exist.
    // The watch guard must be gone before the next await (it is not Send).
    let first = match inventory.wait_for(Option::is_some).await {
        Ok(gpus) => Ok(gpus.clone()),
        Err(e) => Err(e),
    };
    let Ok(Some(mut gpus)) = first else {
        return std::future::pending().await;
    };
    let mut changes = ctx.registry.subscribe();
    let mut link = LinkState::default();
    // Failed polls in a row, of any kind, for the backoff.
    let mut failures = 0u32;
    let mut rng = SmallRng::from_os_rng();
    loop {
        changes.borrow_and_update();
        if let Some(latest) = inventory.borrow_and_update().clone() {
            gpus = latest;
        }
        let snapshot = ctx.registry.snapshot(&gpus);
        let recheck_at = snapshot.recheck_at;
        let request = PollRequest {
            protocol_version: PROTOCOL_VERSION,
            host_id: ctx.host_id.clone(),
            free_gpus: snapshot.free.gpus,
            free_cpu_slots: snapshot.free.cpu_slots,
            free_job_slots: snapshot.free.job_slots,
            running: snapshot.running,
            wait_ms: wait_ms(snapshot.shortest_lease),
        };
        let recheck = async {
            match recheck_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let sent = Instant::now();
        let reply = tokio::select! {
            reply = ctx.api.poll(&request) => reply,
            // Capacity changed: drop this poll and send the new numbers now.
            Ok(()) = changes.changed() => continue,
            Ok(()) = inventory.changed() => continue,
            // GPUs held back for another server's turn may be offered now.
            () = recheck => continue,
        };
        let verdict = match reply {
            Reply::Done(response) => {
                ctx.contact.record(sent);
                failures = 0;
                if link.on_success().is_some() {
                    tracing::debug!("polling the server for work");
                }
                for order in response.stop {
                    jobs.stop(order);
                }
                for assignment in response.assign {
                    jobs.start(assignment, &gpus);
                }
                continue;
            }
            Reply::Failed(verdict) => verdict,
            Reply::Superseded(message) | Reply::Refused(_, message) => Verdict::Rejected(message),
            Reply::OffsetMismatch { size } => {
                Verdict::Rejected(format!("unexpected offset mismatch (size {size})"))
            }
        };
        match verdict {
            Verdict::Fatal(error) => return Err(error),
            Verdict::Rejected(message) => {
                if link.on_rejected(&message) {
                    tracing::warn!("the server refused the poll for work: {message}");
                }
            }
            Verdict::Transient(message) => {
                let outage = link.on_transient_failure();
                // The heartbeat loop already warns about outages.
                tracing::debug!(outage, "poll for work failed: {message}");
            }
            Verdict::Accepted => {}
        }
        // Refusals back off too, so a server without job support is asked
        // less and less often.
        let delay = ctx.backoff.delay(failures, rng.random());
        failures = failures.saturating_add(1);
        tokio::time::sleep(delay).await;
    }
}

/// How long the server may hold this poll: at most 25 s, and at most a
/// third of the shortest fenced lease, since a poll renews leases only
/// when it is sent.
fn wait_ms(shortest_lease: Option<Duration>) -> u64 {
    let wait = match shortest_lease {
        Some(lease) => POLL_WAIT.min(lease / 3),
        None => POLL_WAIT,
    };
    u64::try_from(wait.as_millis())
        .unwrap_or(MAX_POLL_WAIT_MS)
        .min(MAX_POLL_WAIT_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_wait_25_s_or_a_third_of_the_shortest_fenced_lease() {
        assert_eq!(wait_ms(None), 25_000);
        assert_eq!(wait_ms(Some(Duration::from_secs(600))), 25_000);
        assert_eq!(wait_ms(Some(Duration::from_secs(30))), 10_000);
    }
}
