//! Every route of the REST API, written once: the patterns the server's
//! router mounts (axum syntax, relative to [`API_PREFIX`]) and the builders
//! clients (the agent, the browser, `trainyard submit`, test servers) call
//! to reach them. A route renamed here is renamed for everyone, and a test
//! below checks each builder against its pattern.

use crate::work::AttemptRef;

/// Where the versioned API is mounted.
pub const API_PREFIX: &str = "/api/v1";
/// Where CVLab-Kit's routes (`/api/queue/add`) are mounted.
pub const COMPAT_PREFIX: &str = "/api";

/// Router patterns, relative to [`API_PREFIX`] (or [`COMPAT_PREFIX`] for
/// `compat_*`).
pub mod route {
    pub const HEALTH: &str = "/health";
    pub const EVENTS: &str = "/events";
    pub const HOSTS: &str = "/hosts";
    pub const HOST: &str = "/hosts/{id}";
    pub const HOST_TELEMETRY: &str = "/hosts/{id}/telemetry";
    pub const EXPERIMENTS: &str = "/experiments";
    pub const JOBS: &str = "/jobs";
    pub const JOB: &str = "/jobs/{id}";
    pub const JOB_CANCEL: &str = "/jobs/{id}/cancel";
    pub const JOB_PRIORITY: &str = "/jobs/{id}/priority";
    pub const JOB_RERUN: &str = "/jobs/{id}/rerun";
    pub const JOB_RESUME: &str = "/jobs/{id}/resume";
    pub const JOB_LOG: &str = "/jobs/{id}/log";
    pub const JOB_LOG_STREAM: &str = "/jobs/{id}/log/stream";
    pub const RUN_METRICS: &str = "/runs/{id}/metrics";
    pub const RUN_METRIC: &str = "/runs/{id}/metrics/{*key}";
    pub const RUN_FILES: &str = "/runs/{id}/files";
    pub const RUN_FILE: &str = "/runs/{id}/files/{*path}";
    pub const RUN_PROBLEMS: &str = "/runs/{id}/problems";
    pub const IMPORTS_REINDEX: &str = "/imports/reindex";
    pub const IMPORTS_TENSORBOARD: &str = "/imports/tensorboard";
    pub const AGENT_HEARTBEAT: &str = "/agents/heartbeat";
    pub const AGENT_POLL: &str = "/agents/poll";
    pub const ATTEMPT_STARTED: &str = "/agents/jobs/{job}/attempts/{attempt}/started";
    pub const ATTEMPT_LOG: &str = "/agents/jobs/{job}/attempts/{attempt}/log";
    pub const ATTEMPT_FILES: &str = "/agents/jobs/{job}/attempts/{attempt}/files";
    pub const ATTEMPT_FILE: &str = "/agents/jobs/{job}/attempts/{attempt}/files/{*path}";
    pub const ATTEMPT_UPLOAD: &str = "/agents/jobs/{job}/attempts/{attempt}/uploads/{*path}";
    pub const ATTEMPT_FINISHED: &str = "/agents/jobs/{job}/attempts/{attempt}/finished";
    pub const ATTEMPT_SERVING: &str = "/agents/jobs/{job}/attempts/{attempt}/serving";
    pub const ATTEMPT_RESUME: &str = "/agents/jobs/{job}/attempts/{attempt}/resume";
    pub const ATTEMPT_RESUME_FILE: &str = "/agents/jobs/{job}/attempts/{attempt}/resume/{*path}";
    /// CVLab-Kit's queue endpoint, under [`super::COMPAT_PREFIX`].
    pub const COMPAT_QUEUE_ADD: &str = "/queue/add";
    pub const JOB_MANIFEST: &str = "/jobs/{id}/manifest";
    pub const ATTEMPT_COMPONENTS: &str = "/agents/jobs/{job}/attempts/{attempt}/components";
    pub const ATTEMPT_COMPONENT: &str = "/agents/jobs/{job}/attempts/{attempt}/components/{*path}";
    /// The components store, under [`super::API_PREFIX`] and, with the same
    /// shapes, under [`super::COMPAT_PREFIX`] (CVLab-Kit's client).
    pub const COMPONENT_VERSIONS: &str = "/components/versions";
    pub const COMPONENT_CATEGORY: &str = "/components/versions/{category}";
    pub const COMPONENT_BY_HASH: &str = "/components/versions/hash/{hash}";
    pub const COMPONENT_PATH: &str = "/components/versions/{category}/{name}";
    pub const COMPONENT_UPLOAD: &str = "/components/versions/upload";
    pub const COMPONENT_ACTIVATE: &str = "/components/versions/activate";
    pub const COMPONENT_DIFF: &str = "/components/versions/diff";
    pub const COMPONENT_SCAN: &str = "/components/versions/scan";
    pub const COMPONENT_MANIFEST: &str = "/components/manifest/{uid}";
    pub const COMPONENT_NOTICES: &str = "/components/notices";
    pub const COMPONENT_PLAN: &str = "/components/plan";
    pub const COMPONENT_BLOB: &str = "/components/blobs/{hash}";
    pub const COMPONENT_NOTICE: &str = "/components/notices/{id}";
    // Results for scripts (issue 11): projects, runs, notes, compare, archive.
    pub const PROJECTS: &str = "/projects";
    pub const PROJECT_RUNS: &str = "/projects/{name}/runs";
    pub const RUN: &str = "/runs/{id}";
    pub const RUN_NOTES: &str = "/runs/{id}/notes";
    pub const RUN_TAGS: &str = "/runs/{id}/tags";
    pub const RUN_ARCHIVE: &str = "/runs/{id}/archive";
    pub const RUN_RESTORE: &str = "/runs/{id}/restore";
    pub const RUNS_PURGE: &str = "/runs/purge";
    pub const COMPARE: &str = "/compare";
    /// The web helper guide's read API, under [`super::COMPAT_PREFIX`].
    pub const COMPAT_PROJECTS: &str = "/projects";
    pub const COMPAT_RUNS: &str = "/runs";
    pub const COMPAT_RUN: &str = "/run/{project}/{run}";
    pub const COMPAT_RERUN: &str = "/run/rerun";
    pub const COMPAT_QUEUE: &str = "/queue";
    pub const COMPAT_QUEUE_CANCEL: &str = "/queue/cancel/{id}";
    pub const COMPAT_DEVICES: &str = "/devices";
    // ---- the launcher ----
    pub const CATALOG: &str = "/catalog";
    pub const CATALOG_REVISIONS: &str = "/catalog/revisions";
    pub const CATALOG_REVISION: &str = "/catalog/revisions/{id}";
    pub const CATALOG_RESTORE: &str = "/catalog/revisions/{id}/restore";
    pub const CATALOG_DIFF: &str = "/catalog/diff";
    pub const CATALOG_TASKS: &str = "/catalog/tasks";
    pub const LAUNCH: &str = "/launch";
    pub const JOB_LAUNCH: &str = "/jobs/{id}/launch";
    // ---- notifications ----
    pub const WEBHOOKS: &str = "/webhooks";
    pub const WEBHOOK: &str = "/webhooks/{id}";
    pub const WEBHOOK_TEST: &str = "/webhooks/{id}/test";
    pub const WEBHOOK_DELIVERIES: &str = "/webhooks/deliveries";
    // ---- the model registry (issue 14) ----
    pub const MODELS: &str = "/models";
    pub const MODEL: &str = "/models/{name}";
    pub const MODEL_VERSIONS: &str = "/models/{name}/versions";
    pub const MODEL_PUBLISH_BEST: &str = "/models/{name}/publish-best";
    pub const MODEL_PROMOTE: &str = "/models/{name}/versions/{version}/promote";
    pub const MODEL_LATEST: &str = "/models/{name}/{stage}/latest";
    pub const MODEL_MIRROR: &str = "/models/{name}/mirror";
    pub const MODEL_BUNDLE: &str = "/models/{name}/{stage}/{version}/bundle.tar.gz";
    pub const MODEL_MANIFEST: &str = "/models/{name}/{stage}/{version}/manifest.json";
    pub const MODEL_FILE: &str = "/models/{name}/{stage}/{version}/files/{*path}";
    pub const MODEL_SERVE: &str = "/models/{name}/{stage}/serve";
    /// The serving proxy, at the root (not under [`super::API_PREFIX`]).
    pub const SERVE_PROXY: &str = "/serve/{name}/{stage}/{*path}";
    /// The proxy's root, `/serve/<model>/<stage>/` itself.
    pub const SERVE_PROXY_ROOT: &str = "/serve/{name}/{stage}/";
    pub const PROJECT_BEST: &str = "/projects/{name}/best";
}

