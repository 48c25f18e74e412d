//! State shared by every request handler.

use std::ops::Deref;
use std::sync::Arc;

use trainyard_engine::Engine;

use crate::settings::ApiKey;
use crate::shutdown::Shutdown;

/// Handed to every handler and middleware. Axum clones it once per `State`
/// extractor and per `from_fn_with_state` layer, i.e. a few times for every
/// request, so it is a single `Arc`: cloning the fields themselves copied the
/// API key's strings and the Leptos options, several allocations per
/// heartbeat.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] points to; its fields read as `state.engine` etc.
pub struct Shared {
    pub engine: Arc<Engine>,
    pub api_key: Option<ApiKey>,
    /// Also accepted by `GET /metrics` (`--metrics-token`).
    pub metrics_token: Option<ApiKey>,
    pub shutdown: Shutdown,
    pub leptos_options: leptos::prelude::LeptosOptions,
}

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl axum::extract::FromRef<AppState> for leptos::prelude::LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
