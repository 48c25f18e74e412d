//! Where pages render: each request on one thread, on a few single-threaded
//! runtimes of its own.
//!
//! Leptos's reactive graph can deadlock when one render's tasks run on two
//! threads at once. A Suspense's effect, holding its own lock, waits for a
//! resource's lock to unsubscribe from it, while the resource's task,
//! holding that lock, waits for the effect's to tell it a load began or
//! ended (leptos-rs/leptos#4673). Both threads then block in the kernel for
//! good; on a 2-core server those are all of tokio's workers, and the whole
//! server stops answering. Sixteen concurrent loads of one Job page did
//! that here within a few rounds. On one thread the two cannot interleave.
//!
//! The page's body streams back through a channel as it is rendered, so
//! each Suspense's chunk still reaches the browser when it resolves.
//! Static files (`/pkg`, `/assets`) are served where they arrive.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use crate::ui::is_static_file;

type Render = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Body chunks buffered between a render thread and the connection.
const CHUNKS_IN_FLIGHT: usize = 16;

/// A few threads, each running a single-threaded runtime that takes
/// renders from a queue. The threads end when this is dropped.
pub struct RenderThreads {
    queues: Vec<mpsc::UnboundedSender<Render>>,
    next: AtomicUsize,
}

/// Render threads by default: one per core, at most this many (renders
/// mostly wait on the database).
const MOST_BY_DEFAULT: usize = 8;

impl RenderThreads {
    /// `count` threads, or by default one per core up to
    /// [`MOST_BY_DEFAULT`]. None for `Some(0)`: pages then render on the
    /// caller's runtime.
    pub fn start(count: Option<usize>) -> std::io::Result<Option<Arc<RenderThreads>>> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let count = count.unwrap_or(cores.min(MOST_BY_DEFAULT));
        if count == 0 {
            return Ok(None);
        }
        let mut queues = Vec::with_capacity(count);
        for index in 0..count {
            let (queue, mut renders) = mpsc::unbounded_channel::<Render>();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            std::thread::Builder::new()
                .name(format!("render-{index}"))
                .spawn(move || {
                    runtime.block_on(async move {
                        while let Some(render) = renders.recv().await {
                            tokio::spawn(render);
                        }
                    })
                })?;
            queues.push(queue);
        }
        Ok(Some(Arc::new(RenderThreads {
            queues,
            next: AtomicUsize::new(0),
        })))
    }

    /// How many threads render.
    pub fn count(&self) -> usize {
        self.queues.len()
    }

    /// Hands `render` to the next thread in turn. False when that thread
    /// has stopped (it panicked outside a render).
    fn spawn(&self, render: Render) -> bool {
        let turn = self.next.fetch_add(1, Ordering::Relaxed) % self.queues.len();
        self.queues[turn].send(render).is_ok()
    }
}

/// Middleware: runs the rest of the request (the Leptos handler and every
/// task it spawns) on one render thread, and streams its body back.
pub async fn render_on_one_thread(
    State(threads): State<Option<Arc<RenderThreads>>>,
    request: Request,
    next: Next,
) -> Response {
    let threads = match threads {
        Some(threads) if !is_static_file(request.uri().path()) => threads,
        _ => return next.run(request).await,
    };
    let (head_tx, head_rx) = oneshot::channel::<Response>();
    let spawned = threads.spawn(Box::pin(async move {
        let (parts, body) = next.run(request).await.into_parts();
        let (chunks, chunk_rx) = mpsc::channel::<Result<Bytes, axum::Error>>(CHUNKS_IN_FLIGHT);
        let streamed = Body::from_stream(ReceiverStream::new(chunk_rx));
        if head_tx.send(Response::from_parts(parts, streamed)).is_err() {
            return;
        }
        let mut body = body.into_data_stream();
        while let Some(chunk) = body.next().await {
            // The client left: stop rendering.
            if chunks.send(chunk).await.is_err() {
                break;
            }
        }
    }));
    let stopped = || {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the page's render thread stopped; see the server's log",
        )
            .into_response()
    };
    if !spawned {
        return stopped();
    }
    head_rx.await.unwrap_or_else(|_| stopped())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_render_and_all_it_spawns_run_on_one_thread() {
        let threads = RenderThreads::start(Some(2))
            .expect("threads start")
            .expect("two threads");
        assert_eq!(threads.count(), 2);
        assert!(RenderThreads::start(Some(0))
            .expect("nothing to start")
            .is_none());
        let (tx, rx) = oneshot::channel();
        assert!(threads.spawn(Box::pin(async move {
            let here = std::thread::current().id();
            let spawned = tokio::spawn(async { std::thread::current().id() });
            let _ = tx.send((here, spawned.await.expect("the task ends")));
        })));
        let (render, task) = rx.await.expect("the render ran");
        assert_eq!(render, task);
        assert_ne!(render, std::thread::current().id());
    }
}