/// Prometheus's scrape target, at the root (not under [`API_PREFIX`]).
pub const METRICS_PATH: &str = "/metrics";

/// What an agent reports about one attempt; each is one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptAction {
    Started,
    Log,
    /// The run-file status; with a file path appended, an append.
    Files,
    /// Whole-file upload chunks; a file path is appended.
    Uploads,
    /// The components sync plan; with a path appended, a worker's copy.
    Components,
    Finished,
    /// A serving attempt answers its health path.
    Serving,
    /// The previous attempt's synced files; with a path appended, one of them.
    Resume,
}

impl AttemptAction {
    fn segment(self) -> &'static str {
        match self {
            AttemptAction::Started => "started",
            AttemptAction::Log => "log",
            AttemptAction::Files => "files",
            AttemptAction::Uploads => "uploads",
            AttemptAction::Components => "components",
            AttemptAction::Finished => "finished",
            AttemptAction::Serving => "serving",
            AttemptAction::Resume => "resume",
        }
    }
}

/// `/api/v1/agents/heartbeat`
pub fn agent_heartbeat() -> String {
    format!("{API_PREFIX}{}", route::AGENT_HEARTBEAT)
}

/// `/api/v1/agents/poll`
pub fn agent_poll() -> String {
    format!("{API_PREFIX}{}", route::AGENT_POLL)
}

