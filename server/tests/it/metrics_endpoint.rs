//! `GET /metrics`: protected like the API (or by its own token), valid
//! for Prometheus's own `promtool check metrics`, and scraped by a real
//! Prometheus whose query API then shows Trainyard's metrics.
//!
//! `promtool` and `prometheus` come from Debian's `prometheus` package
//! (scripts/install-deps.sh). Without them these tests print a note and
//! pass, unless TRAINYARD_REQUIRE_PROMETHEUS=1 (scripts/test.sh sets it),
//! which makes a missing binary a failure.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use trainyard_core::{GpuStats, Heartbeat, SystemStats, PROTOCOL_VERSION};

use crate::harness::{config, until, TestServer, KEY};
use crate::jobs_support::submit;

const METRICS_TOKEN: &str = "metrics-token-0123456789";

/// The binary `name` on PATH (or in /usr/bin), or `None` after saying why
/// the test does not run; a failure when TRAINYARD_REQUIRE_PROMETHEUS=1.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|path| path.is_file());
    if found.is_none() {
        let missing = format!(
            "`{name}` is not installed (Debian: apt-get install -y --no-upgrade prometheus; scripts/install-deps.sh does)"
        );
        assert!(
            std::env::var("TRAINYARD_REQUIRE_PROMETHEUS").as_deref() != Ok("1"),
            "{missing}"
        );
        println!("# NOT RUN: {missing}");
    }
    found
}

/// A heartbeat of host `gpu-host` with two GPUs, one named with the
/// characters label values must escape.
fn heartbeat() -> Heartbeat {
    let gpu = |index: u32, name: &str| GpuStats {
        index,
        uuid: format!("GPU-{index}"),
        name: name.into(),
        utilization_percent: 42.0,
        memory_used_bytes: 3 << 30,
        memory_total_bytes: 80 << 30,
        temperature_c: Some(61.0),
        power_watts: Some(250.5),
        power_limit_watts: Some(400.0),
        processes: Vec::new(),
    };
    Heartbeat {
        protocol_version: PROTOCOL_VERSION,
        host_id: "gpu-host".into(),
        hostname: "gpu-host.lab".into(),
        agent_version: "test".into(),
        system: SystemStats {
            cpu_percent: 5.0,
            cpu_count: 8,
            memory_used_bytes: 1 << 30,
            memory_total_bytes: 16 << 30,
            disk_used_bytes: 1 << 30,
            disk_total_bytes: 100 << 30,
        },
        gpus: vec![
            gpu(0, "NVIDIA H100 80GB HBM3"),
            gpu(1, r#"Odd "quoted" \ name"#),
        ],
        gpu_error: None,
    }
}

/// A server with a key and a metrics token, one host and one queued job.
async fn server() -> (tempfile::TempDir, TestServer) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut settings = config(dir.path(), Some(KEY), Default::default());
    settings.metrics_token =
        Some(trainyard_server::ApiKey::new(METRICS_TOKEN.into()).expect("a valid token"));
    let server = TestServer::start(settings).await;
    let answer = server
        .client
        .post(server.url("/api/v1/agents/heartbeat"))
        .bearer_auth(KEY)
        .json(&heartbeat())
        .send()
        .await
        .expect("the heartbeat is sent");
    assert_eq!(answer.status(), 200);
    submit(
        &server.url(""),
        "project: p\ncommand: [\"true\"]\ngpus: 9\npriority: high\n",
    )
    .await;
    (dir, server)
}

