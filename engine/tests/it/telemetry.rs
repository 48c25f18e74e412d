//! GPU telemetry history: heartbeats become one sample per host and minute,
//! answered as an hour or a day of buckets, kept for a week, removed with
//! their host, and kept across a restart.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use trainyard_core::{Heartbeat, TelemetryWindow};
use trainyard_engine::{Clock, Engine, EngineError, EngineSettings};

use crate::fixtures::{engine_with_settings, heartbeat, on_disk};

const MINUTE: Duration = Duration::from_secs(60);

/// Moves a manual clock to the start of the next minute.
fn align_to_minute(clock: &Clock) {
    let into = clock.now_ms().rem_euclid(60_000) as u64;
    clock.advance(Duration::from_millis(60_000 - into));
}

/// A host whose GPU `i` is `util + i` % busy with `used_gib` GiB in use.
fn busy(host_id: &str, gpus: u32, util: f32, used_gib: u64) -> Heartbeat {
    let mut hb = heartbeat(host_id, gpus);
    for g in &mut hb.gpus {
        g.utilization_percent = util + g.index as f32;
        g.memory_used_bytes = used_gib << 30;
        g.temperature_c = Some(40.0 + util / 10.0);
    }
    hb
}

/// `minutes` minutes of heartbeats every 20 s: 0 % then `util` %, so each
/// minute's mean is two thirds of `util`; the write-behind flushes each
/// minute.
async fn report(engine: &Engine, clock: &Clock, host_id: &str, minutes: u32, util: f32) {
    for _ in 0..minutes {
        for (u, gib) in [(0.0, 1), (util, 4), (util, 2)] {
            engine
                .ingest_heartbeat(busy(host_id, 2, u, gib))
                .expect("the heartbeat is accepted");
            clock.advance(Duration::from_secs(20));
        }
        engine.flush().await.expect("the flush succeeds");
    }
}

async fn stored_minutes(dir: &Path) -> i64 {
    let mut db = SqliteConnectOptions::new()
        .filename(dir.join("trainyard.db"))
        .connect()
        .await
        .expect("the database opens");
    sqlx::query_scalar("SELECT COUNT(*) FROM gpu_telemetry")
        .fetch_one(&mut db)
        .await
        .expect("the count is read")
}

#[tokio::test]
async fn an_hour_is_sixty_minutes_of_mean_utilization_and_peak_memory() {
    let engine = engine_with_settings(|_| {}).await;
    align_to_minute(&engine.clock);
    report(&engine, &engine.clock, "gpu-01", 90, 90.0).await;

    let hour = engine
        .host_telemetry("gpu-01", TelemetryWindow::Hour)
        .await
        .expect("the host is known");
    assert_eq!(hour.bucket_ms, 60_000);
    assert_eq!(hour.gpus.len(), 2);
    let gpu1 = &hour.gpus[1];
    assert_eq!(gpu1.index, 1);
    assert_eq!(gpu1.util_pct.len(), 60);
    // The last 59 minutes are complete: mean of 1, 91 and 91 (GPU 1 adds 1).
    for u in &gpu1.util_pct[..59] {
        assert_eq!(*u, Some(61.0));
    }
    // The current minute has not started reporting yet.
    assert_eq!(gpu1.util_pct[59], None);
    assert_eq!(
        gpu1.mem_used_mib[0],
        Some(4 * 1024),
        "the peak, not the mean"
    );
    assert_eq!(gpu1.mem_total_mib, 80 * 1024);
    assert_eq!(gpu1.temp_c[0], Some(49.0));

    let day = engine
        .host_telemetry("gpu-01", TelemetryWindow::Day)
        .await
        .expect("the host is known");
    assert_eq!(
        (day.gpus[0].util_pct.len(), day.bucket_ms),
        (96, 15 * 60_000)
    );
    let reported: Vec<f32> = day.gpus[0].util_pct.iter().flatten().copied().collect();
    // 90 minutes fall into 6 or 7 quarter hours, each with the same mean.
    assert!((6..=7).contains(&reported.len()), "{reported:?}");
    assert!(reported.iter().all(|u| *u == 60.0), "{reported:?}");
}

