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

/// Whether the request carries the API key (bearer) or a valid UI session cookie.
pub fn is_authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(key) = &state.api_key else {
        return true;
    };
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_some_and(|token| key.matches(token.trim())) {
        return true;
    }
    session_cookie(headers).is_some_and(|c| key.matches_session(c))
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

/// Middleware for `/api/v1`: 401 unless authorized.
pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_authorized(&state, request.headers()) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// Paths of the UI reachable without logging in: the login page and the
/// assets it needs.
fn is_public_ui_path(path: &str) -> bool {
    path == "/login"
        || path.starts_with("/pkg/")
        || path.starts_with("/assets/")
        || path == "/favicon.ico"
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