async fn scrape(server: &TestServer, token: Option<&str>) -> reqwest::Response {
    let mut request = server.client.get(server.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("the scrape is sent")
}

#[tokio::test]
async fn metrics_are_protected_and_pass_promtool() {
    let (_dir, server) = server().await;
    assert_eq!(scrape(&server, None).await.status(), 401);
    assert_eq!(
        scrape(&server, Some("wrong-token-0123456789"))
            .await
            .status(),
        401
    );
    assert_eq!(
        scrape(&server, Some(KEY)).await.status(),
        200,
        "the API key works too"
    );
    let answer = scrape(&server, Some(METRICS_TOKEN)).await;
    assert_eq!(answer.status(), 200);
    let content_type = answer
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let page = answer.text().await.expect("a body");
    for line in [
        r#"trainyard_gpu_utilization_ratio{host="gpu-host",gpu="0",name="NVIDIA H100 80GB HBM3"} 0.42"#,
        r#"trainyard_gpu_memory_total_bytes{host="gpu-host",gpu="1",name="Odd \"quoted\" \\ name"} 85899345920"#,
        r#"trainyard_gpu_temperature_celsius{host="gpu-host",gpu="0",name="NVIDIA H100 80GB HBM3"} 61"#,
        r#"trainyard_gpu_power_watts{host="gpu-host",gpu="0",name="NVIDIA H100 80GB HBM3"} 250.5"#,
        r#"trainyard_host_up{host="gpu-host"} 1"#,
        r#"trainyard_host_health{host="gpu-host",health="healthy"} 1"#,
        r#"trainyard_hosts{health="healthy"} 1"#,
        r#"trainyard_jobs{status="queued",priority="high"} 1"#,
        r#"trainyard_jobs{status="running",priority="normal"} 0"#,
        r#"trainyard_heartbeats_total{result="accepted"} 1"#,
        "trainyard_job_queue_wait_seconds_count 0",
        r#"trainyard_webhook_deliveries_total{result="failed"} 0"#,
    ] {
        assert!(
            page.lines().any(|l| l == line),
            "missing {line:?} in\n{page}"
        );
    }

    dashboard_uses_only_served_metrics(&page);

    let Some(promtool) = tool("promtool") else {
        return;
    };
    let mut child = tokio::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool starts");
    let mut stdin = child.stdin.take().expect("promtool's stdin");
    stdin
        .write_all(page.as_bytes())
        .await
        .expect("the page is written");
    drop(stdin);
    let out = child.wait_with_output().await.expect("promtool ends");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `trainyard_…` name the Grafana dashboard in deploy/ queries is a
/// family (or a histogram's `_bucket`/`_sum`/`_count`) the page has.
fn dashboard_uses_only_served_metrics(page: &str) {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/trainyard.json");
    let dashboard = std::fs::read_to_string(&file).expect("the dashboard is readable");
    let served: Vec<&str> = page
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let mut used = 0;
    for (at, _) in dashboard.match_indices("trainyard_") {
        let name: String = dashboard[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name);
        if name == "trainyard_" || family == "trainyard" {
            continue; // the dashboard's own tag and uid
        }
        assert!(
            served.contains(&family),
            "the dashboard queries {name}, which /metrics lacks"
        );
        used += 1;
    }
    assert!(used > 10, "the dashboard names Trainyard's metrics");
}

/// A free port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn a_real_prometheus_scrapes_the_server_with_the_metrics_token() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let (dir, server) = server().await;
    let port = free_port();
    let config_file = dir.path().join("prometheus.yml");
    std::fs::write(
        &config_file,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: trainyard\n    metrics_path: /metrics\n\
             \x20   authorization:\n      credentials: {METRICS_TOKEN}\n\
             \x20   static_configs:\n      - targets: ['{}']\n",
            server.addr
        ),
    )
    .expect("the config is written");
    let mut child = tokio::process::Command::new(prometheus)
        .arg(format!("--config.file={}", config_file.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");

    let client = reqwest::Client::new();
    let query = format!("http://127.0.0.1:{port}/api/v1/query");
    let result: serde_json::Value = until("prometheus has scraped a GPU metric", || async {
        let answer = client
            .get(&query)
            .query(&[("query", "trainyard_gpu_memory_total_bytes")])
            .send()
            .await
            .ok()?;
        let body: serde_json::Value = answer.json().await.ok()?;
        let results = body["data"]["result"].as_array()?;
        (results.len() == 2).then(|| body["data"]["result"].clone())
    })
    .await;
    let mut names: Vec<String> = result
        .as_array()
        .into_iter()
        .flatten()
        .map(|series| {
            let labels = &series["metric"];
            assert_eq!(labels["host"], "gpu-host", "{series}");
            assert_eq!(labels["job"], "trainyard", "{series}");
            assert_eq!(series["value"][1], "85899345920", "{series}");
            format!(
                "{}={}",
                labels["gpu"].as_str().unwrap_or(""),
                labels["name"].as_str().unwrap_or("")
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["0=NVIDIA H100 80GB HBM3", r#"1=Odd "quoted" \ name"#],
        "label values arrive unescaped, as sent"
    );
    // The scrape itself is healthy (the token was accepted).
    let up: serde_json::Value = client
        .get(&query)
        .query(&[("query", "up{job=\"trainyard\"}")])
        .send()
        .await
        .expect("the query is sent")
        .json()
        .await
        .expect("JSON");
    assert_eq!(up["data"]["result"][0]["value"][1], "1", "{up}");
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
}
