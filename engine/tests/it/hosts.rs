use std::sync::Arc;
use std::time::Duration;

use trainyard_core::{HealthThresholds, Heartbeat, HostHealth, ServerEvent, PROTOCOL_VERSION};
use trainyard_engine::{Engine, EngineError};

use crate::fixtures::{engine, fast_thresholds, heartbeat, on_disk};

#[tokio::test]
async fn a_heartbeat_registers_a_healthy_host_and_is_published() {
    let engine = engine(HealthThresholds::default()).await;
    let mut sub = engine.events().subscribe(None);
    engine
        .ingest_heartbeat(heartbeat("gpu-01", 4))
        .expect("the heartbeat is accepted");

    let hosts = engine.hosts();
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].health, HostHealth::Healthy);
    assert_eq!(hosts[0].gpus.len(), 4);
    let status = engine.status(false);
    assert_eq!(
        (status.hosts_healthy, status.gpus_total, status.gpus_free),
        (1, 4, 4)
    );

    let event = sub.live.try_recv().expect("try recv");
    assert_eq!(event.name, "device");
    let parsed: ServerEvent = serde_json::from_str(event.data()).expect("it parses");
    assert!(matches!(parsed, ServerEvent::Device { host } if host.host_id == "gpu-01"));
}

#[tokio::test]
async fn heartbeats_parsed_into_recycled_buffers_record_exactly_what_was_sent() {
    let engine = engine(HealthThresholds::default()).await;
    let mut recycled = 0;
    // Enough heartbeats that the replay ring (4096 events) lets go of old
    // views, which come back as spares for the next parses.
    for round in 0..1100u32 {
        for (i, host) in ["a", "b", "c", "d"].into_iter().enumerate() {
            let mut sent = heartbeat(host, (round + i as u32) % 4);
            sent.gpu_error = (round % 5 == 0).then(|| format!("round {round}"));
            let json = serde_json::to_string(&sent).expect("it serializes");
            let mut place = engine.spare_heartbeat();
            recycled += usize::from(!place.host_id.is_empty());
            let mut de = serde_json::Deserializer::from_str(&json);
            Heartbeat::deserialize_reusing(&mut de, &mut place).expect("it parses");
            assert_eq!(place, sent);
            engine
                .ingest_heartbeat(place)
                .expect("the heartbeat is accepted");
        }
    }
    assert!(recycled > 0, "replaced views come back as spare heartbeats");
    for (i, host) in engine.hosts().into_iter().enumerate() {
        let sent = heartbeat(&host.host_id, (1099 + i as u32) % 4);
        assert_eq!(
            (host.gpus, host.system, host.gpu_error),
            (sent.gpus, sent.system, None)
        );
    }
}

#[tokio::test]
async fn a_silent_host_turns_stale_then_disconnected_and_subscribers_hear_it() {
    let engine = engine(fast_thresholds()).await;
    engine
        .ingest_heartbeat(heartbeat("h", 1))
        .expect("the heartbeat is accepted");
    let mut sub = engine.events().subscribe(None);
    let mut seen = Vec::new();
    // Silence: 150 ms is past stale (100 ms), 300 ms past disconnected (250 ms).
    for _ in 0..2 {
        engine.clock.advance(Duration::from_millis(150));
        engine.refresh_health();
        while let Ok(e) = sub.live.try_recv() {
            if let Ok(ServerEvent::Device { host }) = serde_json::from_str(e.data()) {
                seen.push(host.health);
            }
        }
    }
    assert_eq!(seen, [HostHealth::Stale, HostHealth::Disconnected]);
    assert_eq!(
        engine.status(false).gpus_total,
        0,
        "GPUs of a gone host are not counted"
    );
}

