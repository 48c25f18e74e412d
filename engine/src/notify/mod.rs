//! Notifications: webhooks called when jobs end (succeeded, failed, lost,
//! cancelled) and when a sweep's last job ends.
//!
//! The scheduler hands each terminal transition to an [`Outbox`] as it
//! commits it (`Scheduler::commit`, the one place transitions are
//! recorded); the outbox is a bounded channel and never waits: when it is
//! full the event is dropped, counted and logged, so no receiver can slow
//! the queue. One background task takes events off the channel, records a
//! delivery per matching webhook (SQLite, `webhook_deliveries`) and starts
//! a task per delivery, so a receiver that hangs holds up only its own
//! delivery (each attempt times out) and never a second webhook's.
//! Failed attempts are retried with exponential backoff; the outcome (and
//! the last error) is written to the delivery row, which the Settings page
//! and `GET /api/v1/webhooks/deliveries` show.

mod deliver;
mod payload;
mod webhooks;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use trainyard_core::webhooks::{NotifyEvent, WebhookKind, WebhookView};
use trainyard_core::JobView;

use crate::clock::Clock;
use crate::error::EngineError;
use crate::exposition::Counter;
use crate::store::Store;

pub use webhooks::validate_url;

/// A webhook given by a flag (`--webhook`, `--slack-webhook`): every
/// project, the events of `--notify-on`.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagWebhook {
    pub url: String,
    pub kind: WebhookKind,
    pub events: Vec<NotifyEvent>,
}

/// How notifications are sent.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// Webhooks from flags; stored with source `flag`, replaced at start.
    pub webhooks: Vec<FlagWebhook>,
    /// The server's address as users reach it (`--public-url`), for links
    /// to the job's page; none without it.
    pub public_url: Option<String>,
    /// How long one attempt may take (connect, send, answer).
    pub timeout: Duration,
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled before each further one.
    pub backoff: Duration,
    /// Events waiting for the delivery task; more are dropped (and counted).
    pub queue_capacity: usize,
    /// Attempts in flight at once, over every webhook.
    pub concurrency: usize,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            webhooks: Vec::new(),
            public_url: None,
            timeout: Duration::from_secs(5),
            max_attempts: 5,
            backoff: Duration::from_secs(1),
            queue_capacity: 1024,
            concurrency: 16,
        }
    }
}

/// A terminal transition, as the scheduler reports it.
#[derive(Debug, Clone)]
pub(crate) struct Transition {
    pub job: Arc<JobView>,
    /// No other job of its sweep is queued, assigned or running any more.
    pub sweep_finished: bool,
}

/// The scheduler's end of the channel: never waits.
#[derive(Clone)]
pub(crate) struct Outbox {
    tx: mpsc::Sender<Transition>,
    dropped: Arc<Counter>,
}

impl Outbox {
    /// Queues `transition` for the delivery task, or drops it (counted,
    /// logged) when the queue is full.
    pub fn send(&self, transition: Transition) {
        if let Err(e) = self.tx.try_send(transition) {
            self.dropped.inc();
            let job = match &e {
                mpsc::error::TrySendError::Full(t) | mpsc::error::TrySendError::Closed(t) => {
                    t.job.id
                }
            };
            tracing::warn!(
                job,
                "notification dropped: the delivery queue is full or closed"
            );
        }
    }
}

/// Counters `/metrics` reports.
#[derive(Debug, Default)]
pub(crate) struct NotifyCounters {
    pub delivered: Counter,
    pub failed: Counter,
    pub attempts_ok: Counter,
    pub attempts_failed: Counter,
    pub dropped: Arc<Counter>,
    pub in_flight: AtomicU64,
}

/// What the delivery tasks share.
struct Inner {
    store: Store,
    clock: Clock,
    settings: NotifySettings,
    client: reqwest::Client,
    /// Every webhook (without deliveries), reloaded on each change.
    hooks: RwLock<Vec<WebhookView>>,
    limit: Semaphore,
    counters: NotifyCounters,
}

/// The notifications domain.
pub(crate) struct Notifier {
    inner: Arc<Inner>,
    outbox: Outbox,
}

impl Notifier {
    /// Stores the flags' webhooks, marks deliveries a previous run left
    /// pending as failed, and starts the delivery task.
    pub async fn load(
        settings: NotifySettings,
        store: Store,
        clock: Clock,
    ) -> Result<Notifier, EngineError> {
        let flag_rows = webhooks::flag_rows(&settings.webhooks)?;
        store
            .replace_flag_webhooks(&flag_rows, clock.now_ms())
            .await?;
        let stale = store.fail_pending_deliveries(clock.now_ms()).await?;
        if stale > 0 {
            tracing::warn!(
                deliveries = stale,
                "webhook deliveries left pending by the last run marked failed"
            );
        }
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("trainyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EngineError::BadOption(format!("webhook HTTP client: {e}")))?;
        let (tx, rx) = mpsc::channel(settings.queue_capacity.max(1));
        let counters = NotifyCounters::default();
        let outbox = Outbox {
            tx,
            dropped: counters.dropped.clone(),
        };
        let inner = Arc::new(Inner {
            store,
            clock,
            limit: Semaphore::new(settings.concurrency.max(1)),
            settings,
            client,
            hooks: RwLock::new(Vec::new()),
            counters,
        });
        inner.reload().await?;
        tokio::spawn(deliver::run(inner.clone(), rx));
        Ok(Notifier { inner, outbox })
    }

    /// The scheduler's end of the delivery queue.
    pub fn outbox(&self) -> Outbox {
        self.outbox.clone()
    }

    pub fn counters(&self) -> &NotifyCounters {
        &self.inner.counters
    }
}

impl Inner {
    /// Reads the webhooks again after a change.
    async fn reload(&self) -> Result<(), EngineError> {
        let mut hooks = self.store.webhooks().await?;
        for hook in &mut hooks {
            hook.last_delivery = None;
        }
        *self.hooks.write().unwrap_or_else(PoisonError::into_inner) = hooks;
        Ok(())
    }

    /// The webhooks `event` about a job of `project` goes to.
    fn matching(&self, event: NotifyEvent, project: &str) -> Vec<WebhookView> {
        self.hooks
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|h| h.events.contains(&event))
            .filter(|h| h.project.as_deref().is_none_or(|p| p == project))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_outbox_drops_and_counts_instead_of_waiting() {
        let (tx, mut rx) = mpsc::channel(2);
        let dropped = Arc::new(Counter::default());
        let outbox = Outbox {
            tx,
            dropped: dropped.clone(),
        };
        let transition = || Transition {
            job: Arc::new(JobView::default()),
            sweep_finished: false,
        };
        for _ in 0..5 {
            outbox.send(transition());
        }
        assert_eq!(dropped.get(), 3, "two fit, three were dropped");
        assert!(rx.try_recv().is_ok() && rx.try_recv().is_ok());
        outbox.send(transition());
        assert_eq!(dropped.get(), 3, "room again once the task took events");
        drop(rx);
        outbox.send(transition());
        assert_eq!(dropped.get(), 4, "a closed queue drops too");
    }
}
