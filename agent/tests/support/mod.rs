//! A stand-in Trainyard server for the agent's end-to-end tests: records
//! every heartbeat and answers however a test tells it to.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use trainyard_core::{ApiErrorBody, Heartbeat};

/// How long tests wait for something that should happen within milliseconds.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// How the server answers a heartbeat.
#[derive(Debug, Clone)]
pub enum Answer {
    /// 204, or 400 if the heartbeat fails `Heartbeat::validate()` (like the
    /// real server).
    Accept,
    /// This status with an `ApiErrorBody`.
    Error {
        status: StatusCode,
        code: &'static str,
        message: &'static str,
    },
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub authorization: Option<String>,
    pub heartbeat: Result<Heartbeat, String>,
}

#[derive(Default)]
struct Script {
    /// Answers used first, one per request, before `steady` takes over.
    queued: VecDeque<Answer>,
    steady: Option<Answer>,
    received: Vec<Received>,
}

/// A running fake server; stops when dropped.
pub struct FakeServer {
    pub url: String,
    script: Arc<Mutex<Script>>,
    task: JoinHandle<()>,
}

impl FakeServer {
    pub async fn start(answer: Answer) -> Self {
        Self::serve(bind().await, answer)
    }

    /// Serves HTTP on an already bound listener (e.g. one a [`BrokenServer`]
    /// held during a simulated outage).
    pub fn serve(listener: TcpListener, answer: Answer) -> Self {
        let url = format!("http://{}", local_addr(&listener));
        let script = Arc::new(Mutex::new(Script {
            steady: Some(answer),
            ..Script::default()
        }));
        let app = Router::new()
            .route("/api/v1/agents/heartbeat", post(heartbeat))
            .with_state(Arc::clone(&script));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, script, task }
    }

    /// Answers the next requests with `answers`, in order, before going back
    /// to the steady answer.
    pub fn queue(&self, answers: impl IntoIterator<Item = Answer>) {
        lock(&self.script).queued.extend(answers);
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.script).received.clone()
    }

    /// Polls until at least `count` requests arrived; panics at the deadline.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let until = Instant::now() + DEADLINE;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < until,
                "only {} of {count} heartbeats arrived",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn heartbeat(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let heartbeat = serde_json::from_slice::<Heartbeat>(&body).map_err(|e| e.to_string());
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let answer = {
        let mut script = lock(&script);
        script.received.push(Received {
            at: Instant::now(),
            authorization,
            heartbeat: heartbeat.clone(),
        });
        script
            .queued
            .pop_front()
            .or_else(|| script.steady.clone())
            .unwrap_or(Answer::Accept)
    };
    match answer {
        Answer::Accept => match heartbeat.map(|h| h.validate().map_err(|e| e.to_string())) {
            Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
            Ok(Err(message)) | Err(message) => {
                error(StatusCode::BAD_REQUEST, "invalid_heartbeat", &message)
            }
        },
        Answer::Error {
            status,
            code,
            message,
        } => error(status, code, message),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(ApiErrorBody {
            code: code.into(),
            message: message.into(),
        }),
    )
        .into_response()
}

/// A server that is "down": it accepts TCP connections and closes them at
/// once, counting them, so a test can tell the agent has been failing.
pub struct BrokenServer {
    pub url: String,
    attempts: Arc<Mutex<usize>>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<TcpListener>,
}

impl BrokenServer {
    pub async fn start() -> Self {
        let listener = bind().await;
        let url = format!("http://{}", local_addr(&listener));
        let attempts = Arc::new(Mutex::new(0));
        let (stop, mut stopped) = oneshot::channel();
        let counter = Arc::clone(&attempts);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stopped => return listener,
                    accepted = listener.accept() => {
                        // Dropping the stream closes the connection unanswered.
                        if accepted.is_ok() {
                            *lock(&counter) += 1;
                        }
                    }
                }
            }
        });
        Self {
            url,
            attempts,
            stop,
            task,
        }
    }

    /// Polls until at least `count` connections were refused.
    pub async fn wait_for_attempts(&self, count: usize) {
        let until = Instant::now() + DEADLINE;
        while *lock(&self.attempts) < count {
            assert!(
                Instant::now() < until,
                "the agent stopped trying to connect"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Ends the outage: returns the listener, still bound to the same port.
    pub async fn recover(self) -> TcpListener {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(listener) => listener,
            Err(e) => panic!("broken server task failed: {e}"),
        }
    }
}

async fn bind() -> TcpListener {
    match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => panic!("cannot bind a local port: {e}"),
    }
}

fn local_addr(listener: &TcpListener) -> SocketAddr {
    match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => panic!("listener has no address: {e}"),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