/// `/api/v1/agents/jobs/{job}/attempts/{n}/{action}`; run-file routes get
/// the file's path appended by the caller, a component at a time.
pub fn attempt(at: AttemptRef, action: AttemptAction) -> String {
    format!(
        "{API_PREFIX}/agents/jobs/{}/attempts/{}/{}",
        at.job_id,
        at.attempt,
        action.segment()
    )
}

/// `/api/v1/events`
pub fn events() -> String {
    format!("{API_PREFIX}{}", route::EVENTS)
}

/// `/api/v1/imports/tensorboard`
pub fn imports_tensorboard() -> String {
    format!("{API_PREFIX}{}", route::IMPORTS_TENSORBOARD)
}

/// `/api/v1/experiments`
pub fn experiments() -> String {
    format!("{API_PREFIX}{}", route::EXPERIMENTS)
}

/// `/api/v1/webhooks`
pub fn webhooks() -> String {
    format!("{API_PREFIX}{}", route::WEBHOOKS)
}

/// `/api/v1/webhooks/{id}`
pub fn webhook(id: i64) -> String {
    format!("{API_PREFIX}/webhooks/{id}")
}

/// `/api/v1/webhooks/{id}/test`
pub fn webhook_test(id: i64) -> String {
    format!("{API_PREFIX}/webhooks/{id}/test")
}

/// `/api/v1/webhooks/deliveries`
pub fn webhook_deliveries() -> String {
    format!("{API_PREFIX}{}", route::WEBHOOK_DELIVERIES)
}

