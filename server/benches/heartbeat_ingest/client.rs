//! The load generator's HTTP side: one pooled client, one heartbeat POST.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderValue;

/// One request taking longer than this is counted as an error, not waited for,
/// so a wedged server cannot hang the bench.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The client every test shares: keeps as many connections open as it is given.
pub(crate) fn new_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        // Only ever 127.0.0.1: never route through a proxy from the environment.
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(usize::MAX)
        .build()
}

/// One heartbeat POST, body read to the end so the connection goes back to the pool.
pub(crate) async fn post_heartbeat(
    client: &reqwest::Client,
    url: &str,
    auth: &HeaderValue,
    body: Bytes,
) -> Result<(), String> {
    let response = client
        .post(url)
        .header(CONTENT_TYPE, "application/json")
        .header(AUTHORIZATION, auth.clone())
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let answer = response.bytes().await.map_err(|e| e.to_string())?;
    if status != reqwest::StatusCode::OK {
        let text = String::from_utf8_lossy(&answer[..answer.len().min(300)]).into_owned();
        return Err(format!("{status}: {text}"));
    }
    Ok(())
}
