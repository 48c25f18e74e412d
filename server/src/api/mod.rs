//! The versioned REST API for agents and scripts, under `/api/v1`.

mod agent_files;
mod agent_heartbeat;
mod agent_work;
mod compat;
mod components;
pub mod error;
mod events;
mod extract;
mod hosts;
mod imports;
mod job_log;
mod jobs;
mod launcher;
mod metrics;
pub mod mlflow;
mod models;
mod prometheus;
mod ranged;
pub(crate) mod run_files;
mod runs;
mod serve_proxy;
mod web_helper;
mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::routing::{any, delete, get, post, put};
use axum::{middleware, Router};
use tower_http::set_header::SetResponseHeaderLayer;
use trainyard_core::protocol::codes;
use trainyard_core::protocol::paths::route;
use trainyard_core::protocol::{MAX_HEARTBEAT_BYTES, PROTOCOL_HEADER, PROTOCOL_VERSION};

use crate::auth;
use crate::state::AppState;
use error::ApiError;

/// Routes to nest at `/api/v1` (`trainyard_core::protocol::paths::API_PREFIX`).
pub fn router(state: AppState) -> Router<AppState> {
    let chunk_limit = DefaultBodyLimit::max(agent_files::MAX_CHUNK_BODY_BYTES);
    Router::new()
        .route(route::HEALTH, get(hosts::health))
        .route(route::HOSTS, get(hosts::list_hosts))
        .route(route::HOST, delete(hosts::delete_host))
        .route(route::HOST_TELEMETRY, get(hosts::host_telemetry))
        .route(route::EVENTS, get(events::events))
        .route(
            route::EXPERIMENTS,
            post(jobs::submit).layer(DefaultBodyLimit::max(jobs::MAX_CONFIG_BYTES)),
        )
        .route(route::JOBS, get(jobs::list))
        .route(
            route::CATALOG,
            get(launcher::get)
                .post(launcher::save)
                .layer(DefaultBodyLimit::max(
                    2 * trainyard_engine::MAX_CATALOG_BYTES,
                )),
        )
        .route(route::CATALOG_REVISIONS, get(launcher::revisions))
        .route(route::CATALOG_REVISION, get(launcher::revision))
        .route(route::CATALOG_RESTORE, post(launcher::restore))
        .route(route::CATALOG_DIFF, get(launcher::diff))
        .route(route::CATALOG_TASKS, get(launcher::tasks))
        .route(route::LAUNCH, post(launcher::launch))
        .route(route::JOB_LAUNCH, get(launcher::job_launch))
        .route(route::WEBHOOKS, get(webhooks::list).post(webhooks::add))
        .route(route::WEBHOOK_DELIVERIES, get(webhooks::deliveries))
        .route(route::WEBHOOK, delete(webhooks::delete))
        .route(route::WEBHOOK_TEST, post(webhooks::test))
        .route(route::JOB, get(jobs::get))
        .route(route::JOB_CANCEL, post(jobs::cancel))
        .route(route::JOB_PRIORITY, post(jobs::priority))
        .route(route::JOB_RERUN, post(jobs::rerun))
        .route(route::JOB_RESUME, post(jobs::resume))
        .route(route::JOB_LOG, get(job_log::text))
        .route(route::JOB_LOG_STREAM, get(job_log::sse))
        .route(route::RUN_METRICS, get(metrics::keys))
        .route(route::RUN_METRIC, get(metrics::series))
        .route(route::RUN_FILES, get(run_files::list))
        .route(route::RUN_FILE, get(run_files::download))
        .route(route::RUN_PROBLEMS, get(run_files::problems))
        .route(route::IMPORTS_REINDEX, post(imports::reindex))
        .merge(results())
        .merge(models())
        .route(route::IMPORTS_TENSORBOARD, post(imports::tensorboard))
        .route(route::JOB_MANIFEST, get(components::job_manifest))
        .route(route::COMPONENT_NOTICES, get(components::notices))
        .route(route::COMPONENT_NOTICE, post(components::answer_notice))
        .route(route::COMPONENT_BLOB, get(components::blob))
        .route(route::COMPONENT_PLAN, post(components::preview_plan))
        .merge(component_store())
        .route(
            route::AGENT_HEARTBEAT,
            post(agent_heartbeat::post_heartbeat).layer(DefaultBodyLimit::max(MAX_HEARTBEAT_BYTES)),
        )
        .route(route::AGENT_POLL, post(agent_work::poll))
        .route(route::ATTEMPT_STARTED, post(agent_work::started))
        .route(
            route::ATTEMPT_LOG,
            put(agent_work::append_log)
                .layer(DefaultBodyLimit::max(agent_work::MAX_LOG_CHUNK_BYTES)),
        )
        .route(route::ATTEMPT_FILES, get(agent_files::status))
        .route(
            route::ATTEMPT_FILE,
            put(agent_files::append).layer(chunk_limit),
        )
        .route(
            route::ATTEMPT_UPLOAD,
            put(agent_files::upload).layer(chunk_limit),
        )
        .route(route::ATTEMPT_COMPONENTS, post(components::sync))
        .route(
            route::ATTEMPT_COMPONENT,
            put(components::store_copy).layer(DefaultBodyLimit::max(
                trainyard_core::components::MAX_COMPONENT_BYTES + (64 << 10),
            )),
        )
        .route(route::ATTEMPT_FINISHED, post(agent_work::finished))
        .route(route::ATTEMPT_SERVING, post(agent_work::serving))
        .route(route::ATTEMPT_RESUME, get(agent_files::resume_list))
        .route(route::ATTEMPT_RESUME_FILE, get(agent_files::resume_file))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state, auth::require_api_key))
        // Outermost, so every answer (401s included) names the server's version.
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(PROTOCOL_HEADER),
            HeaderValue::from(PROTOCOL_VERSION),
        ))
}

