//! The event bus behind `GET /api/v1/events`.
//!
//! Every event gets an id `<boot>-<seq>`. Recent events stay in a ring so a
//! browser reconnecting with `Last-Event-ID` gets exactly what it missed; if
//! it missed too much, or the server restarted (another boot), it is told to
//! resync instead of silently showing stale state.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::Serialize;
use tokio::sync::broadcast;
use trainyard_core::components::ConflictNotice;
use trainyard_core::event::{
    EVENT_DEVICE, EVENT_DEVICE_REMOVED, EVENT_FLEET, EVENT_JOB, EVENT_NOTICE, EVENT_PROGRESS,
    EVENT_SERVING,
};
use trainyard_core::runs::RunProgress;
use trainyard_core::serving::ServingView;
use trainyard_core::{FleetCounts, HostView, JobView};

/// What the engine publishes. Hosts are shared with the registry, so a
/// heartbeat's event costs no copy of the host.
#[derive(Debug, Clone)]
pub enum BusEvent {
    Device(Arc<HostView>),
    DeviceRemoved(String),
    Fleet(FleetCounts),
    Job(Arc<JobView>),
    Progress(RunProgress),
    Notice(Arc<ConflictNotice>),
    Serving(Arc<ServingView>),
}

/// The JSON shape of `trainyard_core::ServerEvent`, borrowing instead of owning.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent<'a> {
    Device { host: &'a HostView },
    DeviceRemoved { host_id: &'a str },
    Fleet { counts: &'a FleetCounts },
    Job { job: &'a JobView },
    Progress { progress: &'a RunProgress },
    Notice { notice: &'a ConflictNotice },
    Serving { serving: &'a ServingView },
}

impl BusEvent {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            BusEvent::Device(_) => EVENT_DEVICE,
            BusEvent::DeviceRemoved(_) => EVENT_DEVICE_REMOVED,
            BusEvent::Fleet(_) => EVENT_FLEET,
            BusEvent::Job(_) => EVENT_JOB,
            BusEvent::Progress(_) => EVENT_PROGRESS,
            BusEvent::Notice(_) => EVENT_NOTICE,
            BusEvent::Serving(_) => EVENT_SERVING,
        }
    }

    fn to_json(&self) -> serde_json::Result<String> {
        match self {
            BusEvent::Device(host) => serde_json::to_string(&WireEvent::Device { host }),
            BusEvent::DeviceRemoved(host_id) => {
                serde_json::to_string(&WireEvent::DeviceRemoved { host_id })
            }
            BusEvent::Fleet(counts) => serde_json::to_string(&WireEvent::Fleet { counts }),
            BusEvent::Job(job) => serde_json::to_string(&WireEvent::Job { job }),
            BusEvent::Progress(progress) => {
                serde_json::to_string(&WireEvent::Progress { progress })
            }
            BusEvent::Notice(notice) => serde_json::to_string(&WireEvent::Notice { notice }),
            BusEvent::Serving(serving) => serde_json::to_string(&WireEvent::Serving { serving }),
        }
    }
}

/// Events kept for replay to reconnecting clients.
const REPLAY_CAPACITY: usize = 4096;
/// Events a slow subscriber may fall behind before it is told to resync.
const CHANNEL_CAPACITY: usize = 4096;

/// An event with its id. Serialized at most once, and only when a
/// subscriber reads it: with no browser open, publishing costs no JSON.
#[derive(Debug)]
pub struct PublishedEvent {
    /// The server start it belongs to: the first half of its id.
    boot: Arc<str>,
    pub seq: u64,
    /// SSE `event:` field.
    pub name: &'static str,
    event: BusEvent,
    json: OnceLock<String>,
}

impl PublishedEvent {
    /// The host a `device` or `device_removed` event is about.
    pub fn host_id(&self) -> Option<&str> {
        match &self.event {
            BusEvent::Device(host) => Some(&host.host_id),
            BusEvent::DeviceRemoved(host_id) => Some(host_id),
            _ => None,
        }
    }

    /// SSE `id:` field, `<boot>-<seq>`. Formatted when a subscriber reads
    /// it, not on publish: every heartbeat publishes an event.
    pub fn id(&self) -> String {
        format!("{}-{}", self.boot, self.seq)
    }

    /// SSE `data:` field: JSON of the `trainyard_core::ServerEvent`.
    pub fn data(&self) -> &str {
        self.json.get_or_init(|| {
            self.event.to_json().unwrap_or_else(|e| {
                tracing::error!("could not serialize event {}: {e}", self.name);
                String::from("{}")
            })
        })
    }
}

struct Ring {
    next_seq: u64,
    recent: VecDeque<Arc<PublishedEvent>>,
}

/// Fan-out of server events with replay.
pub struct EventBus {
    boot: Arc<str>,
    ring: Mutex<Ring>,
    tx: broadcast::Sender<Arc<PublishedEvent>>,
}

/// What a new subscriber gets: missed events (or a resync), then live ones.
pub struct Subscription {
    /// Events after the client's `Last-Event-ID`, oldest first.
    pub replay: Vec<Arc<PublishedEvent>>,
    /// The client's `Last-Event-ID` could not be honoured; it must refetch state.
    pub needs_resync: bool,
    /// Id of the newest event at subscription time, to tag a resync with so the
    /// client's next reconnect resumes from here.
    pub resume_id: String,
    pub live: broadcast::Receiver<Arc<PublishedEvent>>,
}

impl EventBus {
    /// A bus whose ids are prefixed with `boot` (unique per server start).
    pub fn new(boot: impl Into<String>) -> EventBus {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        EventBus {
            boot: Arc::from(boot.into()),
            ring: Mutex::new(Ring {
                next_seq: 1,
                recent: VecDeque::with_capacity(REPLAY_CAPACITY),
            }),
            tx,
        }
    }

    /// Publishes an event to every subscriber. Returns the event that fell
    /// out of the replay ring if nobody else holds it any more, for the
    /// caller to reuse its parts (ingest recycles old host views) or drop.
    pub fn publish(&self, event: BusEvent) -> Option<BusEvent> {
        // The lock orders publishing against subscribing, so a subscriber
        // sees each event exactly once: in its replay or live, never both.
        let mut ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = ring.next_seq;
        ring.next_seq += 1;
        let published = Arc::new(PublishedEvent {
            boot: self.boot.clone(),
            seq,
            name: event.name(),
            event,
            json: OnceLock::new(),
        });
        let evicted = if ring.recent.len() == REPLAY_CAPACITY {
            ring.recent.pop_front()
        } else {
            None
        };
        ring.recent.push_back(published.clone());
        // No subscribers is fine.
        let _ = self.tx.send(published);
        drop(ring);
        // Often the last reference to an old host view (~30 allocations):
        // handed back after the lock, not freed while other publishers wait.
        evicted
            .and_then(|e| Arc::try_unwrap(e).ok())
            .map(|e| e.event)
    }

    /// Subscribes, replaying what came after `last_event_id` when possible.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let ring = self.ring.lock().unwrap_or_else(PoisonError::into_inner);
        let live = self.tx.subscribe();
        let resume_id = format!("{}-{}", self.boot, ring.next_seq - 1);
        let Some(last) = last_event_id else {
            return Subscription {
                replay: Vec::new(),
                needs_resync: false,
                resume_id,
                live,
            };
        };
        let last_seq = last
            .rsplit_once('-')
            .filter(|(boot, _)| *boot == &*self.boot)
            .and_then(|(_, seq)| seq.parse::<u64>().ok())
            .filter(|seq| *seq < ring.next_seq);
        let oldest_kept = ring.recent.front().map_or(ring.next_seq, |e| e.seq);
        match last_seq {
            Some(seq) if seq + 1 >= oldest_kept => Subscription {
                replay: ring
                    .recent
                    .iter()
                    .filter(|e| e.seq > seq)
                    .cloned()
                    .collect(),
                needs_resync: false,
                resume_id,
                live,
            },
            _ => Subscription {
                replay: Vec::new(),
                needs_resync: true,
                resume_id,
                live,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removed(id: &str) -> BusEvent {
        BusEvent::DeviceRemoved(id.into())
    }

    #[test]
    fn reconnecting_client_gets_exactly_the_missed_events() {
        let bus = EventBus::new("b1");
        bus.publish(removed("a"));
        bus.publish(removed("b"));
        bus.publish(removed("c"));
        let sub = bus.subscribe(Some("b1-1"));
        assert!(!sub.needs_resync);
        let ids: Vec<_> = sub.replay.iter().map(|e| e.id()).collect();
        assert_eq!(ids, ["b1-2", "b1-3"]);
        assert!(sub.replay[0].data().contains("\"host_id\":\"b\""));
    }

    #[test]
    fn ids_from_another_boot_or_garbage_ask_for_resync() {
        let bus = EventBus::new("b2");
        bus.publish(removed("a"));
        for stale in ["b1-1", "nonsense", "b2-999", "b2-x", ""] {
            let sub = bus.subscribe(Some(stale));
            assert!(sub.needs_resync, "{stale:?}");
            assert!(sub.replay.is_empty());
        }
    }

    #[test]
    fn events_older_than_the_ring_ask_for_resync() {
        let bus = EventBus::new("b");
        for i in 0..(REPLAY_CAPACITY + 10) {
            bus.publish(removed(&i.to_string()));
        }
        assert!(bus.subscribe(Some("b-1")).needs_resync);
        let recent = bus.subscribe(Some(&format!("b-{}", REPLAY_CAPACITY + 5)));
        assert!(!recent.needs_resync);
        assert_eq!(recent.replay.len(), 5);
    }

    #[test]
    fn published_json_is_exactly_the_core_server_event() {
        use trainyard_core::{HostHealth, ServerEvent};
        let host = HostView {
            host_id: "gpu-01".into(),
            hostname: "h".into(),
            agent_version: "1".into(),
            health: HostHealth::Stale,
            last_seen_ms: 2,
            first_seen_ms: 1,
            system: Default::default(),
            gpus: vec![Default::default()],
            gpu_error: Some("x".into()),
        };
        let bus = EventBus::new("b");
        bus.publish(BusEvent::Device(Arc::new(host.clone())));
        bus.publish(removed("gpu-01"));
        let sub = bus.subscribe(Some("b-0"));
        let expected = [
            ServerEvent::Device { host },
            ServerEvent::DeviceRemoved {
                host_id: "gpu-01".into(),
            },
        ];
        for (published, expected) in sub.replay.iter().zip(expected) {
            assert_eq!(published.name, expected.name());
            let parsed: ServerEvent = serde_json::from_str(published.data()).expect("it parses");
            assert_eq!(parsed, expected);
            // And the way a browser reads it: by the event's name.
            let mut data = serde_json::Deserializer::from_str(published.data());
            let by_name = ServerEvent::from_sse(published.name, &mut data);
            assert_eq!(by_name.expect("it reads by name"), expected);
        }
    }

    #[tokio::test]
    async fn live_subscribers_receive_new_events() {
        let bus = EventBus::new("b");
        let mut sub = bus.subscribe(None);
        bus.publish(removed("x"));
        let got = sub.live.recv().await.map(|e| e.name);
        assert_eq!(got.ok(), Some("device_removed"));
    }
}
