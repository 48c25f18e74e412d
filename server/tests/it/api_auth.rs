use trainyard_core::{ApiErrorBody, PROTOCOL_HEADER, PROTOCOL_VERSION};

use crate::harness::{config, start_agent, TestServer, KEY};

#[tokio::test]
async fn every_api_route_and_the_event_stream_require_the_key() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let routes = [
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/hosts"),
        ("GET", "/api/v1/events"),
        ("POST", "/api/v1/agents/heartbeat"),
        ("DELETE", "/api/v1/hosts/x"),
        ("GET", "/api/v1/no-such-route"),
    ];
    for (method, path) in routes {
        for token in [None, Some("wrong-key-0123456789"), Some("")] {
            let mut request = server
                .client
                .request(method.parse().expect("parse"), server.url(path));
            if let Some(t) = token {
                request = request.bearer_auth(t);
            }
            let answer = request.send().await.expect("the request is sent");
            assert_eq!(answer.status(), 401, "{method} {path} with {token:?}");
            assert_eq!(
                answer
                    .headers()
                    .get(PROTOCOL_HEADER)
                    .and_then(|v| v.to_str().ok()),
                Some(PROTOCOL_VERSION.to_string().as_str()),
                "even a 401 names the protocol version"
            );
            let body: ApiErrorBody = answer.json().await.expect("the answer is JSON");
            assert_eq!(body.code, "unauthorized");
            assert!(body.message.contains("TRAINYARD_TOKEN"), "{}", body.message);
        }
    }
    let ok = server
        .client
        .get(server.url("/api/v1/hosts"))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(ok.status(), 200);
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn an_agent_with_the_wrong_token_stops_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let (_stop, agent) = start_agent(&server, "intruder", 1, Some("not-the-key-0123456789"));
    let result = tokio::time::timeout(std::time::Duration::from_secs(10), agent)
        .await
        .unwrap_or_else(|_| panic!("agent should give up on 401"))
        .expect("the agent task ends");
    assert!(
        matches!(result, Err(trainyard_agent::AgentError::Unauthorized(_))),
        "{result:?}"
    );
    assert!(server.hosts().await.is_empty());
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn without_a_key_loopback_clients_need_no_token() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), None, Default::default())).await;
    let ok = server
        .client
        .get(server.url("/api/v1/health"))
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(ok.status(), 200);
    server.stop().await.expect("the server stops");
}

#[tokio::test]
async fn ui_pages_redirect_to_login_and_the_key_opens_them() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build");
    let page = client
        .get(server.url("/devices"))
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/login")
    );

    let wrong = client
        .post(server.url("/login"))
        .form(&[("api_key", "nope")])
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(
        wrong
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/login?error=wrong-key")
    );
    assert!(wrong.headers().get("set-cookie").is_none());

    let right = client
        .post(server.url("/login"))
        .form(&[("api_key", KEY)])
        .send()
        .await
        .expect("the request is sent");
    let cookie = right
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_else(|| panic!("no session cookie"))
        .to_string();
    assert!(
        !cookie.contains(KEY),
        "the cookie must not contain the key itself"
    );
    let hosts = client
        .get(server.url("/api/v1/hosts"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("the request is sent");
    assert_eq!(
        hosts.status(),
        200,
        "the session cookie also opens the API for the browser"
    );
    server.stop().await.expect("the server stops");
}
