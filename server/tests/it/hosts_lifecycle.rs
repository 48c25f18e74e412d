use trainyard_core::HostHealth;

use crate::harness::{config, eventually, fast_thresholds, start_agent, TestServer, KEY};

#[tokio::test]
async fn an_agent_appears_goes_stale_then_disconnected_and_can_be_removed() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), fast_thresholds())).await;
    let (stop_agent, agent) = start_agent(&server, "gpu-01", 4, Some(KEY));

    eventually("host registered with 4 GPUs", || async {
        server.hosts().await.first().is_some_and(|h| {
            h.host_id == "gpu-01" && h.gpus.len() == 4 && h.health == HostHealth::Healthy
        })
    })
    .await;

    let refused = server.delete("/api/v1/hosts/gpu-01").await;
    assert_eq!(refused.status(), 409, "a healthy host cannot be removed");
    let body = refused.text().await.unwrap_or_default();
    assert!(
        body.contains("only disconnected hosts can be removed"),
        "{body}"
    );

    let _ = stop_agent.send(());
    assert!(
        agent.await.expect("the agent task ends").is_ok(),
        "agent exits cleanly"
    );

    eventually("host stale", || async {
        server.hosts().await[0].health == HostHealth::Stale
    })
    .await;
    eventually("host disconnected", || async {
        server.hosts().await[0].health == HostHealth::Disconnected
    })
    .await;

    let removed = server.delete("/api/v1/hosts/gpu-01").await;
    assert_eq!(removed.status(), 204);
    assert!(server.hosts().await.is_empty());
    let missing = server.delete("/api/v1/hosts/gpu-01").await;
    assert_eq!(missing.status(), 404);
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn a_killed_agent_is_noticed_and_hosts_survive_a_server_restart() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), fast_thresholds())).await;
    let (_keep, agent) = start_agent(&server, "gpu-02", 2, Some(KEY));
    eventually("host registered", || async {
        server.hosts().await.len() == 1
    })
    .await;
    // No goodbye: like kill -9 of the agent process.
    agent.abort();
    eventually("host stale", || async {
        server.hosts().await[0].health == HostHealth::Stale
    })
    .await;
    let first_seen = server.hosts().await[0].first_seen_ms;
    server.stop().await.expect("the server stops");

    let again = TestServer::start(config(dir.path(), Some(KEY), fast_thresholds())).await;
    let hosts = again.hosts().await;
    assert_eq!(hosts.len(), 1, "the host is remembered across restarts");
    assert_eq!(hosts[0].host_id, "gpu-02");
    assert_eq!(hosts[0].gpus.len(), 2, "with its last telemetry");
    assert_eq!(hosts[0].first_seen_ms, first_seen);
    assert_ne!(
        hosts[0].health,
        HostHealth::Healthy,
        "a silent host is not shown as healthy after a restart"
    );
    again.stop().await.expect("the server stops");
}

#[tokio::test]
async fn dashboard_status_counts_healthy_hosts_and_gpus() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let (_a, _ta) = start_agent(&server, "a", 2, Some(KEY));
    let (_b, _tb) = start_agent(&server, "b", 3, Some(KEY));
    eventually("both hosts", || async { server.hosts().await.len() == 2 }).await;
    let status: trainyard_core::ServerStatus = server.get_json("/api/v1/health").await;
    assert_eq!((status.hosts_healthy, status.gpus_total), (2, 5));
    assert!(status.auth_required);
    server.stop().await.expect("the server stops");
}