#[tokio::test]
async fn only_disconnected_hosts_can_be_removed() {
    let engine = engine(fast_thresholds()).await;
    engine
        .ingest_heartbeat(heartbeat("h", 1))
        .expect("the heartbeat is accepted");

    let refused = engine.remove_host("h").await;
    assert!(matches!(
        refused,
        Err(EngineError::HostNotDisconnected {
            health: HostHealth::Healthy,
            ..
        })
    ));
    assert!(matches!(
        engine.remove_host("nope").await,
        Err(EngineError::HostNotFound(_))
    ));

    engine.clock.advance(Duration::from_millis(300));
    engine.refresh_health();
    assert_eq!(engine.hosts()[0].health, HostHealth::Disconnected);
    let mut sub = engine.events().subscribe(None);
    engine.remove_host("h").await.expect("the host is removed");
    assert!(engine.hosts().is_empty());
    assert_eq!(
        sub.live.try_recv().map(|e| e.name).ok(),
        Some("device_removed")
    );
}

#[tokio::test]
async fn bad_heartbeats_are_refused_and_leave_stored_hosts_alone() {
    let engine = engine(HealthThresholds::default()).await;
    let good = heartbeat("gpu-01", 2);
    engine
        .ingest_heartbeat(good.clone())
        .expect("the heartbeat is accepted");
    let before = engine.hosts();

    let mut wrong_version = heartbeat("gpu-01", 0);
    wrong_version.protocol_version = PROTOCOL_VERSION + 1;
    let err = engine
        .ingest_heartbeat(wrong_version)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("accepts 1"), "{err}");

    let mut bad_gpu = heartbeat("gpu-01", 1);
    bad_gpu.gpus[0].memory_used_bytes = u64::MAX;
    assert!(matches!(
        engine.ingest_heartbeat(bad_gpu),
        Err(EngineError::InvalidHeartbeat(_))
    ));

    let mut bad_id = heartbeat("x", 0);
    bad_id.host_id = "../../etc".into();
    assert!(engine.ingest_heartbeat(bad_id).is_err());

    assert_eq!(engine.hosts(), before);
}

#[tokio::test]
async fn hosts_survive_a_restart_with_their_last_telemetry() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = on_disk(dir.path());
    let engine = Arc::new(
        Engine::open(config.clone())
            .await
            .expect("the engine opens"),
    );
    engine
        .ingest_heartbeat(heartbeat("a", 2))
        .expect("the heartbeat is accepted");
    engine
        .ingest_heartbeat(heartbeat("b", 0))
        .expect("the heartbeat is accepted");
    let first_seen = engine.hosts()[0].first_seen_ms;
    engine.close().await;

    let again = Engine::open(config).await.expect("the engine opens");
    let hosts = again.hosts();
    assert_eq!(
        hosts.iter().map(|h| h.host_id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(hosts[0].gpus.len(), 2);
    assert_eq!(hosts[0].first_seen_ms, first_seen);
    assert_eq!(hosts[0].hostname, "a.lab");
}

#[tokio::test]
async fn background_task_flushes_periodically_and_on_shutdown() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = on_disk(dir.path());
    let engine = Arc::new(
        Engine::open(config.clone())
            .await
            .expect("the engine opens"),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(engine.clone().run_background(async move {
        let _ = stopped.await;
    }));
    engine
        .ingest_heartbeat(heartbeat("late", 1))
        .expect("the heartbeat is accepted");
    let _ = stop.send(());
    task.await.expect("the task ends");

    let again = Engine::open(config).await.expect("the engine opens");
    assert_eq!(
        again.hosts().len(),
        1,
        "the heartbeat received just before shutdown is saved"
    );
}

#[tokio::test]
async fn telemetry_is_written_at_most_once_per_snapshot_interval_and_fully_at_shutdown() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let config = trainyard_engine::EngineSettings {
        snapshot_interval: Duration::from_secs(3600),
        ..on_disk(dir.path())
    };
    let engine = Engine::open(config.clone())
        .await
        .expect("the engine opens");
    let stored_gpus = || async {
        let peek = Engine::open(config.clone())
            .await
            .expect("the engine opens");
        peek.hosts().first().map(|h| h.gpus.len())
    };

    engine
        .ingest_heartbeat(heartbeat("h", 1))
        .expect("the heartbeat is accepted");
    assert_eq!(
        engine.flush().await.expect("the flush succeeds"),
        1,
        "a new host is written at once"
    );
    assert_eq!(stored_gpus().await, Some(1));

    engine
        .ingest_heartbeat(heartbeat("h", 2))
        .expect("the heartbeat is accepted");
    assert_eq!(
        engine.flush().await.expect("the flush succeeds"),
        0,
        "not again within the interval"
    );
    assert_eq!(stored_gpus().await, Some(1));

    engine.close().await;
    assert_eq!(
        stored_gpus().await,
        Some(2),
        "shutdown writes the latest state"
    );
}