#[tokio::test]
async fn the_current_minute_is_answered_before_it_is_written() {
    let engine = engine_with_settings(|_| {}).await;
    align_to_minute(&engine.clock);
    engine
        .ingest_heartbeat(busy("gpu-01", 1, 30.0, 8))
        .expect("the heartbeat is accepted");
    let hour = engine
        .host_telemetry("gpu-01", TelemetryWindow::Hour)
        .await
        .expect("the host is known");
    assert_eq!(hour.gpus[0].util_pct[59], Some(30.0));
}

#[tokio::test]
async fn an_unknown_host_has_no_telemetry() {
    let engine = engine_with_settings(|_| {}).await;
    let err = engine
        .host_telemetry("nope", TelemetryWindow::Day)
        .await
        .err();
    assert!(matches!(err, Some(EngineError::HostNotFound(id)) if id == "nope"));
}

#[tokio::test]
async fn the_fleet_shows_hosts_with_gpus_and_their_mean_load() {
    let engine = engine_with_settings(|_| {}).await;
    align_to_minute(&engine.clock);
    engine
        .ingest_heartbeat(heartbeat("cpu-only", 0))
        .expect("the heartbeat is accepted");
    engine
        .ingest_heartbeat(busy("b", 2, 50.0, 40))
        .expect("the heartbeat is accepted");
    engine
        .ingest_heartbeat(busy("a", 2, 10.0, 8))
        .expect("the heartbeat is accepted");
    let fleet = engine
        .fleet_telemetry(TelemetryWindow::Hour)
        .await
        .expect("the fleet answers");
    let ids: Vec<&str> = fleet.hosts.iter().map(|h| h.host_id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(fleet.more_hosts, 0);
    let b = &fleet.hosts[1];
    assert_eq!(b.gpus, 2);
    assert_eq!(b.util_pct[59], Some(50.5));
    assert_eq!(b.mem_pct[59], Some(50.0));
    assert_eq!(b.util_pct[58], None);
}

/// An on-disk engine on a manual clock the test moves.
async fn on_disk_engine(dir: &Path, clock: &Clock) -> Engine {
    let settings = EngineSettings {
        clock: clock.clone(),
        ..on_disk(dir)
    };
    Engine::open(settings).await.expect("the engine opens")
}

#[tokio::test]
async fn minutes_older_than_a_week_are_deleted_and_the_rest_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Clock::manual();
    align_to_minute(&clock);
    let engine = on_disk_engine(dir.path(), &clock).await;
    report(&engine, &clock, "gpu-01", 3, 50.0).await;
    assert_eq!(stored_minutes(dir.path()).await, 3);

    // Six days later the week is not over: everything stays.
    clock.advance(6 * 24 * 60 * MINUTE);
    report(&engine, &clock, "gpu-01", 2, 50.0).await;
    assert_eq!(stored_minutes(dir.path()).await, 5);
    engine.close().await;

    // A day and an hour later, after a restart: the first three are gone.
    let again = on_disk_engine(dir.path(), &clock).await;
    clock.advance(25 * 60 * MINUTE);
    report(&again, &clock, "gpu-01", 1, 50.0).await;
    assert_eq!(stored_minutes(dir.path()).await, 3);
    let day = again
        .host_telemetry("gpu-01", TelemetryWindow::Day)
        .await
        .expect("the host is known after a restart");
    assert_eq!(day.gpus[0].util_pct.iter().flatten().count(), 1);
    again.close().await;
}

#[tokio::test]
async fn a_removed_host_takes_its_telemetry_with_it() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let clock = Clock::manual();
    align_to_minute(&clock);
    let engine = on_disk_engine(dir.path(), &clock).await;
    report(&engine, &clock, "gone", 2, 50.0).await;
    report(&engine, &clock, "stays", 1, 50.0).await;
    assert_eq!(stored_minutes(dir.path()).await, 3);
    clock.advance(10 * MINUTE);
    engine.refresh_health();
    engine
        .remove_host("gone")
        .await
        .expect("a silent host is removed");
    assert_eq!(stored_minutes(dir.path()).await, 1);
    engine.close().await;
}