/// `/api/v1/catalog`
pub fn catalog() -> String {
    format!("{API_PREFIX}{}", route::CATALOG)
}

/// `/api/v1/catalog/revisions`
pub fn catalog_revisions() -> String {
    format!("{API_PREFIX}{}", route::CATALOG_REVISIONS)
}

/// `/api/v1/catalog/revisions/{id}`
pub fn catalog_revision(id: i64) -> String {
    format!("{API_PREFIX}/catalog/revisions/{id}")
}

/// `/api/v1/catalog/revisions/{id}/restore`
pub fn catalog_restore(id: i64) -> String {
    format!("{API_PREFIX}/catalog/revisions/{id}/restore")
}

/// `/api/v1/catalog/diff?from=A&to=B`
pub fn catalog_diff(from: i64, to: i64) -> String {
    format!("{API_PREFIX}{}?from={from}&to={to}", route::CATALOG_DIFF)
}

/// `/api/v1/catalog/tasks`
pub fn catalog_tasks() -> String {
    format!("{API_PREFIX}{}", route::CATALOG_TASKS)
}

/// `/api/v1/launch`
pub fn launch() -> String {
    format!("{API_PREFIX}{}", route::LAUNCH)
}

/// `/api/v1/jobs/{id}/launch`
pub fn job_launch(id: i64) -> String {
    format!("{API_PREFIX}/jobs/{id}/launch")
}

/// `/api/v1/jobs/{id}`
pub fn job(id: i64) -> String {
    format!("{API_PREFIX}/jobs/{id}")
}

/// `/api/v1/jobs/{id}/log`
pub fn job_log(id: i64) -> String {
    format!("{API_PREFIX}/jobs/{id}/log")
}

/// `/api/v1/hosts/{id}/telemetry?window=hour|day`
pub fn host_telemetry(host_id: &str, window: crate::telemetry::TelemetryWindow) -> String {
    format!(
        "{API_PREFIX}/hosts/{host_id}/telemetry?window={}",
        window.label()
    )
}

/// `/api/v1/jobs/{id}/log/stream`
pub fn job_log_stream(id: i64) -> String {
    format!("{API_PREFIX}/jobs/{id}/log/stream")
}

/// `/api/v1/jobs/{id}/manifest`
pub fn job_manifest(id: i64) -> String {
    format!("{API_PREFIX}/jobs/{id}/manifest")
}

/// `/api/v1/jobs/{id}/rerun`
pub fn job_rerun(id: i64) -> String {
    format!("{API_PREFIX}/jobs/{id}/rerun")
}

/// `/api/v1/jobs/{id}/resume`
pub fn job_resume(id: i64) -> String {
    format!("{API_PREFIX}/jobs/{id}/resume")
}

/// `/api/v1/components/versions/hash/{hash}`
pub fn component_by_hash(hash: &str) -> String {
    format!("{API_PREFIX}/components/versions/hash/{hash}")
}

/// `/api/v1/components/versions/{category}/{name}`
pub fn component_path(category: &str, name: &str) -> String {
    format!("{API_PREFIX}/components/versions/{category}/{name}")
}

/// `/api/v1/components/blobs/{hash}`: stored content as text.
pub fn component_blob(hash: &str) -> String {
    format!("{API_PREFIX}/components/blobs/{hash}")
}

/// `/api/v1/components/plan`
pub fn component_plan() -> String {
    format!("{API_PREFIX}{}", route::COMPONENT_PLAN)
}

/// `/api/v1/components/versions/upload`
pub fn component_upload() -> String {
    format!("{API_PREFIX}{}", route::COMPONENT_UPLOAD)
}

/// `/api/v1/runs/{id}/files/` — the caller appends the encoded file path.
pub fn run_files_prefix(id: i64) -> String {
    format!("{API_PREFIX}/runs/{id}/files/")
}

// ---- results for scripts (issue 11) ----------------------------------------

