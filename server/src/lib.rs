//! The Trainyard server as a library: `serve` takes a bound listener so tests
//! can run it on port 0, and a future that ends it.

pub mod api;
mod auth;
mod chunk_pack;
pub mod cli;
pub mod components_cli;
pub mod ftp_args;
pub mod import_cli;
pub mod launch_cli;
mod local_agent;
pub mod models_cli;
pub mod remote;
mod render_threads;
pub mod resume_cli;
pub mod runs_cli;
pub mod settings;
mod shutdown;
mod state;
pub mod submit;
mod ui;

use std::future::Future;
use std::sync::Arc;

use axum::serve::ListenerExt as _;
use axum::Router;
use thiserror::Error;
use tokio::net::TcpListener;
use trainyard_core::protocol::paths;
use trainyard_engine::{Engine, EngineError, EngineSettings};

pub use settings::{ApiKey, LocalAgent, ServeSettings};
pub use shutdown::signal as shutdown_signal;
use shutdown::Shutdown;
use state::AppState;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error("web UI configuration: {0}")]
    Leptos(String),
}

/// Logs to stderr; `RUST_LOG` overrides the default level.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // The FTP client traces its commands, PASS included: never logged,
    // whatever RUST_LOG says.
    let filter = match "suppaftp=off".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Binds `config.addr` and serves until `shutdown` resolves.
pub async fn run(
    config: ServeSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.addr,
            source,
        })?;
    serve(listener, config, shutdown).await
}

/// Serves on an already bound listener until `shutdown` resolves, then stops
/// the local agent, ends live streams and saves state.
pub async fn serve(
    listener: TcpListener,
    config: ServeSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let addr = listener.local_addr()?;
    let engine = Arc::new(
        Engine::open(EngineSettings {
            thresholds: config.thresholds,
            jobs: config.jobs.clone(),
            files: config.files.clone(),
            notify: config.notify.clone(),
            mirror: config.mirror.clone(),
            import_dirs: config.import_dirs.clone(),
            components_dir: config.components_dir.clone(),
            local_host_id: config.local_agent.as_ref().map(|a| a.host_id.clone()),
            ..EngineSettings::new(&config.data_dir)
        })
        .await?,
    );
    let stop = Shutdown::default();
    let background = tokio::spawn(engine.clone().run_background({
        let stop = stop.clone();
        async move { stop.wait().await }
    }));

    // Watched log trees (--import-dir): indexed now, then every few seconds.
    let import_watch = (!config.import_dirs.is_empty()).then(|| {
        for dir in &config.import_dirs {
            tracing::info!(dir = %dir.display(), "indexing and watching imported runs");
        }
        tokio::spawn(engine.clone().watch_imports())
    });

    // The components dir's code is registered at start, as a scan would.
    if let Some(dir) = &config.components_dir {
        tracing::info!(dir = %dir.display(), "registering components");
        let actor = trainyard_engine::Actor::server("startup");
        if let Err(e) = engine.scan_components(&actor).await {
            tracing::warn!("components dir {}: {e}", dir.display());
        }
    }

    // The catalog file (--catalog): a new revision when it changed.
    if let Some(file) = &config.catalog {
        match engine.load_catalog_file(file).await {
            Ok(saved) if saved.created => {
                tracing::info!(file = %file.display(), revision = saved.revision.id, "catalog loaded")
            }
            Ok(saved) => {
                tracing::info!(file = %file.display(), revision = saved.revision.id, "catalog unchanged")
            }
            Err(e) => tracing::error!(
                "catalog {}: {e}\nthe server keeps running on the last valid revision",
                file.display()
            ),
        }
    }

    let state = AppState::new(state::Shared {
        engine,
        api_key: config.api_key.clone(),
        metrics_token: config.metrics_token.clone(),
        shutdown: stop.clone(),
        leptos_options: ui::leptos_options(&config, addr)?,
    });
    let app: Router = Router::new()
        .nest(paths::API_PREFIX, api::router(state.clone()))
        .merge(api::mlflow::router(state.clone()))
        .merge(api::metrics_router(state.clone()))
        .merge(api::serve_router(state.clone()))
        .nest(paths::COMPAT_PREFIX, api::compat_router(state.clone()))
        .merge(ui::router(state.clone(), config.render_threads)?)
        .with_state(state);

    let local_agent = config.local_agent.as_ref().map(|agent| {
        local_agent::spawn(
            agent,
            &config.data_dir,
            addr,
            config.api_key.as_ref(),
            stop.clone(),
        )
    });
    tracing::info!(data_dir = %config.data_dir.display(), "Trainyard listening on http://{addr}");

    let serve_stop = stop.clone();
    // Peer addresses reach handlers: the components audit log names them.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Without TCP_NODELAY a response written as headers then body waits for
    // the browser's delayed ACK (40 ms) on every reused connection: a page
    // preloading its ~100 wasm chunks over six connections lost ~0.7 s.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on a connection: {e}");
        }
    });
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            serve_stop.trigger();
        })
        .await;
    stop.trigger();
    if let Some(watch) = import_watch {
        watch.abort();
    }
    if let Some(agent) = local_agent {
        let _ = agent.await;
    }
    // Saves live host state and closes the database.
    let _ = background.await;
    result.map_err(ServerError::Io)
}
