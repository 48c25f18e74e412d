//! State shared by every request handler.

use std::sync::Arc;

use trainyard_engine::Engine;

use crate::settings::ApiKey;
use crate::shutdown::Shutdown;

#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub api_key: Option<ApiKey>,
    pub shutdown: Shutdown,
    pub leptos_options: leptos::prelude::LeptosOptions,
}

impl axum::extract::FromRef<AppState> for leptos::prelude::LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
