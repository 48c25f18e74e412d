//! Server functions for the launcher: the catalog (save, revisions, diff,
//! restore) and launches from a task's form. Saves and restores are
//! recorded as the UI's (`saved_by: ui`).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use trainyard_core::catalog::{
    CatalogDiff, CatalogRevision, CatalogSaved, CatalogView, JobLaunch, LaunchError, LaunchRequest,
    LaunchResult, Task,
};

#[cfg(feature = "ssr")]
use super::engine;
use super::UiError;
use crate::experiment::Diagnostic;

/// Who a revision says saved it when it comes from the UI.
#[cfg(feature = "ssr")]
const SAVED_BY_UI: &str = "ui";

/// What a save or a restore led to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CatalogSaveOutcome {
    /// The running revision; `created` is false when the content was the
    /// running one's and no revision was made.
    Saved(CatalogSaved),
    /// Refused: every problem, positioned for the editor.
    Invalid(Vec<Diagnostic>),
}

/// The running catalog's enabled tasks, complete (hidden fields included),
/// so the Launch page plans a launch with the server's own code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchTasks {
    pub revision_id: Option<i64>,
    pub tasks: Vec<Task>,
    /// The most runs one launch may expand to.
    pub max_runs: u64,
}

/// What a launch from the form led to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LaunchOutcome {
    Queued(LaunchResult),
    /// Refused before anything was queued: every problem, most naming a
    /// field.
    Invalid(Vec<LaunchError>),
}

#[cfg(feature = "ssr")]
fn saved(
    result: Result<CatalogSaved, trainyard_engine::EngineError>,
) -> Result<CatalogSaveOutcome, UiError> {
    use trainyard_engine::EngineError;
    match result {
        Ok(s) => Ok(CatalogSaveOutcome::Saved(s)),
        Err(EngineError::InvalidCatalog(errors)) => Ok(CatalogSaveOutcome::Invalid(
            Diagnostic::from_errors(&errors),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The running catalog's YAML and revision.
#[server(prefix = "/ui")]
pub async fn load_catalog() -> Result<CatalogView, UiError> {
    Ok(engine()?.catalog())
}

#[server(prefix = "/ui", input = Json)]
pub async fn save_catalog(content: String) -> Result<CatalogSaveOutcome, UiError> {
    saved(engine()?.save_catalog(&content, SAVED_BY_UI).await)
}

/// Every revision, newest first.
#[server(prefix = "/ui")]
pub async fn catalog_revisions() -> Result<Vec<CatalogRevision>, UiError> {
    Ok(engine()?.catalog_revisions().await?)
}

/// Revision `id`'s YAML. Only the text: the page has the revision's row,
/// and the REST API's flattened `CatalogRevisionContent` would bring serde's
/// buffering reader into the Catalog page's wasm.
#[server(prefix = "/ui")]
pub async fn load_catalog_revision(id: i64) -> Result<String, UiError> {
    Ok(engine()?.catalog_revision(id).await?.content)
}

#[server(prefix = "/ui")]
pub async fn diff_catalog(from: i64, to: i64) -> Result<CatalogDiff, UiError> {
    Ok(engine()?.diff_catalog_revisions(from, to).await?)
}

/// Saves revision `id`'s content again as a new revision.
#[server(prefix = "/ui")]
pub async fn restore_catalog(id: i64) -> Result<CatalogSaveOutcome, UiError> {
    saved(engine()?.restore_catalog_revision(id, SAVED_BY_UI).await)
}

/// The running catalog's enabled tasks, read as the engine reads them
/// (`$VAR` from the server's environment) and with `runner.targetEnvVar`
/// already applied, so the browser's preview is the argv the server builds.
#[server(prefix = "/ui")]
pub async fn load_launch_tasks() -> Result<LaunchTasks, UiError> {
    let engine = engine()?;
    let view = engine.catalog();
    let max_runs = engine.sweep_limits().max_runs;
    let env = |name: &str| std::env::var(name).ok();
    let tasks = match view.revision {
        None => Vec::new(),
        // The running content is valid (only valid revisions are saved).
        Some(_) => trainyard_core::catalog::parse_catalog(&view.content, &env)
            .map(|c| c.tasks)
            .unwrap_or_default(),
    };
    let tasks = tasks
        .into_iter()
        .filter(|t| t.enabled)
        .map(|mut t| {
            let replaced = t
                .runner
                .target_env_var
                .as_deref()
                .and_then(env)
                .filter(|v| !v.trim().is_empty());
            if let Some(target) = replaced {
                t.runner.target = target;
            }
            t
        })
        .collect();
    Ok(LaunchTasks {
        revision_id: view.revision.map(|r| r.id),
        tasks,
        max_runs,
    })
}

#[server(prefix = "/ui", input = Json)]
pub async fn launch_task(request: LaunchRequest) -> Result<LaunchOutcome, UiError> {
    use trainyard_engine::EngineError;
    match engine()?.launch(request).await {
        Ok(result) => Ok(LaunchOutcome::Queued(result)),
        Err(EngineError::InvalidLaunch(errors)) => Ok(LaunchOutcome::Invalid(errors.0)),
        Err(e) => Err(e.into()),
    }
}

/// What launched job `id`, or `None` for a job submitted as a config.
#[server(prefix = "/ui")]
pub async fn load_job_launch(id: i64) -> Result<Option<JobLaunch>, UiError> {
    use trainyard_engine::EngineError;
    match engine()?.job_launch(id).await {
        Ok(l) => Ok(Some(l)),
        Err(EngineError::NotLaunched(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
