//! A stand-in Trainyard server for the agent's end-to-end tests: records
//! every heartbeat and job request and answers however a test tells it to.

mod files;
mod jobs;
mod work;

pub use files::{FileRequest, Op};
pub use jobs::{job, Setup, WAIT_FOR_GO};
pub use work::Work;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};
use trainyard_agent::{run, AgentError, AgentSettings, BackoffPolicy};
use trainyard_core::protocol::codes::{INVALID_HEARTBEAT, OFFSET_MISMATCH};
use trainyard_core::protocol::paths::{route, API_PREFIX};
use trainyard_core::work::OffsetMismatch;
use trainyard_core::{ApiErrorBody, Heartbeat};

/// How long tests wait for something that should happen within milliseconds.
pub const DEADLINE: Duration = Duration::from_secs(10);
/// How often [`eventually`] looks again.
const POLL_EVERY: Duration = Duration::from_millis(5);

/// Polls `check` until it finds what it looks for and returns that; panics
/// naming `what` at the [`DEADLINE`]. Every wait for a condition in these
/// tests goes through here rather than sleeping a guessed time.
pub async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Short retry waits so simulated outages end quickly.
pub const FAST_BACKOFF: BackoffPolicy = BackoffPolicy {
    base: Duration::from_millis(10),
    cap: Duration::from_millis(100),
};

/// The agent running in the background, with the switch that stops it.
pub struct RunningAgent {
    pub stop: oneshot::Sender<()>,
    pub task: JoinHandle<Result<(), AgentError>>,
}

impl RunningAgent {
    /// Stops the agent and checks that `run` returns `Ok`.
    pub async fn shut_down(self) {
        let _ = self.stop.send(());
        match timeout(DEADLINE, self.task).await {
            Ok(Ok(Ok(()))) => {}
            other => panic!("run() did not stop cleanly: {other:?}"),
        }
    }

    /// Resolves the shutdown future and checks `run` returns `Ok` promptly.
    pub async fn shut_down_promptly(self) {
        let _ = self.stop.send(());
        match timeout(Duration::from_secs(2), self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("run() failed instead of stopping cleanly: {e}"),
            Ok(Err(e)) => panic!("the agent task panicked: {e}"),
            Err(_) => panic!("run() ignored shutdown"),
        }
    }

    /// Ends the agent like a crash would: no shutdown, nothing reported.
    pub async fn crash(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Starts [`run`] with `config` on a task of its own.
pub fn start(config: AgentSettings) -> RunningAgent {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run(config, async {
        let _ = stopped.await;
    }));
    RunningAgent { stop, task }
}

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
    /// The job side: assignments, polls, logs, reports.
    work: Work,
}

/// What every handler shares.
#[derive(Default)]
struct Shared {
    script: Mutex<Script>,
    /// Wakes held polls when work, a stop order or a newer poll arrives.
    wake: Notify,
}

type SharedState = State<Arc<Shared>>;

/// A running fake server; stops when dropped.
pub struct FakeServer {
    pub url: String,
    shared: Arc<Shared>,
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
        let shared = Arc::new(Shared {
            script: Mutex::new(Script {
                steady: Some(answer),
                ..Script::default()
            }),
            wake: Notify::new(),
        });
        // The same patterns the real router mounts, so the two cannot drift.
        let api = Router::new()
            .route(route::AGENT_HEARTBEAT, post(heartbeat))
            .route(route::AGENT_POLL, post(work::poll))
            .route(route::ATTEMPT_STARTED, post(work::started))
            .route(route::ATTEMPT_LOG, put(work::append_log))
            .route(route::ATTEMPT_FINISHED, post(work::finished))
            .route(route::ATTEMPT_FILES, get(files::status))
            .route(route::ATTEMPT_FILE, put(files::append))
            .route(route::ATTEMPT_UPLOAD, put(files::upload));
        let app = Router::new()
            .nest(API_PREFIX, api)
            // Upload chunks are 4 MiB, past axum's default limit.
            .layer(DefaultBodyLimit::max(16 * 1024 * 1024))
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, task }
    }

    /// Answers the next requests with `answers`, in order, before going back
    /// to the steady answer.
    pub fn queue(&self, answers: impl IntoIterator<Item = Answer>) {
        self.script().queued.extend(answers);
    }

    pub fn received(&self) -> Vec<Received> {
        self.script().received.clone()
    }

    /// Changes the job-side state (offers work, takes the server down…) and
    /// wakes held polls so they see it.
    pub fn work<T>(&self, change: impl FnOnce(&mut Work) -> T) -> T {
        let result = change(&mut self.script().work);
        self.shared.wake.notify_waiters();
        result
    }

    /// Polls until `check` finds what it looks for; panics with `what` at
    /// the deadline.
    pub async fn wait_until<T>(&self, what: &str, mut check: impl FnMut(&Work) -> Option<T>) -> T {
        eventually(what, || check(&self.script().work)).await
    }

    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        lock(&self.shared.script)
    }

    /// Polls until at least `count` requests arrived; panics at the deadline.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        eventually(&format!("{count} heartbeats"), || {
            let received = self.received();
            (received.len() >= count).then_some(received)
        })
        .await
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn heartbeat(State(shared): SharedState, headers: HeaderMap, body: Bytes) -> Response {
    let heartbeat = serde_json::from_slice::<Heartbeat>(&body).map_err(|e| e.to_string());
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let answer = {
        let mut script = lock(&shared.script);
        if script.work.down {
            return unavailable();
        }
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
                error(StatusCode::BAD_REQUEST, INVALID_HEARTBEAT, &message)
            }
        },
        Answer::Error {
            status,
            code,
            message,
        } => error(status, code, message),
    }
}

fn unavailable() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the server is down (test)",
    )
}

/// 409 `offset_mismatch` with the size there is: "`whose` N bytes".
fn offset_mismatch(size: u64, whose: &str) -> Response {
    let mismatch = OffsetMismatch {
        code: OFFSET_MISMATCH.into(),
        message: format!("{whose} {size} bytes"),
        size,
    };
    (StatusCode::CONFLICT, Json(mismatch)).into_response()
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
        eventually(&format!("{count} connection attempts"), || {
            (*lock(&self.attempts) >= count).then_some(())
        })
        .await;
    }

    /// Ends the outage: returns the listener, still bound to the same port.
    pub async fn recover(self) -> TcpListener {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("the broken server hands its listener back")
    }
}

async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free local port")
}

fn local_addr(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .expect("a bound listener has an address")
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