/// The next `fleet` event's numbers, if one is waiting (other events skipped).
fn next_counts(sub: &mut trainyard_engine::Subscription) -> Option<trainyard_core::FleetCounts> {
    while let Ok(e) = sub.live.try_recv() {
        if let Ok(ServerEvent::Fleet { counts }) = serde_json::from_str(e.data()) {
            return Some(counts);
        }
    }
    None
}

#[tokio::test]
async fn the_fleets_numbers_are_published_only_when_they_change() {
    let engine = engine(fast_thresholds()).await;
    let mut sub = engine.events().subscribe(None);
    engine.refresh_health();
    assert_eq!(
        next_counts(&mut sub).map(|c| c.hosts()),
        Some(0),
        "the first tick says where the fleet stands"
    );
    engine
        .ingest_heartbeat(heartbeat("a", 2))
        .expect("the heartbeat is accepted");
    engine
        .ingest_heartbeat(heartbeat("b", 1))
        .expect("the heartbeat is accepted");
    // Heartbeats alone publish no numbers: the tick does, once for both.
    assert_eq!(next_counts(&mut sub), None);
    engine.refresh_health();
    let counts = next_counts(&mut sub).expect("new hosts move the numbers");
    assert_eq!(
        (counts.healthy, counts.gpus_total, counts.gpus_free),
        (2, 3, 3)
    );
    engine
        .ingest_heartbeat(heartbeat("a", 2))
        .expect("the heartbeat is accepted");
    engine.refresh_health();
    assert_eq!(next_counts(&mut sub), None, "nothing changed, nothing sent");
    engine.clock.advance(Duration::from_millis(150));
    engine.refresh_health();
    let counts = next_counts(&mut sub).expect("health moved");
    assert_eq!((counts.healthy, counts.stale, counts.gpus_total), (0, 2, 0));
}

#[tokio::test]
async fn pages_and_filters_come_from_the_live_registry() {
    use trainyard_core::{HostFilter, HostQuery, HostStart};
    let engine = engine(fast_thresholds()).await;
    for (id, gpus) in [("c", 1), ("a", 4), ("b", 0)] {
        engine
            .ingest_heartbeat(heartbeat(id, gpus))
            .expect("the heartbeat is accepted");
    }
    let page = engine.hosts_page(&HostQuery {
        limit: 2,
        ..Default::default()
    });
    let ids: Vec<_> = page.hosts.iter().map(|h| h.host_id.as_str()).collect();
    assert_eq!((ids, page.total), (vec!["a", "b"], 3));
    assert_eq!(page.next_after.as_deref(), Some("b"));
    assert_eq!(engine.host_ids(), ["a", "b", "c"]);
    let rest = engine.hosts_page(&HostQuery {
        start: HostStart::After("b".into()),
        ..Default::default()
    });
    assert_eq!((rest.offset, rest.hosts.len()), (2, 1));

    // Health is current when the page is taken, without waiting for a tick.
    engine.clock.advance(Duration::from_millis(150));
    engine
        .ingest_heartbeat(heartbeat("b", 0))
        .expect("the heartbeat is accepted");
    let stale = engine.hosts_page(&HostQuery {
        filter: HostFilter {
            health: vec![HostHealth::Stale],
            ..Default::default()
        },
        ..Default::default()
    });
    let ids: Vec<_> = stale.hosts.iter().map(|h| h.host_id.as_str()).collect();
    assert_eq!(ids, ["a", "c"]);
    let free = engine.hosts_page(&HostQuery {
        filter: HostFilter {
            min_free_gpus: 2,
            ..Default::default()
        },
        ..Default::default()
    });
    assert_eq!(free.total, 1, "only a has 2 free GPUs");
}
