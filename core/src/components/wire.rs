//! What crosses the wire about components: the agent's sync before a job
//! starts (one request, one plan), manifests, conflict notifications, and
//! the shapes of CVLab-Kit's `/api/components/...` API, which Trainyard
//! serves so CVLab-Kit's own worker client works unchanged (those answers
//! are wrapped in [`Envelope`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ConflictKind, Resolution, SyncAction, SyncStrategy};

/// One file a job needs, as the worker has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalCopy {
    /// A store path (`model/resnet.py`) or, for `code:` files, the path
    /// relative to the job's working directory.
    pub path: String,
    /// xxh3-64 of the worker's file; `None` when it has none.
    #[serde(default)]
    pub hash: Option<String>,
}

/// `POST /api/v1/agents/jobs/{job}/attempts/{n}/components`: what the job's
/// config references and what the worker has of it. The answer is the
/// whole plan, so a sync costs one round trip (plus one upload per file
/// the server has never seen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRequest {
    /// The agent's `--sync-strategy`; the experiment's `sync:` overrides it.
    #[serde(default)]
    pub strategy: SyncStrategy,
    #[serde(default)]
    pub components: Vec<LocalCopy>,
    /// Files matched by the experiment's `code:` globs.
    #[serde(default)]
    pub code: Vec<LocalCopy>,
}

/// What to do with one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStep {
    pub path: String,
    /// A `code:` file (workdir-relative), not a component.
    #[serde(default)]
    pub code: bool,
    #[serde(default)]
    pub conflict: Option<ConflictKind>,
    pub action: SyncAction,
    /// The content the job runs with (what its manifest records); `None`
    /// when nothing runs for this path.
    #[serde(default)]
    pub hash: Option<String>,
    /// For a download: the content to write, after checking it hashes to `hash`.
    #[serde(default)]
    pub content: Option<String>,
    /// The worker must send its copy (`PUT …/components/{path}`): the
    /// server does not hold that content yet.
    #[serde(default)]
    pub upload: bool,
    /// The notification a person will answer (`Ask`).
    #[serde(default)]
    pub notice: Option<i64>,
}

/// The answer to a [`SyncRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPlan {
    /// The strategy that was applied.
    pub strategy: SyncStrategy,
    /// Set when the job re-runs another job's exact code.
    #[serde(default)]
    pub pinned_to: Option<i64>,
    pub steps: Vec<SyncStep>,
}

/// Query of `PUT /api/v1/agents/jobs/{job}/attempts/{n}/components/{*path}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyUploadQuery {
    /// xxh3-64 of the body, which must match.
    pub xxh3: String,
    #[serde(default)]
    pub code: bool,
}

/// One file a job ran with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    pub path: String,
    pub hash: String,
    #[serde(default)]
    pub code: bool,
    /// It was the path's active version when the job started.
    #[serde(default)]
    pub was_active: bool,
    #[serde(default)]
    pub size: u64,
}

/// `GET /api/v1/jobs/{id}/manifest`: the code an attempt ran with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobManifest {
    pub job_id: i64,
    pub attempt: u32,
    #[serde(default)]
    pub strategy: Option<SyncStrategy>,
    /// The job re-ran this job's exact code.
    #[serde(default)]
    pub pinned_to: Option<i64>,
    pub entries: Vec<ManifestEntry>,
    pub created_ms: i64,
}

/// A `local_newer` conflict waiting for (or answered by) a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictNotice {
    pub id: i64,
    pub host_id: String,
    #[serde(default)]
    pub job_id: Option<i64>,
    pub path: String,
    pub kind: ConflictKind,
    pub local_hash: String,
    #[serde(default)]
    pub server_hash: Option<String>,
    pub created_ms: i64,
    #[serde(default)]
    pub choice: Option<Resolution>,
    #[serde(default)]
    pub answered_by: Option<String>,
    #[serde(default)]
    pub answered_ms: Option<i64>,
    /// When the host carried the choice out.
    #[serde(default)]
    pub applied_ms: Option<i64>,
}

/// `POST /api/v1/components/notices/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeAnswer {
    pub choice: Resolution,
}

/// Every answer of the `/api/components/...` API: `{"data": …, "meta": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub data: T,
    #[serde(default)]
    pub meta: EnvelopeMeta,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeMeta {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub timestamp: String,
    #[serde(default)]
    pub version: String,
}

/// One version of one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentVersion {
    pub hash: String,
    pub path: String,
    pub category: String,
    pub name: String,
    pub is_active: bool,
    /// ISO-8601 UTC, as CVLab-Kit's client receives it.
    pub created_at: String,
    /// The code, when asked for (`null` otherwise).
    pub content: Option<String>,
    #[serde(default)]
    pub created_ms: i64,
    #[serde(default)]
    pub size: u64,
    /// Who or what added it: `scan`, `upload by <who>`, `agent <host> (job N)`.
    #[serde(default)]
    pub added_by: String,
    /// Jobs that ran with this version, newest first (at most 50).
    #[serde(default)]
    pub used_by: Vec<i64>,
}

/// A path with its versions, for lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentSummary {
    pub path: String,
    pub category: String,
    pub name: String,
    pub active_hash: Option<String>,
    pub version_count: u64,
    pub updated_at: Option<String>,
    #[serde(default)]
    pub updated_ms: i64,
}

/// `POST …/versions/upload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRequest {
    pub path: String,
    pub content: String,
    #[serde(default = "yes")]
    pub activate: bool,
}

fn yes() -> bool {
    true
}

/// The answer to an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResponse {
    pub hash: String,
    pub path: String,
    pub category: String,
    pub name: String,
    /// This path had no version with this content before.
    pub is_new: bool,
    pub is_active: bool,
}

/// `POST …/versions/activate`. A hash may be stored under several paths;
/// `path` says which (CVLab-Kit's client sends only the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivateRequest {
    pub hash: String,
    #[serde(default)]
    pub path: Option<String>,
}

/// `POST …/versions/diff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffRequest {
    pub from_hash: String,
    pub to_hash: String,
}

/// Two versions side by side, and the unified diff between them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffResponse {
    pub from_hash: String,
    pub to_hash: String,
    pub from_content: String,
    pub to_content: String,
    pub path: String,
    #[serde(default)]
    pub unified: String,
}

/// `POST …/versions/scan`: what reading the components dir did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    /// Files read (CVLab-Kit's field).
    pub registered: usize,
    /// Of those, new versions stored.
    #[serde(default)]
    pub new_versions: usize,
    /// Files left out, with why.
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// `GET /api/components/manifest/{uid}`, CVLab-Kit's shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExperimentManifest {
    pub experiment_uid: String,
    pub components: BTreeMap<String, String>,
    pub created_at: String,
}

/// ISO-8601 UTC with microseconds and no zone (`2026-11-30T11:55:49.813000`),
/// the form CVLab-Kit's server writes, from Unix milliseconds.
pub fn iso_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}000",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_cvlabkit_writes_them() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000000");
        assert_eq!(iso_utc(1_796_039_749_813), "2026-11-30T11:55:49.813000");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00.000000");
    }

    #[test]
    fn an_upload_without_activate_activates() {
        let up: UploadRequest =
            serde_json::from_str(r#"{"path":"model/a.py","content":"x"}"#).expect("it parses");
        assert!(up.activate);
    }
}
