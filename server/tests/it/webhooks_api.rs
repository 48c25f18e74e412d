//! Notifications over REST: bad input answered with the field, a webhook
//! given by flag told about a job a real agent ran, deliveries listed.

use std::sync::{Arc, Mutex};

use axum::routing::post;
use axum::Router;
use trainyard_core::protocol::{codes, paths};
use trainyard_core::webhooks::{
    DeliveriesPage, DeliveryStatus, DeliveryView, NotifyEvent, WebhookKind, WebhookView,
};
use trainyard_core::{ApiErrorBody, JobStatus};
use trainyard_engine::{FlagWebhook, NotifySettings};

use crate::harness::{config, get_json, until, TestServer, KEY};
use crate::jobs_support::{agent_config, submit, wait_status};
use crate::killable::KillableAgent;

/// A receiver answering 200 and keeping every body.
async fn receiver() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let bodies: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let kept = bodies.clone();
    let app = Router::new().route(
        "/hook",
        post(move |body: String| {
            let kept = kept.clone();
            async move {
                kept.lock()
                    .expect("the lock")
                    .push(serde_json::from_str(&body).unwrap_or_default());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), bodies)
}

async fn post_webhook(server: &TestServer, body: serde_json::Value) -> reqwest::Response {
    server
        .client
        .post(server.url(&paths::webhooks()))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .expect("sent")
}

async fn refusal(answer: reqwest::Response, status: u16) -> ApiErrorBody {
    assert_eq!(answer.status(), status);
    answer.json().await.expect("an error body")
}

#[tokio::test]
async fn bad_webhooks_get_400_naming_the_field_and_unknown_ids_404() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), Some(KEY), Default::default())).await;

    let e = refusal(
        post_webhook(&server, serde_json::json!({"url": "not a url"})).await,
        400,
    )
    .await;
    assert_eq!(e.code, codes::BAD_WEBHOOK);
    assert!(e.message.starts_with("url: "), "{}", e.message);
    let e = refusal(
        post_webhook(&server, serde_json::json!({"url": "ftp://x/y"})).await,
        400,
    )
    .await;
    assert!(e.message.starts_with("url: "), "{}", e.message);
    let e = refusal(
        post_webhook(
            &server,
            serde_json::json!({"url": "http://127.0.0.1:9/h", "events": ["failed", "finished"]}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(e.code, codes::BAD_WEBHOOK);
    assert!(
        e.message.starts_with("events: ") && e.message.contains("\"finished\""),
        "{}",
        e.message
    );
    let e = refusal(
        post_webhook(
            &server,
            serde_json::json!({"url": "http://x/", "kind": "teams"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(e.code, codes::BAD_BODY);
    assert!(e.message.contains("teams"), "{}", e.message);

    let e = refusal(server.delete(&paths::webhook(41)).await, 404).await;
    assert_eq!(e.code, codes::WEBHOOK_NOT_FOUND);
    let e = refusal(
        server
            .client
            .post(server.url(&paths::webhook_test(41)))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("sent"),
        404,
    )
    .await;
    assert_eq!(e.code, codes::WEBHOOK_NOT_FOUND);
    let e = refusal(server.delete("/api/v1/webhooks/x").await, 400).await;
    assert_eq!(e.code, codes::BAD_QUERY);
    // Unauthorized without the key, like every API route.
    let answer = reqwest::Client::new()
        .get(server.url(&paths::webhooks()))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 401);
    let hooks: Vec<WebhookView> = server.get_json(&paths::webhooks()).await;
    assert!(hooks.is_empty());
}

#[tokio::test]
async fn a_flag_webhook_hears_about_a_job_a_real_agent_ran_and_deliveries_are_listed() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (slack_url, slack) = receiver().await;
    let (json_url, json) = receiver().await;
    let mut settings = config(dir.path(), Some(KEY), Default::default());
    settings.notify = NotifySettings {
        webhooks: vec![FlagWebhook {
            url: slack_url,
            kind: WebhookKind::Slack,
            events: vec![NotifyEvent::Succeeded, NotifyEvent::SweepFinished],
        }],
        public_url: Some("http://trainyard.example:3000".into()),
        ..NotifySettings::default()
    };
    let server = TestServer::start(settings).await;
    let base = server.url("");

    // One added over the API, for project `p` only, test-sent first.
    let answer = post_webhook(
        &server,
        serde_json::json!({"url": json_url, "project": "p", "events": ["succeeded"]}),
    )
    .await;
    assert_eq!(answer.status(), 201);
    let added: WebhookView = answer.json().await.expect("the webhook");
    assert_eq!(
        (added.kind, added.source.as_str()),
        (WebhookKind::Json, "api")
    );
    let tested: DeliveryView = server
        .client
        .post(server.url(&paths::webhook_test(added.id)))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("the delivery");
    assert_eq!(
        (tested.event, tested.status),
        (NotifyEvent::Test, DeliveryStatus::Delivered)
    );

    let work = tempfile::tempdir().expect("a work dir");
    let agent = KillableAgent::start(agent_config(base.clone(), "agent-1", 0, work.path()));
    let job = submit(
        &base,
        "project: p\nname: hello\ncommand: [\"true\"]\ngpus: 0\n",
    )
    .await
    .jobs[0]
        .id;
    wait_status(&base, job, JobStatus::Succeeded).await;

    let texts: Vec<String> = until(
        "the Slack receiver heard about the job and its sweep",
        || async {
            let bodies = slack.lock().expect("the lock").clone();
            (bodies.len() >= 2).then(|| {
                bodies
                    .iter()
                    .map(|b| b["text"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
        },
    )
    .await;
    let line = texts
        .iter()
        .find(|t| t.contains("succeeded"))
        .expect("a job line");
    for part in [
        format!("job {job} \"hello\""),
        "(project p)".into(),
        "on agent-1".into(),
        format!("<http://trainyard.example:3000/jobs/{job}>"),
    ] {
        assert!(line.contains(&part), "{part:?} missing from {line:?}");
    }
    assert!(
        texts
            .iter()
            .any(|t| t.contains("sweep") && t.contains("1 succeeded")),
        "{texts:?}"
    );
    until("the JSON receiver heard about the job", || async {
        let bodies = json.lock().expect("the lock").clone();
        bodies
            .iter()
            .find(|b| b["event"] == "succeeded")
            .map(|b| assert_eq!(b["job"]["id"], job))
    })
    .await;

    let page: DeliveriesPage = until("every delivery settled", || async {
        let page: DeliveriesPage = get_json(&base, &paths::webhook_deliveries()).await;
        (page.deliveries.len() >= 4
            && page
                .deliveries
                .iter()
                .all(|d| d.status == DeliveryStatus::Delivered))
        .then_some(page)
    })
    .await;
    assert!(page.deliveries.iter().any(|d| d.job_id == Some(job)));
    let hooks: Vec<WebhookView> = server.get_json(&paths::webhooks()).await;
    assert_eq!(hooks.len(), 2);
    assert!(hooks.iter().all(|h| h.last_delivery.is_some()), "{hooks:?}");
    let flag = hooks
        .iter()
        .find(|h| h.source == "flag")
        .expect("the flag's webhook");
    let one: DeliveriesPage = get_json(
        &base,
        &format!(
            "{}?webhook={}&limit=1",
            paths::webhook_deliveries(),
            flag.id
        ),
    )
    .await;
    assert_eq!(one.deliveries.len(), 1);
    assert_eq!(one.deliveries[0].webhook_id, flag.id);

    assert_eq!(server.delete(&paths::webhook(added.id)).await.status(), 204);
    agent.kill();
    server.stop().await.expect("a clean stop");
}

#[tokio::test]
async fn the_settings_page_shows_a_failed_delivery_and_its_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = TestServer::start(config(dir.path(), None, Default::default())).await;
    // Nothing listens there: the connection is refused.
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().expect("its address");
        drop(listener);
        format!("http://{addr}/hook")
    };
    let added: WebhookView = post_webhook(
        &server,
        serde_json::json!({"url": refused, "kind": "slack"}),
    )
    .await
    .json()
    .await
    .expect("the webhook");
    let tested: DeliveryView = server
        .client
        .post(server.url(&paths::webhook_test(added.id)))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("the delivery");
    assert_eq!(
        (tested.status, tested.attempts),
        (DeliveryStatus::Failed, 1)
    );
    let error = tested.last_error.clone().unwrap_or_default();
    assert!(error.starts_with("could not connect"), "{error}");

    let html = server
        .client
        .get(server.url("/settings"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("the page");
    for part in [
        "Notifications",
        refused.as_str(),
        "test failed after 1 attempt: could not connect",
    ] {
        assert!(
            html.contains(part),
            "{part:?} missing from the Settings page"
        );
    }
}
