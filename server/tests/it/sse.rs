//! The event stream: named events, ids, and resume with Last-Event-ID.

use std::time::Duration;

use futures::StreamExt;
use trainyard_core::ServerEvent;

use crate::harness::{config, start_agent, TestServer, KEY};

/// One parsed server-sent event.
#[derive(Debug, Default, Clone)]
struct Sse {
    id: Option<String>,
    name: String,
    data: String,
}

impl Sse {
    /// The event read the way the browser reads it: by its name.
    fn event(&self) -> serde_json::Result<ServerEvent> {
        let mut data = serde_json::Deserializer::from_str(&self.data);
        let event = ServerEvent::from_sse(&self.name, &mut data)?;
        data.end()?;
        Ok(event)
    }
}

/// Reads events from an open response until `want` have arrived (10 s cap).
struct EventReader {
    stream: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl EventReader {
    async fn open(server: &TestServer, last_event_id: Option<&str>) -> EventReader {
        EventReader::open_at(server, "/api/v1/events", last_event_id).await
    }

    async fn open_at(server: &TestServer, path: &str, last_event_id: Option<&str>) -> EventReader {
        let mut request = server.client.get(server.url(path)).bearer_auth(KEY);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let answer = request.send().await.expect("the request is sent");
        assert_eq!(answer.status(), 200);
        assert_eq!(
            answer
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        EventReader {
            stream: answer.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    async fn next(&mut self) -> Sse {
        tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut event = Sse::default();
                    for line in block.lines() {
                        if let Some(v) = line
                            .strip_prefix("id: ")
                            .or_else(|| line.strip_prefix("id:"))
                        {
                            event.id = Some(v.to_string());
                        } else if let Some(v) = line
                            .strip_prefix("event: ")
                            .or_else(|| line.strip_prefix("event:"))
                        {
                            event.name = v.to_string();
                        } else if let Some(v) = line
                            .strip_prefix("data: ")
                            .or_else(|| line.strip_prefix("data:"))
                        {
                            event.data.push_str(v);
                        }
                    }
                    if !event.name.is_empty() {
                        return event;
                    }
                    continue;
                }
                let chunk = self
                    .stream
                    .next()
                    .await
                    .unwrap_or_else(|| panic!("stream ended"))
                    .expect("the stream reads");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no event within 10 s"))
    }

    async fn next_named(&mut self, name: &str) -> Sse {
        loop {
            let e = self.next().await;
            if e.name == name {
                return e;
            }
        }
    }
}

#[tokio::test]
async fn the_stream_greets_then_streams_device_updates_with_ids() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let mut events = EventReader::open(&server, None).await;
    let hello = events.next().await;
    assert_eq!(hello.name, "hello");
    assert!(matches!(hello.event(), Ok(ServerEvent::Hello { .. })));

    let (_stop, _agent) = start_agent(&server, "gpu-07", 2, Some(KEY));
    let device = events.next_named("device").await;
    assert!(device.id.is_some(), "device events carry an id for resume");
    match device.event() {
        Ok(ServerEvent::Device { host }) => {
            assert_eq!((host.host_id.as_str(), host.gpus.len()), ("gpu-07", 2))
        }
        other => panic!("unexpected {other:?}"),
    }
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn a_reconnecting_client_resumes_after_its_last_event_id() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let mut first = EventReader::open(&server, None).await;
    let (stop, agent) = start_agent(&server, "gpu-08", 1, Some(KEY));
    let seen = first.next_named("device").await;
    // At least one more event exists after `seen`, so there is something to replay.
    let _after = first.next_named("device").await;
    let _ = stop.send(());
    let _ = agent.await;
    drop(first);

    // Everything after `seen` is replayed, in order, nothing before it.
    let mut resumed = EventReader::open(&server, seen.id.as_deref()).await;
    assert_eq!(resumed.next().await.name, "hello");
    let replayed = resumed.next().await;
    // A heartbeat publishes its host's `device` event and, when the fleet's
    // numbers moved, a `fleet` event: either may follow `seen`.
    assert!(
        matches!(replayed.name.as_str(), "device" | "fleet"),
        "replayed {}",
        replayed.name
    );
    let seq = |e: &Sse| {
        e.id.as_deref()
            .and_then(|id| id.rsplit_once('-'))
            .and_then(|(_, n)| n.parse::<u64>().ok())
    };
    assert_eq!(seq(&replayed), seq(&seen).map(|n| n + 1));

    // An id from another server boot cannot be honoured: the client must resync.
    let mut stale = EventReader::open(&server, Some("deadbeef-3")).await;
    assert_eq!(stale.next().await.name, "hello");
    assert_eq!(stale.next().await.name, "resync");
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn open_streams_do_not_keep_the_server_from_stopping() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let mut events = EventReader::open(&server, None).await;
    let _ = events.next().await;
    // stop() fails the test if shutdown takes more than 10 s.
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn a_stream_can_follow_only_some_hosts_and_still_gets_the_fleets_numbers() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let mut followed =
        EventReader::open_at(&server, "/api/v1/events?devices=gpu-b,gpu-c", None).await;
    let mut none = EventReader::open_at(&server, "/api/v1/events?devices=none", None).await;
    let (_stop_a, _a) = start_agent(&server, "gpu-a", 1, Some(KEY));
    let (_stop_b, _b) = start_agent(&server, "gpu-b", 2, Some(KEY));

    // Only gpu-b's heartbeats, however many of gpu-a's come first.
    for _ in 0..5 {
        let device = followed.next_named("device").await;
        match device.event() {
            Ok(ServerEvent::Device { host }) => assert_eq!(host.host_id, "gpu-b"),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Without hosts the numbers still come, and no host does.
    loop {
        let e = none.next().await;
        assert_ne!(e.name, "device", "devices=none carries no host");
        if e.name == "fleet" {
            match e.event() {
                Ok(ServerEvent::Fleet { counts }) if counts.healthy == 2 => {
                    assert_eq!(counts.gpus_total, 3);
                    break;
                }
                Ok(ServerEvent::Fleet { .. }) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    for bad in ["devices=gpu%20a", "devices=..", "colour=blue"] {
        let answer = server
            .client
            .get(server.url(&format!("/api/v1/events?{bad}")))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("the request is sent");
        assert_eq!(answer.status(), 400, "{bad}");
        let body: trainyard_core::ApiErrorBody = answer.json().await.expect("JSON");
        assert_eq!(body.code, "bad_query", "{bad}");
    }
    server.stop().await.expect("the server stops");
}