/// `/api/v1/projects`
pub fn projects() -> String {
    format!("{API_PREFIX}{}", route::PROJECTS)
}

/// `/api/v1/projects/{name}/runs`; the name is percent-encoded.
pub fn project_runs(name: &str) -> String {
    format!("{API_PREFIX}/projects/{}/runs", encode_segment(name))
}

/// `/api/v1/runs/{id}`
pub fn run(id: i64) -> String {
    format!("{API_PREFIX}/runs/{id}")
}

/// `/api/v1/runs/{id}/notes`
pub fn run_notes(id: i64) -> String {
    format!("{API_PREFIX}/runs/{id}/notes")
}

/// `/api/v1/runs/{id}/tags`
pub fn run_tags(id: i64) -> String {
    format!("{API_PREFIX}/runs/{id}/tags")
}

/// `/api/v1/runs/{id}/archive`
pub fn run_archive(id: i64) -> String {
    format!("{API_PREFIX}/runs/{id}/archive")
}

/// `/api/v1/runs/{id}/restore`
pub fn run_restore(id: i64) -> String {
    format!("{API_PREFIX}/runs/{id}/restore")
}

/// `/api/v1/runs/purge`
pub fn runs_purge() -> String {
    format!("{API_PREFIX}{}", route::RUNS_PURGE)
}

/// `/api/v1/compare`
pub fn compare() -> String {
    format!("{API_PREFIX}{}", route::COMPARE)
}

// ---- the model registry (issue 14) ------------------------------------------

/// `/api/v1/models`
pub fn models() -> String {
    format!("{API_PREFIX}{}", route::MODELS)
}

/// `/api/v1/models/{name}`
pub fn model(name: &str) -> String {
    format!("{API_PREFIX}/models/{}", encode_segment(name))
}

/// `/api/v1/models/{name}/versions`
pub fn model_versions(name: &str) -> String {
    format!("{}/versions", model(name))
}

/// `/api/v1/models/{name}/publish-best`
pub fn model_publish_best(name: &str) -> String {
    format!("{}/publish-best", model(name))
}

/// `/api/v1/models/{name}/versions/{version}/promote`
pub fn model_promote(name: &str, version: &str) -> String {
    format!(
        "{}/versions/{}/promote",
        model(name),
        encode_segment(version)
    )
}

/// `/api/v1/models/{name}/{stage}/serve`
pub fn model_serve(name: &str, stage: &str) -> String {
    format!("{}/{}/serve", model(name), encode_segment(stage))
}

/// `/api/v1/models/{name}/{stage}/latest`
pub fn model_latest(name: &str, stage: &str) -> String {
    format!("{}/{}/latest", model(name), encode_segment(stage))
}

/// `/api/v1/models/{name}/mirror`
pub fn model_mirror(name: &str) -> String {
    format!("{}/mirror", model(name))
}

/// `/api/v1/models/{name}/{stage}/{version}` (`version` may be `latest`),
/// the prefix of a version's downloads.
fn model_version_prefix(name: &str, stage: &str, version: &str) -> String {
    format!(
        "{}/{}/{}",
        model(name),
        encode_segment(stage),
        encode_segment(version)
    )
}

/// `/api/v1/models/{name}/{stage}/{version}/bundle.tar.gz`
pub fn model_bundle(name: &str, stage: &str, version: &str) -> String {
    format!(
        "{}/bundle.tar.gz",
        model_version_prefix(name, stage, version)
    )
}

/// `/api/v1/models/{name}/{stage}/{version}/manifest.json`
pub fn model_manifest(name: &str, stage: &str, version: &str) -> String {
    format!(
        "{}/manifest.json",
        model_version_prefix(name, stage, version)
    )
}

/// `/api/v1/models/{name}/{stage}/{version}/files/{path}`; each of the
/// path's segments is percent-encoded.
pub fn model_file(name: &str, stage: &str, version: &str, path: &str) -> String {
    let encoded: Vec<String> = path.split('/').map(encode_segment).collect();
    format!(
        "{}/files/{}",
        model_version_prefix(name, stage, version),
        encoded.join("/")
    )
}

