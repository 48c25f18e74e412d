//! `GET /api/v1/hosts/{id}/telemetry` answers a host's GPUs over the last
//! hour or day, and says which parameter or host it cannot use.

use trainyard_core::protocol::paths;
use trainyard_core::{
    ApiErrorBody, GpuStats, Heartbeat, HostTelemetry, TelemetryWindow, PROTOCOL_VERSION,
};

use crate::harness::{config, get_raw, TestServer, KEY};

fn heartbeat(util: f32) -> Heartbeat {
    Heartbeat {
        protocol_version: PROTOCOL_VERSION,
        host_id: "gpu-01".into(),
        hostname: "gpu-01.lab".into(),
        agent_version: "test".into(),
        system: Default::default(),
        gpus: (0..2)
            .map(|index| GpuStats {
                index,
                utilization_percent: util,
                memory_used_bytes: 20 << 30,
                memory_total_bytes: 80 << 30,
                ..Default::default()
            })
            .collect(),
        gpu_error: None,
    }
}

#[tokio::test]
async fn a_hosts_telemetry_is_answered_per_window_and_bad_input_is_named() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let sent = server
        .client
        .post(server.url(&paths::agent_heartbeat()))
        .bearer_auth(KEY)
        .json(&heartbeat(75.0))
        .send()
        .await
        .expect("the heartbeat is sent");
    assert_eq!(sent.status(), 200);

    let hour: HostTelemetry = server.get_json("/api/v1/hosts/gpu-01/telemetry").await;
    assert_eq!(hour.window, TelemetryWindow::Hour);
    assert_eq!(hour.gpus.len(), 2);
    // The heartbeat is in the current minute, the last bucket (a minute
    // may have turned since: then it is the one before).
    let utils: Vec<f32> = hour.gpus[0].util_pct.iter().flatten().copied().collect();
    assert_eq!(utils, [75.0]);
    assert_eq!(hour.gpus[0].mem_total_mib, 80 * 1024);

    let day: HostTelemetry = server
        .get_json(&paths::host_telemetry("gpu-01", TelemetryWindow::Day))
        .await;
    assert_eq!(
        (day.window, day.gpus[1].util_pct.len()),
        (TelemetryWindow::Day, 96)
    );

    let base = server.url("");
    let bad = get_raw(&base, "/api/v1/hosts/gpu-01/telemetry?window=week").await;
    assert_eq!(bad.status(), 400);
    let body: ApiErrorBody = bad.json().await.expect("an error body");
    assert_eq!(body.code, "bad_query");
    assert!(body.message.starts_with("window:"), "{}", body.message);

    let missing = get_raw(&base, "/api/v1/hosts/nope/telemetry?window=hour").await;
    assert_eq!(missing.status(), 404);
    let body: ApiErrorBody = missing.json().await.expect("an error body");
    assert_eq!(body.code, "host_not_found");

    let anonymous = reqwest::Client::new()
        .get(server.url("/api/v1/hosts/gpu-01/telemetry"))
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(anonymous.status(), 401);
    server.stop().await.expect("the server stops");
}
