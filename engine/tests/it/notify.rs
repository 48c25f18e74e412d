//! Notifications against real HTTP receivers the tests start: payload
//! shapes, retries with backoff, receivers that fail, hang or refuse, and
//! the queue never waiting on any of them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use trainyard_core::webhooks::{
    DeliveryStatus, DeliveryView, NewWebhook, NotifyEvent, WebhookKind, WebhookPayload,
};
use trainyard_core::work::{AttemptRef, FinishedReport, Outcome};
use trainyard_core::{JobStatus, SubmitOptions};
use trainyard_engine::{Engine, EngineError, JobSettings, NotifySettings};

use crate::fixtures::{engine_with_settings, running_job, TestEngine};

/// How a test receiver answers.
#[derive(Clone, Copy)]
enum Behaviour {
    Ok,
    /// 500 for the first `n` requests, then 200.
    FailFirst(usize),
    /// Never answers.
    Hang,
}

/// A receiver on a free port recording every body it gets.
struct Receiver {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Receiver {
        let bodies: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
        let state = (bodies.clone(), behaviour);
        let app = Router::new().route(
            "/hook",
            post(
                |State((bodies, behaviour)): State<(
                    Arc<Mutex<Vec<serde_json::Value>>>,
                    Behaviour,
                )>,
                 body: String| async move {
                    let seen = {
                        let mut b = bodies.lock().expect("the receiver's lock");
                        b.push(serde_json::from_str(&body).unwrap_or_default());
                        b.len()
                    };
                    match behaviour {
                        Behaviour::Ok => StatusCode::OK,
                        Behaviour::FailFirst(n) if seen <= n => StatusCode::INTERNAL_SERVER_ERROR,
                        Behaviour::FailFirst(_) => StatusCode::NO_CONTENT,
                        Behaviour::Hang => {
                            std::future::pending::<()>().await;
                            StatusCode::OK
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let addr = listener.local_addr().expect("its address");
        tokio::spawn(async move { axum::serve(listener, app.with_state(state)).await });
        Receiver { addr, bodies }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().expect("the receiver's lock").clone()
    }
}

/// An address nothing listens on: bound, then let go.
async fn refusing_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let addr = listener.local_addr().expect("its address");
    drop(listener);
    format!("http://{addr}/hook")
}

/// An engine whose deliveries retry fast: 3 attempts, 20 ms then 40 ms
/// apart, each attempt given `timeout`.
async fn engine_notifying(timeout: Duration) -> TestEngine {
    engine_with_settings(|s| {
        s.notify = NotifySettings {
            public_url: Some("https://trainyard.lab/".into()),
            timeout,
            max_attempts: 3,
            backoff: Duration::from_millis(20),
            ..NotifySettings::default()
        };
        s.jobs = JobSettings {
            lease: Duration::from_millis(150),
            ..JobSettings::default()
        };
    })
    .await
}

async fn add(engine: &Engine, url: &str, kind: WebhookKind, events: Option<&[&str]>) -> i64 {
    engine
        .add_webhook(&NewWebhook {
            url: url.into(),
            kind,
            project: None,
            events: events.map(|e| e.iter().map(|s| s.to_string()).collect()),
        })
        .await
        .expect("the webhook is saved")
        .id
}

fn finished(outcome: Outcome, exit_code: i32) -> FinishedReport {
    FinishedReport {
        outcome,
        exit_code: Some(exit_code),
        signal: None,
        error: None,
        duration_ms: 125_000,
        log_size: 0,
    }
}

/// Polls every 20 ms, for up to 20 s, until `probe` yields a value.
async fn until<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut probe: impl FnMut() -> F,
) -> T {
    for _ in 0..1000 {
        if let Some(v) = probe().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// The deliveries of webhook `id` once every one of them has ended and
/// there are at least `n`.
async fn settled(engine: &Engine, id: i64, n: usize) -> Vec<DeliveryView> {
    until(
        &format!("{n} settled deliveries of webhook {id}"),
        || async {
            let d = engine
                .webhook_deliveries(Some(id), None)
                .await
                .expect("the deliveries are listed");
            (d.len() >= n && d.iter().all(|d| d.status != DeliveryStatus::Pending)).then_some(d)
        },
    )
    .await
}

#[tokio::test]
async fn a_finished_job_notifies_json_and_slack_once_each_and_its_sweep_once() {
    let engine = engine_notifying(Duration::from_secs(5)).await;
    let json = Receiver::start(Behaviour::Ok).await;
    let slack = Receiver::start(Behaviour::Ok).await;
    let json_id = add(&engine, &json.url(), WebhookKind::Json, None).await;
    let slack_id = add(&engine, &slack.url(), WebhookKind::Slack, Some(&["failed"])).await;
    let elsewhere = engine
        .add_webhook(&NewWebhook {
            url: json.url(),
            project: Some("another-project".into()),
            ..NewWebhook::default()
        })
        .await
        .expect("the webhook is saved")
        .id;

    let at = running_job(&engine).await;
    engine
        .attempt_finished(at, finished(Outcome::Failed, 3))
        .await
        .expect("the end is accepted");
    // A repeated report (the agent retrying) changes nothing and notifies nothing.
    engine
        .attempt_finished(at, finished(Outcome::Failed, 3))
        .await
        .expect("a repeated end is acknowledged");

    let deliveries = settled(&engine, json_id, 2).await;
    let slack_deliveries = settled(&engine, slack_id, 1).await;
    // Give a duplicate time to show up, if there were one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let bodies = json.bodies();
    assert_eq!(
        bodies.len(),
        2,
        "one job event and one sweep event: {bodies:?}"
    );
    let payloads: Vec<WebhookPayload> = bodies
        .iter()
        .map(|b| serde_json::from_value(b.clone()).expect("a WebhookPayload"))
        .collect();
    let job_event = payloads
        .iter()
        .find(|p| p.event == NotifyEvent::Failed)
        .expect("a failed event");
    let job = job_event.job.as_ref().expect("the job");
    assert_eq!(job.id, at.job_id);
    assert_eq!(job.status, "failed");
    assert_eq!(job.host.as_deref(), Some("h"));
    assert_eq!(job.exit_code, Some(3));
    assert_eq!(job.duration_ms, Some(125_000));
    assert_eq!(
        job_event.url.as_deref(),
        Some(format!("https://trainyard.lab/jobs/{}", at.job_id).as_str())
    );
    let sweep_event = payloads
        .iter()
        .find(|p| p.event == NotifyEvent::SweepFinished)
        .expect("a sweep_finished event");
    let sweep = sweep_event.sweep.as_ref().expect("the sweep");
    assert_eq!((sweep.jobs, sweep.failed), (1, 1));

    let slack_bodies = slack.bodies();
    assert_eq!(slack_bodies.len(), 1, "only `failed`: {slack_bodies:?}");
    let object = slack_bodies[0].as_object().expect("a JSON object");
    assert_eq!(object.len(), 1, "Slack gets only text: {object:?}");
    let text = object["text"].as_str().expect("text");
    for part in [
        format!("job {}", at.job_id),
        "(project default)".to_string(),
        "failed on h".into(),
        "after 2 min 5 s".into(),
        format!("<https://trainyard.lab/jobs/{}>", at.job_id),
    ] {
        assert!(text.contains(&part), "{part:?} missing from {text:?}");
    }

    for d in deliveries.iter().chain(&slack_deliveries) {
        assert_eq!(d.status, DeliveryStatus::Delivered);
        assert_eq!(d.attempts, 1);
    }
    assert!(engine
        .webhook_deliveries(Some(elsewhere), None)
        .await
        .expect("listed")
        .is_empty());
    let hooks = engine.webhooks().await.expect("listed");
    let shown = hooks.iter().find(|h| h.id == slack_id).expect("listed");
    assert_eq!(
        shown.last_delivery.as_ref().map(|d| d.status),
        Some(DeliveryStatus::Delivered)
    );
}

#[tokio::test]
async fn a_receiver_answering_500_is_retried_with_backoff_then_marked_failed() {
    let engine = engine_notifying(Duration::from_secs(5)).await;
    let flaky = Receiver::start(Behaviour::FailFirst(1)).await;
    let broken = Receiver::start(Behaviour::FailFirst(usize::MAX)).await;
    let flaky_id = add(
        &engine,
        &flaky.url(),
        WebhookKind::Json,
        Some(&["succeeded"]),
    )
    .await;
    let broken_id = add(
        &engine,
        &broken.url(),
        WebhookKind::Slack,
        Some(&["succeeded"]),
    )
    .await;

    let at = running_job(&engine).await;
    engine
        .attempt_finished(at, finished(Outcome::Succeeded, 0))
        .await
        .expect("the end is accepted");

    let flaky_d = settled(&engine, flaky_id, 1).await;
    assert_eq!(flaky_d[0].status, DeliveryStatus::Delivered);
    assert_eq!(flaky_d[0].attempts, 2, "{flaky_d:?}");
    assert_eq!(flaky_d[0].http_status, Some(204));
    assert_eq!(flaky.bodies().len(), 2);

    let broken_d = settled(&engine, broken_id, 1).await;
    assert_eq!(broken_d[0].status, DeliveryStatus::Failed);
    assert_eq!(
        broken_d[0].attempts, 3,
        "every attempt was made: {broken_d:?}"
    );
    assert_eq!(broken_d[0].http_status, Some(500));
    let error = broken_d[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("HTTP 500"), "{error}");
    assert_eq!(broken.bodies().len(), 3);

    let page = engine.prometheus().await.expect("the metrics page");
    assert!(
        page.contains("trainyard_webhook_deliveries_total{result=\"failed\"} 1"),
        "{page}"
    );
    assert!(page.contains("trainyard_webhook_deliveries_total{result=\"delivered\"} 1"));
    // One 500 for the flaky receiver, three for the broken one.
    assert!(page.contains("trainyard_webhook_attempts_total{result=\"error\"} 4"));
    assert!(page.contains("trainyard_webhook_attempts_total{result=\"ok\"} 1"));
}

#[tokio::test]
async fn a_hanging_receiver_delays_no_other_webhook_and_times_out() {
    // Each attempt may take 2 s; the hanging receiver's first attempt is
    // still running when the other webhook's delivery is done.
    let engine = engine_notifying(Duration::from_secs(2)).await;
    let hanging = Receiver::start(Behaviour::Hang).await;
    let ok = Receiver::start(Behaviour::Ok).await;
    let refused = refusing_url().await;
    let hanging_id = add(
        &engine,
        &hanging.url(),
        WebhookKind::Json,
        Some(&["succeeded"]),
    )
    .await;
    let ok_id = add(&engine, &ok.url(), WebhookKind::Json, Some(&["succeeded"])).await;
    let refused_id = add(&engine, &refused, WebhookKind::Slack, Some(&["succeeded"])).await;

    let at = running_job(&engine).await;
    engine
        .attempt_finished(at, finished(Outcome::Succeeded, 0))
        .await
        .expect("the end is accepted");

    let delivered = settled(&engine, ok_id, 1).await;
    assert_eq!(delivered[0].status, DeliveryStatus::Delivered);
    let refused_d = settled(&engine, refused_id, 1).await;
    assert_eq!(refused_d[0].status, DeliveryStatus::Failed);
    assert_eq!(refused_d[0].attempts, 3);
    let error = refused_d[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("could not connect"), "{error}");

    let hung = settled(&engine, hanging_id, 1).await;
    assert_eq!(hung[0].status, DeliveryStatus::Failed);
    let error = hung[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("timed out"), "{error}");
    assert_eq!(
        hanging.bodies().len(),
        3,
        "each attempt reached the receiver"
    );
}

#[tokio::test]
async fn no_webhook_ever_blocks_dispatch_or_cancels() {
    // One attempt in flight at a time, a queue of two events, and a
    // receiver that never answers within the 30 s each attempt may take.
    let engine = engine_with_settings(|s| {
        s.notify = NotifySettings {
            timeout: Duration::from_secs(30),
            queue_capacity: 2,
            concurrency: 1,
            ..NotifySettings::default()
        };
    })
    .await;
    let hanging = Receiver::start(Behaviour::Hang).await;
    add(&engine, &hanging.url(), WebhookKind::Json, None).await;

    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(crate::fixtures::job(&engine).await);
    }
    // Every cancel is a terminal transition with a webhook to call; none
    // of them waits for it. (The bound only turns a hang into a failure.)
    tokio::time::timeout(Duration::from_secs(60), async {
        for id in &ids {
            engine
                .cancel_job(*id)
                .await
                .expect("the cancel is accepted");
        }
    })
    .await
    .expect("cancels never wait on webhooks");
    for id in &ids {
        assert_eq!(
            engine.job(*id).await.expect("the job").job.status,
            JobStatus::Cancelled
        );
    }
    // And the queue still hands out work.
    let at: AttemptRef = tokio::time::timeout(Duration::from_secs(60), running_job(&engine))
        .await
        .expect("dispatch never waits on webhooks");
    assert_eq!(at.attempt, 1);
    let page = engine.prometheus().await.expect("the metrics page");
    assert!(
        page.contains("trainyard_webhook_deliveries_in_flight"),
        "{page}"
    );
}

#[tokio::test]
async fn a_lost_job_notifies_lost() {
    let engine = engine_notifying(Duration::from_secs(5)).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let id = add(&engine, &receiver.url(), WebhookKind::Json, Some(&["lost"])).await;
    let _at = running_job(&engine).await;
    engine.clock.advance(Duration::from_millis(300));
    engine.expire_leases().await;
    let d = settled(&engine, id, 1).await;
    assert_eq!(d[0].event, NotifyEvent::Lost);
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["job"]["status"], "lost");
}

#[tokio::test]
async fn bad_webhooks_are_refused_naming_the_field() {
    let engine = engine_notifying(Duration::from_secs(5)).await;
    let field = |r: Result<_, EngineError>| match r {
        Err(EngineError::BadWebhook { field, message }) => (field, message),
        other => panic!("expected bad_webhook, got {other:?}"),
    };
    let (f, _) = field(
        engine
            .add_webhook(&NewWebhook {
                url: "hooks.example.com/x".into(),
                ..NewWebhook::default()
            })
            .await,
    );
    assert_eq!(f, "url");
    let (f, message) = field(
        engine
            .add_webhook(&NewWebhook {
                url: "http://127.0.0.1:9/x".into(),
                events: Some(vec!["failed".into(), "exploded".into()]),
                ..NewWebhook::default()
            })
            .await,
    );
    assert_eq!(f, "events");
    assert!(message.contains("exploded"), "{message}");
    assert!(matches!(
        engine.delete_webhook(999).await,
        Err(EngineError::WebhookNotFound(999))
    ));
    assert!(engine.webhooks().await.expect("listed").is_empty());
}

#[tokio::test]
async fn a_test_send_reports_how_it_went() {
    let engine = engine_notifying(Duration::from_secs(5)).await;
    let receiver = Receiver::start(Behaviour::Ok).await;
    let id = add(&engine, &receiver.url(), WebhookKind::Slack, None).await;
    let d = engine.test_webhook(id).await.expect("sent");
    assert_eq!(
        (d.status, d.attempts, d.event),
        (DeliveryStatus::Delivered, 1, NotifyEvent::Test)
    );
    let text = receiver.bodies()[0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(text.contains("test notification"), "{text}");

    let refused = add(&engine, &refusing_url().await, WebhookKind::Json, None).await;
    let d = engine.test_webhook(refused).await.expect("sent");
    assert_eq!((d.status, d.attempts), (DeliveryStatus::Failed, 1));
    engine.delete_webhook(refused).await.expect("deleted");
    assert!(matches!(
        engine.test_webhook(refused).await,
        Err(EngineError::WebhookNotFound(_))
    ));
    // Submitting still works with webhooks configured (nothing to notify yet).
    engine
        .submit("command: x\n", SubmitOptions::default())
        .await
        .expect("accepted");
}

#[tokio::test]
async fn webhooks_from_flags_are_stored_and_replaced_at_start() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let open = |urls: Vec<&str>| {
        let mut settings = crate::fixtures::on_disk(dir.path());
        settings.notify.webhooks = urls
            .into_iter()
            .map(|url| trainyard_engine::FlagWebhook {
                url: url.into(),
                kind: WebhookKind::Slack,
                events: vec![NotifyEvent::Failed],
            })
            .collect();
        Engine::open(settings)
    };
    let engine = open(vec!["http://a.example/1", "http://b.example/2"])
        .await
        .expect("opens");
    let hooks = engine.webhooks().await.expect("listed");
    assert_eq!(hooks.len(), 2);
    assert!(hooks
        .iter()
        .all(|h| h.source == "flag" && h.project.is_none()));
    let kept = hooks[1].id;
    engine.close().await;
    drop(engine);
    let engine = open(vec!["http://b.example/2"]).await.expect("opens again");
    let hooks = engine.webhooks().await.expect("listed");
    assert_eq!(hooks.len(), 1);
    assert_eq!(
        hooks[0].id, kept,
        "an unchanged flag keeps its webhook and history"
    );
    engine.close().await;
    drop(engine);
    let bad = open(vec!["not-a-url"]).await;
    assert!(matches!(
        bad,
        Err(EngineError::BadWebhook { field: "url", .. })
    ));
}
