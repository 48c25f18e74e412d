//! The serving proxy: `ANY /serve/{name}/{stage}/{*path}` forwards to
//! whichever attempt serves the model's stage now, behind the API's
//! authentication, so clients never chase host ports. Request and response
//! bodies stream through; hop-by-hop headers and the caller's credentials
//! are not passed on.

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use trainyard_core::protocol::codes;
use trainyard_engine::ServingTarget;

use super::error::ApiError;
use super::extract::PathParams;
use crate::state::AppState;

/// Headers that belong to one connection (RFC 9110 §7.6.1), and the
/// caller's credentials, which are the server's business, not the model's.
const NOT_FORWARDED: [&str; 12] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "authorization",
    "x-api-key",
    "cookie",
];

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

/// `ANY /serve/{name}/{stage}/{*path}` (and `/serve/{name}/{stage}/`).
pub async fn proxy(
    State(state): State<AppState>,
    params: PathParams,
    request: Request,
) -> Result<Response, ApiError> {
    let name = params.get("name")?.to_string();
    let stage = params.get("stage")?.to_string();
    let path = params.get("path").unwrap_or("").to_string();
    let (address, port) = match state.engine.serving_target(&name, &stage).await? {
        ServingTarget::Ready { address, port } => (address, port),
        ServingTarget::Starting(why) => {
            let mut response = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                codes::SERVING_STARTING,
                format!("model {name} {stage} is starting: {why}; try again shortly"),
            )
            .into_response();
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from_static("1"));
            return Ok(response);
        }
        ServingTarget::Failed(why) => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                codes::SERVING_UNREACHABLE,
                format!(
                    "model {name} {stage} is not serving: {why}; see GET /api/v1/models/{name} \
                     for its last output, and serve it again"
                ),
            ))
        }
    };
    let host = if address.contains(':') {
        format!("[{address}]")
    } else {
        address
    };
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let url = format!("http://{host}:{port}/{path}{query}");
    let (parts, body) = request.into_parts();
    let mut headers = forwardable(&parts.headers);
    if let Ok(prefix) = HeaderValue::from_str(&format!("/serve/{name}/{stage}")) {
        headers.insert(HeaderName::from_static("x-forwarded-prefix"), prefix);
    }
    let upstream = client()
        .request(parts.method, &url)
        .headers(headers)
        .body(reqwest::Body::wrap_stream(body.into_data_stream()))
        .send()
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                codes::SERVING_UNREACHABLE,
                format!("model {name} {stage}: its server at {host}:{port} did not answer: {e}"),
            )
        })?;
    let mut response = Response::builder().status(upstream.status());
    if let Some(out) = response.headers_mut() {
        *out = forwardable(upstream.headers());
    }
    response
        .body(Body::from_stream(upstream.bytes_stream()))
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                codes::SERVING_UNREACHABLE,
                format!("model {name} {stage}: unusable answer: {e}"),
            )
        })
}

fn forwardable(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if !NOT_FORWARDED.contains(&name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}
