//! Bearer-token check for `/api/v1`, and the cookie check for the web UI.

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::api::error::ApiError;
use crate::state::AppState;

/// Name of the browser session cookie set by `POST /login`.
pub const SESSION_COOKIE: &str = "trainyard_session";

/// Header CVLab-Kit's components client sends the key in.
const X_API_KEY: &str = "x-api-key";

/// Who a request comes from, as far as the key tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The API key, as `Authorization: Bearer`, `X-API-Key` or a Basic
    /// password.
    ApiKey,
    /// A browser logged in to the UI.
    UiSession,
    /// No key is set: the server listens on loopback only and trusts it.
    Open,
}

impl Caller {
    /// How the audit log names it.
    pub fn label(self) -> &'static str {
        match self {
            Caller::ApiKey => "api key",
            Caller::UiSession => "ui",
            Caller::Open => "loopback (no key set)",
        }
    }
}

/// Who the request comes from, if it carries the API key (bearer or
/// `X-API-Key`) or a valid UI session cookie.
pub fn caller(state: &AppState, headers: &HeaderMap) -> Option<Caller> {
    let Some(key) = &state.api_key else {
        return Some(Caller::Open);
    };
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let x_api_key = headers.get(X_API_KEY).and_then(|v| v.to_str().ok());
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(basic_password);
    if bearer
        .or(x_api_key)
        .or(basic.as_deref())
        .is_some_and(|token| key.matches(token.trim()))
    {
        return Some(Caller::ApiKey);
    }
    session_cookie(headers)
        .is_some_and(|c| key.matches_session(c))
        .then_some(Caller::UiSession)
}

/// Whether the request carries the API key or a valid UI session cookie.
pub fn is_authorized(state: &AppState, headers: &HeaderMap) -> bool {
    caller(state, headers).is_some()
}

/// The password of `Authorization: Basic base64(user:password)`: MLflow
/// clients send the key that way from `MLFLOW_TRACKING_PASSWORD`.
fn basic_password(encoded: &str) -> Option<String> {
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':')
        .map(|(_, password)| password.to_string())
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// Middleware for `/api/v1` and `/api`: 401 unless authorized; handlers
/// find the [`Caller`] in the request's extensions.
pub async fn require_api_key(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    match caller(&state, request.headers()) {
        Some(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        None => ApiError::unauthorized().into_response(),
    }
}

/// Paths of the UI reachable without logging in: the login page and the
/// assets it needs.
fn is_public_ui_path(path: &str) -> bool {
    path == "/login" || crate::ui::is_static_file(path) || path == "/favicon.ico"
}

/// Middleware for the web UI: pages redirect to /login, server functions get 401.
pub async fn require_ui_session(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_public_ui_path(request.uri().path()) || is_authorized(&state, request.headers()) {
        return next.run(request).await;
    }
    if request.method() == axum::http::Method::GET {
        Redirect::to("/login").into_response()
    } else {
        ApiError::unauthorized().into_response()
    }
}
