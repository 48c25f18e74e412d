//! Server functions for the components store: browse, read, compare,
//! upload, activate (rollback), scan; conflict notifications; a job's
//! manifest and re-running its exact code. Changes are recorded as the
//! UI's, from the browser's address.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use trainyard_core::components::{
    ComponentSummary, ComponentVersion, ConflictNotice, DiffResponse, JobManifest, Resolution,
    ScanReport, UploadResponse,
};
use trainyard_core::JobView;

#[cfg(feature = "ssr")]
use super::engine;
use super::UiError;

/// Who changes the store from the UI, and from where.
#[cfg(feature = "ssr")]
async fn actor() -> trainyard_engine::Actor {
    use axum::extract::ConnectInfo;
    let origin = leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>()
        .await
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|_| "unknown".to_string());
    trainyard_engine::Actor {
        who: "ui".to_string(),
        origin,
    }
}

#[server(prefix = "/ui")]
pub async fn list_components() -> Result<Vec<ComponentSummary>, UiError> {
    Ok(engine()?.components(None).await?)
}

/// The versions of `path` (`model/resnet.py`), newest first.
#[server(prefix = "/ui")]
pub async fn component_versions(path: String) -> Result<Vec<ComponentVersion>, UiError> {
    let (category, file) = path.split_once('/').unwrap_or((path.as_str(), ""));
    let name = file.strip_suffix(".py").unwrap_or(file);
    Ok(engine()?.component_versions(category, name, false).await?)
}

/// Stored content by hash.
#[server(prefix = "/ui")]
pub async fn component_content(hash: String) -> Result<String, UiError> {
    Ok(engine()?.component_content(&hash).await?)
}

#[server(prefix = "/ui")]
pub async fn diff_components(from: String, to: String) -> Result<DiffResponse, UiError> {
    Ok(engine()?.diff_components(&from, &to).await?)
}

#[server(prefix = "/ui", input = Json)]
pub async fn upload_component(path: String, content: String) -> Result<UploadResponse, UiError> {
    let req = trainyard_core::components::UploadRequest {
        path,
        content,
        activate: true,
    };
    Ok(engine()?.upload_component(&req, &actor().await).await?)
}

#[server(prefix = "/ui")]
pub async fn activate_component(path: String, hash: String) -> Result<ComponentVersion, UiError> {
    let req = trainyard_core::components::ActivateRequest {
        hash,
        path: Some(path),
    };
    Ok(engine()?.activate_component(&req, &actor().await).await?)
}

#[server(prefix = "/ui")]
pub async fn scan_components() -> Result<ScanReport, UiError> {
    Ok(engine()?.scan_components(&actor().await).await?)
}

/// Unanswered conflict notifications, newest first.
#[server(prefix = "/ui")]
pub async fn open_notices() -> Result<Vec<ConflictNotice>, UiError> {
    Ok(engine()?.notices(true).await?)
}

#[server(prefix = "/ui", input = Json)]
pub async fn answer_notice(id: i64, choice: Resolution) -> Result<ConflictNotice, UiError> {
    Ok(engine()?.answer_notice(id, choice, &actor().await).await?)
}

/// The code a job ran with; `None` when it never synced any.
#[server(prefix = "/ui")]
pub async fn get_job_manifest(id: i64) -> Result<Option<JobManifest>, UiError> {
    use trainyard_engine::EngineError;
    match engine()?.job_manifest(id).await {
        Ok(manifest) => Ok(Some(manifest)),
        Err(EngineError::ManifestNotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A new job with a finished job's config and exact code.
#[server(prefix = "/ui")]
pub async fn rerun_exactly(id: i64) -> Result<JobView, UiError> {
    Ok(engine()?.rerun_job_exactly(id).await?)
}