/// Results for scripts (issue 11): projects, runs, notes, compare, archive.
fn results() -> Router<AppState> {
    Router::new()
        .route(route::PROJECTS, get(runs::projects))
        .route(route::PROJECT_RUNS, get(runs::project_runs))
        .route(route::RUN, get(runs::detail))
        .route(route::RUN_NOTES, put(runs::put_notes))
        .route(route::RUN_TAGS, put(runs::put_tags))
        .route(route::RUN_ARCHIVE, post(runs::archive))
        .route(route::RUN_RESTORE, post(runs::restore))
        .route(route::RUNS_PURGE, post(runs::purge))
        .route(route::COMPARE, get(runs::compare))
}

/// The model registry (issue 14) and the best-run query.
fn models() -> Router<AppState> {
    Router::new()
        .route(route::MODELS, get(models::list))
        .route(route::MODEL, get(models::show))
        .route(
            route::MODEL_VERSIONS,
            // Uploads stream into the registry (which applies the run-file
            // size limit per file); JSON bodies are capped by the handler.
            post(models::register).layer(DefaultBodyLimit::disable()),
        )
        .route(route::MODEL_PUBLISH_BEST, post(models::publish_best))
        .route(route::MODEL_PROMOTE, post(models::promote))
        .route(route::MODEL_LATEST, put(models::set_latest))
        .route(route::MODEL_MIRROR, get(models::mirror))
        .route(route::MODEL_BUNDLE, get(models::bundle))
        .route(route::MODEL_MANIFEST, get(models::manifest))
        .route(route::MODEL_FILE, get(models::file))
        .route(
            route::MODEL_SERVE,
            post(models::serve).delete(models::stop_serving),
        )
        .route(route::PROJECT_BEST, get(models::best))
}

/// The web helper guide's read API in CVLab-Kit's envelope (issue 11).
fn web_helper() -> Router<AppState> {
    Router::new()
        .route(route::COMPAT_PROJECTS, get(web_helper::projects))
        .route(route::COMPAT_RUNS, get(web_helper::runs))
        .route(route::COMPAT_RUN, get(web_helper::run))
        .route(route::COMPAT_RERUN, post(web_helper::rerun))
        .route(route::COMPAT_QUEUE, get(web_helper::queue))
        .route(route::COMPAT_QUEUE_CANCEL, post(web_helper::cancel))
        .route(route::COMPAT_DEVICES, get(web_helper::devices))
}

/// The components store, in CVLab-Kit's shapes: mounted under both prefixes.
fn component_store() -> Router<AppState> {
    Router::new()
        .route(route::COMPONENT_VERSIONS, get(components::list))
        .route(route::COMPONENT_BY_HASH, get(components::by_hash))
        .route(route::COMPONENT_CATEGORY, get(components::list_category))
        .route(route::COMPONENT_PATH, get(components::versions))
        .route(
            route::COMPONENT_UPLOAD,
            post(components::upload)
                .layer(DefaultBodyLimit::max(components::MAX_UPLOAD_BODY_BYTES)),
        )
        .route(route::COMPONENT_ACTIVATE, post(components::activate))
        .route(route::COMPONENT_DIFF, post(components::diff))
        .route(route::COMPONENT_SCAN, post(components::scan))
        .route(
            route::COMPONENT_MANIFEST,
            get(components::get_manifest).post(components::save_manifest),
        )
}

/// `ANY /serve/{name}/{stage}/…` at the root: the serving proxy, behind
/// the same authentication as the API (key or UI session).
pub fn serve_router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(route::SERVE_PROXY, any(serve_proxy::proxy))
        .route(route::SERVE_PROXY_ROOT, any(serve_proxy::proxy))
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(state, auth::require_api_key))
}

/// `GET /metrics` at the root, for Prometheus.
pub fn metrics_router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            trainyard_core::protocol::paths::METRICS_PATH,
            get(prometheus::metrics),
        )
        .layer(middleware::from_fn_with_state(
            state,
            prometheus::require_metrics_token,
        ))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, codes::NOT_FOUND, "no such API route")
}

/// Routes kept for scripts written against CVLab-Kit, nested at `/api`
/// (`trainyard_core::protocol::paths::COMPAT_PREFIX`).
pub fn compat_router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            route::COMPAT_QUEUE_ADD,
            post(compat::queue_add).layer(DefaultBodyLimit::max(jobs::MAX_CONFIG_BYTES)),
        )
        .merge(component_store())
        .merge(web_helper())
        .layer(middleware::from_fn_with_state(state, auth::require_api_key))
}
