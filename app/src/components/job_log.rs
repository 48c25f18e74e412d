//! A job's output, streamed live from `GET /api/v1/jobs/{id}/log/stream`.
//! Text is appended to the `<pre>` directly (never re-rendered), and the view
//! keeps to the bottom while the reader is there.

use leptos::html::Pre;
use leptos::prelude::*;

/// Where the stream is, for the line above the log.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
#[derive(Debug, Clone, PartialEq)]
pub enum LogState {
    Connecting,
    Streaming,
    Ended(String),
    Reconnecting(String),
}

impl LogState {
    fn text(&self) -> String {
        match self {
            LogState::Connecting => "connecting…".into(),
            LogState::Streaming => "live".into(),
            LogState::Ended(status) => format!("complete · job {status}"),
            LogState::Reconnecting(why) => format!("reconnecting… ({why})"),
        }
    }
}

#[component]
pub fn JobLog(id: i64) -> impl IntoView {
    let pre = NodeRef::<Pre>::new();
    let state = RwSignal::new(LogState::Connecting);
    follow::start(id, pre, state);
    view! {
        <section class="card log-card">
            <header class="card-head">
                <h2>"Output"</h2>
                <span class="muted small" data-testid="log-state">{move || state.with(LogState::text)}</span>
            </header>
            <pre class="log" node_ref=pre data-testid="job-log" tabindex="0"></pre>
        </section>
    }
    .into_any()
}

/// The server renders an empty log; it follows the stream once hydrated.
#[cfg(not(feature = "hydrate"))]
mod follow {
    use leptos::html::Pre;
    use leptos::prelude::*;

    use super::LogState;

    pub fn start(_id: i64, _pre: NodeRef<Pre>, _state: RwSignal<LogState>) {}
}

#[cfg(feature = "hydrate")]
mod follow {
    use std::sync::Mutex;
    use std::time::Duration;

    use futures::channel::oneshot;
    use futures::{FutureExt, StreamExt};
    use gloo_net::eventsource::futures::EventSource;
    use leptos::html::Pre;
    use leptos::prelude::*;
    use trainyard_core::event::{EVENT_LOG, EVENT_LOG_END};
    use trainyard_core::protocol::paths;
    use trainyard_core::LogStreamEvent;

    use super::LogState;

    /// Where the next byte goes: attempt and byte offset within it.
    #[derive(Default)]
    struct LogPosition {
        attempt: Option<u32>,
        offset: u64,
    }

    /// Follows the log until it ends or the page goes away.
    pub fn start(id: i64, pre: NodeRef<Pre>, state: RwSignal<LogState>) {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let stop_tx = Mutex::new(Some(stop_tx));
        on_cleanup(move || {
            if let Ok(mut tx) = stop_tx.lock() {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
            }
        });
        let mut stop_rx = Some(stop_rx);
        // Effects run only once hydrated, in the browser.
        Effect::new(move |_| {
            if let Some(stop) = stop_rx.take() {
                leptos::task::spawn_local(async move {
                    futures::select! {
                        _ = run(id, pre, state).fuse() => {},
                        _ = stop.fuse() => {},
                    }
                });
            }
        });
    }

    async fn run(id: i64, pre: NodeRef<Pre>, state: RwSignal<LogState>) {
        let mut cursor = LogPosition::default();
        let mut retry = Duration::from_millis(500);
        loop {
            let url = format!("{}?offset={}", paths::job_log_stream(id), cursor.offset);
            match stream(&url, &mut cursor, pre, state).await {
                Ok(Some(status)) => {
                    state.set(LogState::Ended(status));
                    return;
                }
                Ok(None) => state.set(LogState::Reconnecting("connection closed".into())),
                Err(e) => state.set(LogState::Reconnecting(e)),
            }
            crate::state::live::sleep(retry).await;
            retry = (retry * 2).min(Duration::from_secs(10));
        }
    }

    /// One connection. `Ok(Some(status))` once the log is complete.
    async fn stream(
        url: &str,
        cursor: &mut LogPosition,
        pre: NodeRef<Pre>,
        state: RwSignal<LogState>,
    ) -> Result<Option<String>, String> {
        let mut source = EventSource::new(url).map_err(|e| e.to_string())?;
        let logs = source.subscribe(EVENT_LOG).map_err(|e| e.to_string())?;
        let ends = source.subscribe(EVENT_LOG_END).map_err(|e| e.to_string())?;
        let mut events = futures::stream::select(logs, ends);
        let mut outcome = Ok(None);
        while let Some(item) = events.next().await {
            let Ok((name, message)) = item else {
                // The browser would reconnect from the URL's offset and
                // repeat text; reconnect ourselves from the cursor instead.
                break;
            };
            state.set(LogState::Streaming);
            let data = message.data().as_string().unwrap_or_default();
            match crate::loaded::read_json::<LogStreamEvent>(&data) {
                Ok(LogStreamEvent::Log {
                    attempt,
                    offset,
                    text,
                    ..
                }) => append(cursor, attempt, offset, &text, pre),
                Ok(LogStreamEvent::End { status }) => {
                    outcome = Ok(Some(status));
                    break;
                }
                // An end whose status cannot be read still ends the log.
                Err(_) if name == EVENT_LOG_END => {
                    outcome = Ok(Some("ended".into()));
                    break;
                }
                Err(e) => outcome = Err(format!("unreadable log event: {e}")),
            }
        }
        source.close();
        outcome
    }

    /// Appends the part of `text` (output of `attempt` from byte `offset`)
    /// not shown yet, keeping to the bottom if the reader was there.
    fn append(
        cursor: &mut LogPosition,
        attempt: u32,
        offset: u64,
        mut text: &str,
        pre: NodeRef<Pre>,
    ) {
        let Some(pre) = pre.get_untracked() else {
            return;
        };
        if cursor.attempt != Some(attempt) {
            if cursor.attempt.is_some() {
                let _ = pre.append_with_str_1(&format!("\n── attempt {attempt} ──\n"));
            }
            cursor.attempt = Some(attempt);
            cursor.offset = 0;
        }
        let end = offset + text.len() as u64;
        if end <= cursor.offset {
            return;
        }
        if offset < cursor.offset {
            let skip = (cursor.offset - offset) as usize;
            text = text.get(skip..).unwrap_or("");
        }
        cursor.offset = end;
        let at_bottom = pre.scroll_top() + pre.client_height() >= pre.scroll_height() - 8;
        let _ = pre.append_with_str_1(text);
        if at_bottom {
            pre.set_scroll_top(pre.scroll_height());
        }
    }
}
