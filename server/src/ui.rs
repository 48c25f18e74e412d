//! The web UI: Leptos pages and server functions, static assets, login.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{middleware, Form, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use serde::Deserialize;
use tower_http::compression::CompressionLayer;
use trainyard_app::{shell, App, ServerContext};

use crate::auth::{require_ui_session, SESSION_COOKIE};
use crate::chunk_pack;
use crate::render_threads::{render_on_one_thread, RenderThreads};
use crate::settings::ServeSettings;
use crate::state::AppState;
use crate::ServerError;

/// Leptos settings: cargo-leptos's environment where present, our flags on top.
pub fn leptos_options(
    config: &ServeSettings,
    addr: SocketAddr,
) -> Result<LeptosOptions, ServerError> {
    let mut options = get_configuration(None)
        .map_err(|e| ServerError::Leptos(e.to_string()))?
        .leptos_options;
    options.output_name = "trainyard".into();
    options.site_root = config.site_root.to_string_lossy().as_ref().into();
    options.site_addr = addr;
    let pkg = config.site_root.join(options.site_pkg_dir.as_ref());
    if !pkg.join("trainyard.wasm").exists() {
        tracing::warn!(
            "web UI assets not found in {}: pages will render but not be interactive. Build them with `cargo leptos build --release --split --precompress` (scripts/run.sh does)",
            pkg.display()
        );
    }
    Ok(options)
}

/// Whether `path` names one of the site's static files (the wasm, its
/// chunks and packs, scripts, icons): public, and served without rendering.
pub fn is_static_file(path: &str) -> bool {
    path.starts_with("/pkg/") || path.starts_with("/assets/")
}

/// The app's routes, listed once per process. Listing them runs the app
/// with resource loads suppressed by a process-wide flag, and a resource
/// first polled while the flag is up never loads (leptos-rs/leptos#4773):
/// a second server in the same process (the test suite starts dozens)
/// would leave another server's page unfinished.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

/// Pages, server functions and assets, behind the UI session check. Pages
/// and server functions run on the render threads ([`RenderThreads`]):
/// `render_threads` of them, or the default count when `None`.
pub fn router(
    state: AppState,
    render_threads: Option<usize>,
) -> Result<Router<AppState>, ServerError> {
    let options = state.leptos_options.clone();
    let pack_path = chunk_pack::pack_path(&options.site_pkg_dir);
    let context = ServerContext {
        engine: state.engine.clone(),
        auth_required: state.api_key.is_some(),
    };
    let threads = RenderThreads::start(render_threads)?;
    tracing::debug!(
        threads = threads.as_ref().map_or(0, |t| t.count()),
        "render threads started"
    );
    Ok(Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .leptos_routes_with_context(
            &state,
            route_list(),
            move || provide_context(context.clone()),
            move || shell(options.clone()),
        )
        .route(&pack_path, get(chunk_pack::serve_pack))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            threads,
            render_on_one_thread,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            chunk_pack::head::pack_chunk_preloads,
        ))
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(state, require_ui_session)))
}

#[derive(Deserialize)]
struct LoginForm {
    api_key: String,
}

/// `POST /login`: a correct key sets the session cookie.
async fn login(State(state): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let Some(key) = &state.api_key else {
        return Redirect::to("/").into_response();
    };
    if !key.matches(form.api_key.trim()) {
        return Redirect::to("/login?error=wrong-key").into_response();
    }
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000",
        key.session_token()
    );
    ([(SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

/// `POST /logout`: forgets the session cookie.
async fn logout() -> Response {
    let cookie = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_files_are_told_from_pages() {
        assert!(is_static_file("/pkg/trainyard.wasm"));
        assert!(is_static_file("/assets/chunk-pack.js"));
        assert!(!is_static_file("/jobs/1"));
        assert!(!is_static_file("/pkg"));
        assert!(!is_static_file("/api/v1/devices"));
    }
}
