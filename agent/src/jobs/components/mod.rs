//! Before an attempt's process starts: bring the components its config
//! references (CVLab-Kit's `cvlabkit/...` layout under the working
//! directory) in line with the server's store, and record what the job will
//! run with (its manifest, with `code:` files). One request gets the whole
//! plan (downloads inline); content the server has never seen is sent right
//! after; only then does the process start. Every download is written only
//! after its hash checks. What happened goes to the top of the job's log.

mod api;
mod local;

use std::path::Path;
use std::time::Duration;

use tokio::time::Instant;
use trainyard_core::components::{
    referenced_components, CopyUploadQuery, SyncAction, SyncPlan, SyncRequest, SyncStep,
};
use trainyard_core::config::parse_experiment;
use trainyard_core::work::{Assignment, AttemptRef};

use super::api::{Refusal, Reply};
use super::JobContext;
use crate::http::response::Verdict;

/// How long a sync keeps retrying an unreachable server before the
/// attempt fails to start.
const SYNC_PATIENCE: Duration = Duration::from_secs(30);

/// Syncs attempt `at`'s code into `cwd`; the lines for the job's log, or
/// why the job cannot start.
pub(crate) async fn sync_before_start(
    ctx: &JobContext,
    at: AttemptRef,
    assignment: &Assignment,
    cwd: &Path,
) -> Result<Vec<String>, String> {
    let Ok(experiment) = parse_experiment(&assignment.config_yaml) else {
        // The server parsed it at submission; an agent that cannot (an
        // older build) runs the job without syncing rather than refusing it.
        return Ok(vec![
            "components: this agent cannot read the job's config; code not synced".into(),
        ]);
    };
    let referenced = referenced_components(&experiment.value());
    let globs = experiment.scheduling.code.clone();
    if referenced.is_empty() && globs.is_empty() {
        return Ok(Vec::new());
    }
    let (code, mut lines) = {
        let cwd = cwd.to_path_buf();
        let globs = globs.clone();
        tokio::task::spawn_blocking(move || local::code_copies(&cwd, &globs))
            .await
            .map_err(|e| e.to_string())??
    };
    let components = {
        let cwd = cwd.to_path_buf();
        tokio::task::spawn_blocking(move || local::component_copies(&cwd, &referenced))
            .await
            .map_err(|e| e.to_string())??
    };
    let request = SyncRequest {
        strategy: ctx.sync_strategy,
        components,
        code,
    };
    let plan = with_retries(ctx, "the components sync", || {
        ctx.api.sync_components(at, &request)
    })
    .await?;
    apply(ctx, at, cwd, &plan).await?;
    lines.extend(summary(&plan));
    Ok(lines)
}

/// Carries the plan out: downloads written (hash-checked), copies sent.
async fn apply(
    ctx: &JobContext,
    at: AttemptRef,
    cwd: &Path,
    plan: &SyncPlan,
) -> Result<(), String> {
    for step in &plan.steps {
        let file = local::file_of(cwd, &step.path, step.code)?;
        if step.upload {
            let Some(hash) = &step.hash else { continue };
            let bytes = local::read_checked(&file, hash)?;
            let query = CopyUploadQuery {
                xxh3: hash.clone(),
                code: step.code,
            };
            with_retries(ctx, &format!("sending {}", step.path), || {
                ctx.api
                    .store_component_copy(at, &step.path, &query, bytes.clone())
            })
            .await?;
        }
        if step.action == SyncAction::Download {
            let (Some(content), Some(hash)) = (&step.content, &step.hash) else {
                return Err(format!(
                    "{}: the server planned a download but sent no content",
                    step.path
                ));
            };
            local::write_checked(&file, content, hash)?;
        }
    }
    Ok(())
}

/// Runs `request` until it answers, retrying transient failures for
/// [`SYNC_PATIENCE`].
async fn with_retries<T, F, Fut>(ctx: &JobContext, what: &str, mut request: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Reply<T>>,
{
    let deadline = Instant::now() + SYNC_PATIENCE;
    let mut attempt = 0u32;
    loop {
        match request().await {
            Reply::Done(value) => return Ok(value),
            Reply::Superseded(message) => {
                return Err(format!("{what}: the attempt was superseded ({message})"))
            }
            Reply::Refused(Refusal::HashMismatch, message) => {
                return Err(format!("{what}: {message}"))
            }
            Reply::Refused(_, message) | Reply::Failed(Verdict::Rejected(message)) => {
                return Err(format!("{what} was refused: {message}"))
            }
            Reply::Failed(Verdict::Fatal(e)) => return Err(format!("{what}: {e}")),
            Reply::OffsetMismatch { .. } | Reply::Failed(Verdict::Accepted) => {
                return Err(format!("{what}: unexpected answer"))
            }
            Reply::Failed(Verdict::Transient(why)) => {
                if Instant::now() >= deadline {
                    return Err(format!(
                        "{what}: the server did not answer for {} s ({why})",
                        SYNC_PATIENCE.as_secs()
                    ));
                }
                let wait = ctx.backoff.delay(attempt, rand::random());
                attempt = attempt.saturating_add(1);
                tokio::time::sleep(wait.min(deadline - Instant::now())).await;
            }
        }
    }
}

/// What the sync did, for the top of the job's log.
fn summary(plan: &SyncPlan) -> Vec<String> {
    let count = |a: SyncAction| plan.steps.iter().filter(|s| s.action == a).count();
    let mut lines = vec![format!(
        "components ({}{}): {} unchanged, {} downloaded, {} uploaded and activated, {} kept locally",
        plan.strategy,
        plan.pinned_to
            .map(|j| format!(", the exact code of job {j}"))
            .unwrap_or_default(),
        count(SyncAction::Keep),
        count(SyncAction::Download),
        count(SyncAction::UploadActive),
        count(SyncAction::KeepAndStore) + count(SyncAction::Ask),
    )];
    for step in &plan.steps {
        if let Some(line) = step_line(step) {
            lines.push(format!("  {line}"));
        }
    }
    let missing: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| s.action == SyncAction::Nothing)
        .map(|s| s.path.as_str())
        .collect();
    if !missing.is_empty() {
        lines.push(format!(
            "  referenced but neither in the store nor on this host: {}",
            missing.join(", ")
        ));
    }
    lines
}

fn step_line(step: &SyncStep) -> Option<String> {
    let hash = step.hash.as_deref().unwrap_or("-");
    match step.action {
        SyncAction::Keep => None,
        SyncAction::Download => Some(format!("{}: downloaded {hash}", step.path)),
        SyncAction::UploadActive => Some(format!("{}: uploaded {hash} as the active version", step.path)),
        SyncAction::KeepAndStore => Some(format!("{}: ran the local copy {hash}", step.path)),
        SyncAction::Ask => Some(format!(
            "{}: a local change ({hash}) ran as it is; answer the notification in Trainyard to upload it, replace it or keep it",
            step.path
        )),
        SyncAction::Nothing => None,
    }
}
