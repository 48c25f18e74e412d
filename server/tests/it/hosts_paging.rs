//! `GET /api/v1/hosts` pages and filters a fleet, and says clearly which
//! parameter it cannot use (without touching the fleet).

use std::collections::HashSet;

use trainyard_core::{ApiErrorBody, GpuProcess, GpuStats, Heartbeat, HostsPage, PROTOCOL_VERSION};

use crate::harness::{config, eventually, fast_thresholds, TestServer, KEY};

/// A host with `gpus` GPUs of which the first `free` are idle.
fn heartbeat(host_id: &str, gpus: u32, free: u32) -> Heartbeat {
    Heartbeat {
        protocol_version: PROTOCOL_VERSION,
        host_id: host_id.into(),
        hostname: format!("{host_id}.lab.example"),
        agent_version: "test".into(),
        system: Default::default(),
        gpus: (0..gpus)
            .map(|index| GpuStats {
                index,
                name: if index % 2 == 0 {
                    "NVIDIA H100"
                } else {
                    "NVIDIA A100"
                }
                .into(),
                utilization_percent: if index < free { 0.0 } else { 95.0 },
                memory_total_bytes: 80 << 30,
                processes: if index < free {
                    Vec::new()
                } else {
                    vec![GpuProcess {
                        pid: 100 + index,
                        name: "python".into(),
                        memory_bytes: 1 << 30,
                    }]
                },
                ..Default::default()
            })
            .collect(),
        gpu_error: None,
    }
}

async fn post(server: &TestServer, hb: &Heartbeat) {
    let answer = server
        .client
        .post(server.url("/api/v1/agents/heartbeat"))
        .bearer_auth(KEY)
        .json(hb)
        .send()
        .await
        .expect("the heartbeat is sent");
    assert_eq!(
        answer.status(),
        200,
        "{}",
        answer.text().await.unwrap_or_default()
    );
}

async fn page(server: &TestServer, query: &str) -> HostsPage {
    server.get_json(&format!("/api/v1/hosts?{query}")).await
}

fn ids(page: &HostsPage) -> Vec<String> {
    page.hosts.iter().map(|h| h.host_id.clone()).collect()
}

/// `host-000` … `host-249`: 8 GPUs each, `i % 9` of them free (0–8).
fn fleet() -> Vec<Heartbeat> {
    (0..250)
        .map(|i| heartbeat(&format!("host-{i:03}"), 8, (i % 9) as u32))
        .collect()
}

#[tokio::test]
async fn pages_cover_the_fleet_once_in_id_order() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    for hb in fleet() {
        post(&server, &hb).await;
    }

    let first = page(&server, "").await;
    assert_eq!((first.total, first.offset, first.limit), (250, 0, 100));
    assert_eq!(first.hosts.len(), 100, "100 hosts unless asked otherwise");
    assert_eq!(first.next_after.as_deref(), Some("host-099"));

    // Walking with `after` visits every host once, in order.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = match &after {
            Some(id) => format!("limit=64&after={id}"),
            None => "limit=64".into(),
        };
        let p = page(&server, &query).await;
        assert_eq!(p.total, 250);
        assert_eq!(p.offset, seen.len(), "offset says where the page starts");
        seen.extend(ids(&p));
        match p.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let expected: Vec<String> = (0..250).map(|i| format!("host-{i:03}")).collect();
    assert_eq!(seen, expected);

    // Offsets give the same pages; past the end is an empty page, not an error.
    let by_offset = page(&server, "limit=64&offset=128").await;
    assert_eq!(ids(&by_offset), expected[128..192]);
    let past = page(&server, "offset=5000").await;
    assert_eq!(
        (past.total, past.hosts.len(), past.next_after),
        (250, 0, None)
    );
    let count_only = page(&server, "limit=0").await;
    assert_eq!((count_only.total, count_only.hosts.len()), (250, 0));
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn filters_by_text_free_gpus_and_health() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), fast_thresholds())).await;
    let fleet = fleet();
    for hb in &fleet {
        post(&server, hb).await;
    }

    // Text: the host id, the hostname and GPU names, any case.
    assert_eq!(
        ids(&page(&server, "q=HOST-12").await).len(),
        10,
        "host-120…129"
    );
    assert_eq!(ids(&page(&server, "q=007.lab").await), ["host-007"]);
    assert_eq!(page(&server, "q=a100&limit=0").await.total, 250);
    assert_eq!(page(&server, "q=v100&limit=0").await.total, 0);
    // Free GPUs: `i % 9` are free, so hosts with i % 9 >= 8 have 8.
    let eight_free = page(&server, "min_free_gpus=8&limit=1000").await;
    let expected: Vec<String> = (0..250)
        .filter(|i| i % 9 == 8)
        .map(|i| format!("host-{i:03}"))
        .collect();
    assert_eq!(ids(&eight_free), expected);

    // Health: let every host fall silent, then bring a third back.
    eventually("every host disconnected", || async {
        page(&server, "health=disconnected&limit=0").await.total == 250
    })
    .await;
    assert_eq!(page(&server, "health=healthy,stale&limit=0").await.total, 0);
    // Filters combine, and the count is of what matches.
    let combined = page(
        &server,
        "health=disconnected&q=host-00&min_free_gpus=1&limit=5",
    )
    .await;
    assert_eq!(
        ids(&combined),
        ["host-001", "host-002", "host-003", "host-004", "host-005"]
    );
    assert_eq!(
        (combined.total, combined.next_after.as_deref()),
        (8, Some("host-005"))
    );
    let back: HashSet<String> = (0..250)
        .step_by(3)
        .map(|i| format!("host-{i:03}"))
        .collect();
    eventually("a third healthy again", || async {
        for hb in fleet.iter().filter(|hb| back.contains(&hb.host_id)) {
            post(&server, hb).await;
        }
        let healthy = page(&server, "health=healthy&limit=1000").await;
        healthy.total == back.len() && ids(&healthy).iter().all(|id| back.contains(id))
    })
    .await;
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn bad_paging_and_filter_values_are_refused_naming_the_parameter() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    for hb in fleet().iter().take(20) {
        post(&server, hb).await;
    }
    let cases = [
        ("limit=abc", "limit:"),
        ("limit=-1", "limit:"),
        ("limit=1001", "limit:"),
        ("limit=100000000000000000000000", "limit:"),
        ("limit=2.5", "limit:"),
        ("offset=-3", "offset:"),
        ("offset=first", "offset:"),
        ("offset=10&after=host-001", "offset"),
        ("health=sick", "health:"),
        ("health=healthy,dead", "health:"),
        ("min_free_gpus=65", "min_free_gpus:"),
        ("min_free_gpus=-1", "min_free_gpus:"),
        ("status=healthy", "status"),
        ("limit=1&limit=2", "limit"),
        ("limit=%FF", "limit"),
    ];
    for (query, names) in cases {
        let answer = server
            .client
            .get(server.url(&format!("/api/v1/hosts?{query}")))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("the request is sent");
        assert_eq!(answer.status(), 400, "{query}");
        let body: ApiErrorBody = answer.json().await.expect("the error is JSON");
        assert_eq!(body.code, "bad_query", "{query}");
        assert!(body.message.contains(names), "{query}: {}", body.message);
    }
    let long = "x".repeat(300);
    let answer = server
        .client
        .get(server.url(&format!("/api/v1/hosts?q={long}")))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(answer.status(), 400);
    // Nothing was lost or changed by any of it.
    let all = page(&server, "").await;
    assert_eq!(all.total, 20);
    assert!(all.hosts.iter().all(|h| h.gpus.len() == 8));
    server.stop().await.expect("the server stops");
}
