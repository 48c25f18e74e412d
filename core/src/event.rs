//! Events the server streams to browsers over SSE (`GET /api/v1/events`).

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::components::ConflictNotice;
use crate::host::{FleetCounts, HostView};
use crate::job::JobView;
use crate::runs::RunProgress;
use crate::serving::ServingView;

/// One server-sent event. The SSE `event:` name is [`ServerEvent::name`];
/// the `data:` line is this value as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// A host reported, or its health changed.
    Device { host: HostView },
    /// A host was removed by a user.
    DeviceRemoved { host_id: String },
    /// The fleet's numbers changed (hosts per health, GPUs total and free
    /// on healthy hosts). Sent at most twice a second, so a page can show
    /// them live without following every host.
    Fleet { counts: FleetCounts },
    /// A job was created or changed status, priority, host or attempt.
    Job { job: Box<JobView> },
    /// A running job reported how far it is (epoch/step of a total).
    Progress { progress: RunProgress },
    /// A component conflict was raised or answered (the notification bell).
    Notice { notice: ConflictNotice },
    /// A model deployment started, became healthy (again, after a lost
    /// agent) or was stopped; its failure arrives as its job's `job` event.
    Serving { serving: Box<ServingView> },
    /// The client missed events (restart, or too far behind): refetch state.
    Resync,
    /// First event on every connection, carrying the server's clock so the
    /// browser can show "3 s ago" without trusting its own clock.
    Hello { server_time_ms: i64 },
}

/// SSE event name for device updates.
pub const EVENT_DEVICE: &str = "device";
/// SSE event name for host removals.
pub const EVENT_DEVICE_REMOVED: &str = "device_removed";
/// SSE event name for the fleet's numbers.
pub const EVENT_FLEET: &str = "fleet";
/// SSE event name for job changes.
pub const EVENT_JOB: &str = "job";
/// SSE event name for a running job's progress.
pub const EVENT_PROGRESS: &str = "progress";
/// SSE event name for a component conflict raised or answered.
pub const EVENT_NOTICE: &str = "notice";
pub const EVENT_SERVING: &str = "serving";
/// SSE event name telling the client to reload its state.
pub const EVENT_RESYNC: &str = "resync";
/// SSE event name of the per-connection greeting.
pub const EVENT_HELLO: &str = "hello";

impl ServerEvent {
    /// The SSE `event:` field.
    pub fn name(&self) -> &'static str {
        match self {
            ServerEvent::Device { .. } => EVENT_DEVICE,
            ServerEvent::DeviceRemoved { .. } => EVENT_DEVICE_REMOVED,
            ServerEvent::Fleet { .. } => EVENT_FLEET,
            ServerEvent::Job { .. } => EVENT_JOB,
            ServerEvent::Progress { .. } => EVENT_PROGRESS,
            ServerEvent::Notice { .. } => EVENT_NOTICE,
            ServerEvent::Serving { .. } => EVENT_SERVING,
            ServerEvent::Resync => EVENT_RESYNC,
            ServerEvent::Hello { .. } => EVENT_HELLO,
        }
    }

    /// Reads one event from its SSE `event:` name and `data:` line, the way
    /// a client that subscribed by name receives it. Each variant's fields
    /// are read straight into their types; serde's derive for an internally
    /// tagged enum would first buffer the whole object to find `type`, and
    /// that buffering code was the browser's largest share of serde.
    /// `data` is a deserializer over the `data:` line, e.g.
    /// `&mut serde_json::Deserializer::from_str(line)`.
    pub fn from_sse<'de, D: Deserializer<'de>>(
        name: &str,
        data: D,
    ) -> Result<ServerEvent, D::Error> {
        Ok(match name {
            EVENT_DEVICE => ServerEvent::Device {
                host: event_field(data, "host")?,
            },
            EVENT_DEVICE_REMOVED => ServerEvent::DeviceRemoved {
                host_id: event_field(data, "host_id")?,
            },
            EVENT_FLEET => ServerEvent::Fleet {
                counts: event_field(data, "counts")?,
            },
            EVENT_JOB => ServerEvent::Job {
                job: event_field(data, "job")?,
            },
            EVENT_PROGRESS => ServerEvent::Progress {
                progress: event_field(data, "progress")?,
            },
            EVENT_NOTICE => ServerEvent::Notice {
                notice: event_field(data, "notice")?,
            },
            EVENT_SERVING => ServerEvent::Serving {
                serving: event_field(data, "serving")?,
            },
            EVENT_RESYNC => {
                IgnoredAny::deserialize(data)?;
                ServerEvent::Resync
            }
            EVENT_HELLO => ServerEvent::Hello {
                server_time_ms: event_field(data, "server_time_ms")?,
            },
            other => {
                return Err(de::Error::custom(format_args!(
                    "unknown event name `{other}`"
                )))
            }
        })
    }
}

/// Reads the field `key` of one event's `data:` object, skipping the others
/// (the `type` tag among them) without keeping them. A client that handles
/// only some events calls this for those, so the code to read the rest is
/// not part of it.
pub fn event_field<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    data: D,
    key: &'static str,
) -> Result<T, D::Error> {
    data.deserialize_map(FieldOf {
        key,
        value: PhantomData,
    })
}

/// Visits an object for one field's value.
struct FieldOf<T> {
    key: &'static str,
    value: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for FieldOf<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with `{}`", self.key)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut found = None;
        while let Some(is_ours) = map.next_key_seed(KeyIs(self.key))? {
            if !is_ours {
                map.next_value::<IgnoredAny>()?;
            } else if found.is_some() {
                return Err(de::Error::duplicate_field(self.key));
            } else {
                found = Some(map.next_value()?);
            }
        }
        found.ok_or_else(|| de::Error::missing_field(self.key))
    }
}

