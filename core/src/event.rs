//! Events the server streams to browsers over SSE (`GET /api/v1/events`).

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