/// `/api/v1/projects/{name}/best` (the caller appends the query).
pub fn project_best(project: &str) -> String {
    format!("{API_PREFIX}/projects/{}/best", encode_segment(project))
}

/// One path segment, percent-encoded (everything but unreserved characters).
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The same path relative to a base URL that may itself carry a path
/// (`https://lab/trainyard/`): `Url::join` with a leading `/` would drop it.
pub fn relative(path: &str) -> &str {
    path.trim_start_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fills `{name}` / `{*name}` placeholders in order.
    fn fill(pattern: &str, values: &[&str]) -> String {
        let mut out = String::new();
        let mut values = values.iter();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
            out.push_str(values.next().copied().unwrap_or("?"));
            rest = &rest[close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn api(pattern: &str, values: &[&str]) -> String {
        format!("{API_PREFIX}{}", fill(pattern, values))
    }

    #[test]
    fn every_builder_lands_on_its_router_pattern() {
        let at = AttemptRef {
            job_id: 7,
            attempt: 2,
        };
        assert_eq!(agent_heartbeat(), api(route::AGENT_HEARTBEAT, &[]));
        assert_eq!(agent_poll(), api(route::AGENT_POLL, &[]));
        let cases = [
            (AttemptAction::Started, route::ATTEMPT_STARTED),
            (AttemptAction::Log, route::ATTEMPT_LOG),
            (AttemptAction::Files, route::ATTEMPT_FILES),
            (AttemptAction::Finished, route::ATTEMPT_FINISHED),
            (AttemptAction::Serving, route::ATTEMPT_SERVING),
            (AttemptAction::Resume, route::ATTEMPT_RESUME),
        ];
        for (action, pattern) in cases {
            assert_eq!(attempt(at, action), api(pattern, &["7", "2"]));
        }
        assert_eq!(
            format!("{}/a.csv", attempt(at, AttemptAction::Files)),
            api(route::ATTEMPT_FILE, &["7", "2", "a.csv"])
        );
        assert_eq!(
            format!("{}/b.pt", attempt(at, AttemptAction::Uploads)),
            api(route::ATTEMPT_UPLOAD, &["7", "2", "b.pt"])
        );
        assert_eq!(events(), api(route::EVENTS, &[]));
        assert_eq!(
            host_telemetry("gpu-01", crate::telemetry::TelemetryWindow::Day),
            format!("{}?window=day", api(route::HOST_TELEMETRY, &["gpu-01"]))
        );
        assert_eq!(webhooks(), api(route::WEBHOOKS, &[]));
        assert_eq!(webhook(4), api(route::WEBHOOK, &["4"]));
        assert_eq!(webhook_test(4), api(route::WEBHOOK_TEST, &["4"]));
        assert_eq!(webhook_deliveries(), api(route::WEBHOOK_DELIVERIES, &[]));
        assert_eq!(experiments(), api(route::EXPERIMENTS, &[]));
        assert_eq!(job(12), api(route::JOB, &["12"]));
        assert_eq!(job_log(12), api(route::JOB_LOG, &["12"]));
        assert_eq!(job_log_stream(12), api(route::JOB_LOG_STREAM, &["12"]));
        assert_eq!(
            format!("{}x.csv", run_files_prefix(3)),
            api(route::RUN_FILE, &["3", "x.csv"])
        );
        assert_eq!(
            attempt(at, AttemptAction::Components),
            api(route::ATTEMPT_COMPONENTS, &["7", "2"])
        );
        assert_eq!(job_manifest(12), api(route::JOB_MANIFEST, &["12"]));
        assert_eq!(job_rerun(12), api(route::JOB_RERUN, &["12"]));
        assert_eq!(job_resume(12), api(route::JOB_RESUME, &["12"]));
        assert_eq!(
            format!("{}/c.json", attempt(at, AttemptAction::Resume)),
            api(route::ATTEMPT_RESUME_FILE, &["7", "2", "c.json"])
        );
        assert_eq!(
            component_by_hash("ab"),
            api(route::COMPONENT_BY_HASH, &["ab"])
        );
        assert_eq!(
            component_path("model", "resnet"),
            api(route::COMPONENT_PATH, &["model", "resnet"])
        );
        assert_eq!(component_upload(), api(route::COMPONENT_UPLOAD, &[]));
        assert_eq!(component_blob("ab"), api(route::COMPONENT_BLOB, &["ab"]));
        assert_eq!(component_plan(), api(route::COMPONENT_PLAN, &[]));
        assert_eq!(relative("/api/v1/x"), "api/v1/x");
        assert_eq!(projects(), api(route::PROJECTS, &[]));
        assert_eq!(project_runs("cifar"), api(route::PROJECT_RUNS, &["cifar"]));
        assert_eq!(
            project_runs("a b/c"),
            api(route::PROJECT_RUNS, &["a%20b%2Fc"])
        );
        assert_eq!(run(4), api(route::RUN, &["4"]));
        assert_eq!(run_notes(4), api(route::RUN_NOTES, &["4"]));
        assert_eq!(run_tags(4), api(route::RUN_TAGS, &["4"]));
        assert_eq!(run_archive(4), api(route::RUN_ARCHIVE, &["4"]));
        assert_eq!(run_restore(4), api(route::RUN_RESTORE, &["4"]));
        assert_eq!(runs_purge(), api(route::RUNS_PURGE, &[]));
        assert_eq!(compare(), api(route::COMPARE, &[]));
        assert_eq!(imports_tensorboard(), api(route::IMPORTS_TENSORBOARD, &[]));
        assert_eq!(catalog(), api(route::CATALOG, &[]));
        assert_eq!(catalog_revisions(), api(route::CATALOG_REVISIONS, &[]));
        assert_eq!(catalog_revision(3), api(route::CATALOG_REVISION, &["3"]));
        assert_eq!(catalog_restore(3), api(route::CATALOG_RESTORE, &["3"]));
        assert_eq!(
            catalog_diff(1, 2),
            format!("{}?from=1&to=2", api(route::CATALOG_DIFF, &[]))
        );
        assert_eq!(catalog_tasks(), api(route::CATALOG_TASKS, &[]));
        assert_eq!(launch(), api(route::LAUNCH, &[]));
        assert_eq!(job_launch(5), api(route::JOB_LAUNCH, &["5"]));
        assert_eq!(models(), api(route::MODELS, &[]));
        assert_eq!(model("m"), api(route::MODEL, &["m"]));
        assert_eq!(model_versions("m"), api(route::MODEL_VERSIONS, &["m"]));
        assert_eq!(
            model_publish_best("m"),
            api(route::MODEL_PUBLISH_BEST, &["m"])
        );
        assert_eq!(
            model_promote("m", "v0001"),
            api(route::MODEL_PROMOTE, &["m", "v0001"])
        );
        assert_eq!(
            model_latest("m", "dev"),
            api(route::MODEL_LATEST, &["m", "dev"])
        );
        assert_eq!(
            model_bundle("m", "dev", "latest"),
            api(route::MODEL_BUNDLE, &["m", "dev", "latest"])
        );
        assert_eq!(
            model_manifest("m", "dev", "v1"),
            api(route::MODEL_MANIFEST, &["m", "dev", "v1"])
        );
        assert_eq!(
            model_file("m", "dev", "v1", "ckpt/a b.pt"),
            api(route::MODEL_FILE, &["m", "dev", "v1", "ckpt/a%20b.pt"])
        );
        assert_eq!(project_best("p q"), api(route::PROJECT_BEST, &["p%20q"]));
    }
}