/// A key, read as whether it is the one wanted.
struct KeyIs(&'static str);

impl<'de> DeserializeSeed<'de> for KeyIs {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, keys: D) -> Result<bool, D::Error> {
        keys.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyIs {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// SSE event name of a piece of job output.
pub const EVENT_LOG: &str = "log";
/// SSE event name of the end of a job's output.
pub const EVENT_LOG_END: &str = "end";

/// One event of a job's output stream (`GET /api/v1/jobs/{id}/log/stream`).
/// The SSE `event:` name is [`LogStreamEvent::name`]; the `data:` line is
/// the variant's fields as JSON (no tag: the name says which).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LogStreamEvent {
    /// Output of `attempt` starting at byte `offset` of that attempt's log.
    Log {
        attempt: u32,
        offset: u64,
        text: String,
        /// Server clock (Unix ms) when this output was read to be sent: the
        /// live-update benchmark measures from here to the browser's DOM.
        /// Absent (0) from servers older than the field.
        #[serde(default)]
        server_ms: i64,
    },
    /// Everything was sent and the job is finished. `status` is the job's
    /// status label, or `unknown` when the job could no longer be read.
    End { status: String },
}

impl LogStreamEvent {
    /// The SSE `event:` field.
    pub fn name(&self) -> &'static str {
        match self {
            LogStreamEvent::Log { .. } => EVENT_LOG,
            LogStreamEvent::End { .. } => EVENT_LOG_END,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads an event the way the browser does: by name, the whole line.
    fn read(name: &str, data: &str) -> Result<ServerEvent, serde_json::Error> {
        let mut line = serde_json::Deserializer::from_str(data);
        let event = ServerEvent::from_sse(name, &mut line)?;
        line.end()?;
        Ok(event)
    }

    /// What a browser gets for each event: its name and its JSON.
    fn over_sse(event: &ServerEvent) -> Result<ServerEvent, serde_json::Error> {
        read(
            event.name(),
            &serde_json::to_string(event).expect("serializable"),
        )
    }

    #[test]
    fn every_event_reads_back_from_its_name_and_data() {
        let events = [
            ServerEvent::DeviceRemoved {
                host_id: "gpu-01".into(),
            },
            ServerEvent::Fleet {
                counts: FleetCounts {
                    healthy: 3,
                    gpus_total: 8,
                    ..FleetCounts::default()
                },
            },
            ServerEvent::Job {
                job: Box::new(JobView {
                    id: 7,
                    name: "résumé \"quoted\"".into(),
                    ..JobView::default()
                }),
            },
            ServerEvent::Progress {
                progress: RunProgress {
                    job_id: 7,
                    current: 2.0,
                    total: 10.0,
                    unit: "epoch".into(),
                    eta_secs: Some(40),
                },
            },
            ServerEvent::Resync,
            ServerEvent::Hello {
                server_time_ms: 1_764_000_000_000,
            },
        ];
        for event in events {
            assert_eq!(over_sse(&event).expect("it reads back"), event);
        }
    }

    #[test]
    fn fields_are_found_in_any_order_and_unknown_ones_skipped() {
        let data = r#"{"extra":{"nested":[1,{"job":2}]},"server_time_ms":5,"type":"hello"}"#;
        assert_eq!(
            read(EVENT_HELLO, data).expect("it reads"),
            ServerEvent::Hello { server_time_ms: 5 }
        );
        // A key with an escape is still a key.
        let escaped = r#"{"host\u005fid":"gpu-02"}"#;
        assert_eq!(
            read(EVENT_DEVICE_REMOVED, escaped).expect("it reads"),
            ServerEvent::DeviceRemoved {
                host_id: "gpu-02".into()
            }
        );
    }

    #[test]
    fn bad_events_are_errors_that_say_what_is_wrong() {
        let error = |name: &str, data: &str| read(name, data).expect_err("refused").to_string();
        assert!(error("nonsense", "{}").contains("unknown event name `nonsense`"));
        assert!(error(EVENT_JOB, r#"{"type":"job"}"#).contains("missing field `job`"));
        assert!(error(EVENT_HELLO, r#"{"server_time_ms":"soon"}"#).contains("invalid type"));
        assert!(
            error(EVENT_HELLO, r#"{"server_time_ms":1,"server_time_ms":2}"#)
                .contains("duplicate field `server_time_ms`")
        );
        assert!(error(EVENT_HELLO, r#"{"server_time_ms":1} trailing"#).contains("trailing"));
        assert!(error(EVENT_HELLO, "[1]").contains("an object with `server_time_ms`"));
        assert!(error(EVENT_FLEET, "").contains("EOF"));
    }

    #[test]
    fn log_stream_events_keep_their_wire_shape() {
        let log = LogStreamEvent::Log {
            attempt: 2,
            offset: 10,
            text: "hi\n".into(),
            server_ms: 7,
        };
        assert_eq!(
            serde_json::to_value(&log).expect("serializable"),
            serde_json::json!({"attempt": 2, "offset": 10, "text": "hi\n", "server_ms": 7})
        );
        let without_time: LogStreamEvent =
            serde_json::from_str(r#"{"attempt":1,"offset":0,"text":"x"}"#)
                .expect("older servers' events parse");
        assert!(matches!(
            without_time,
            LogStreamEvent::Log { server_ms: 0, .. }
        ));
        let end: LogStreamEvent =
            serde_json::from_str(r#"{"status":"succeeded"}"#).expect("an end event parses");
        assert_eq!(
            (end.name(), end),
            (
                EVENT_LOG_END,
                LogStreamEvent::End {
                    status: "succeeded".into()
                }
            )
        );
    }
}
