//! The model registry's wire types and pure rules (issue 14): model and
//! version names, stages, which run file is "the checkpoint", and the
//! best-run report. The engine (`engine/src/models/`) stores and serves
//! them; clients (the CLI, later the UI, FTP and MLflow bridges) read them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::components::JobManifest;
use crate::job::JobStatus;
use crate::runs::StepValue;

/// The bundle of a version: `payload/…` and `manifest.json`, gzipped tar.
pub const BUNDLE_FILE: &str = "bundle.tar.gz";
/// A version's manifest, beside its bundle and inside it.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The folder of a version's files, on disk and in its bundle.
pub const PAYLOAD_DIR: &str = "payload";
/// What a download URL says instead of a version name.
pub const LATEST: &str = "latest";
/// The longest model or version name.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest notes a version may carry.
pub const MAX_NOTES_CHARS: usize = 10_000;
/// Checkpoint names in the order they are preferred.
pub const CHECKPOINT_NAMES: [&str; 4] = [
    "best_checkpoint.pt",
    "best_checkpoint.pth",
    "model.pt",
    "model.pth",
];

/// Where a version is published. Every model has both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Dev,
    Release,
}

impl Stage {
    pub const ALL: [Stage; 2] = [Stage::Dev, Stage::Release];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Dev => "dev",
            Stage::Release => "release",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = String;

    fn from_str(s: &str) -> Result<Stage, String> {
        match s {
            "dev" => Ok(Stage::Dev),
            "release" => Ok(Stage::Release),
            other => Err(format!(
                "no stage {:?}; stages are dev and release",
                other.chars().take(64).collect::<String>()
            )),
        }
    }
}

/// Whether lower or higher values of the metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BestMode {
    Min,
    Max,
}

impl BestMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BestMode::Min => "min",
            BestMode::Max => "max",
        }
    }
}

impl FromStr for BestMode {
    type Err = String;

    fn from_str(s: &str) -> Result<BestMode, String> {
        match s {
            "min" => Ok(BestMode::Min),
            "max" => Ok(BestMode::Max),
            other => Err(format!(
                "mode is min or max, not {:?}",
                other.chars().take(64).collect::<String>()
            )),
        }
    }
}

/// A model name: 1–64 of `a-z 0-9 _ -`, starting with a letter or digit
/// (the FTP registry's slugs, so a name is also a directory name).
pub fn validate_model_name(name: &str) -> Result<(), String> {
    validate_name(name, false)
}

/// A version name: like a model name, upper case and `.` allowed too
/// (`v0001`, `1.2.0`); `latest` is reserved for "the stage's LATEST".
pub fn validate_version_name(version: &str) -> Result<(), String> {
    if version.eq_ignore_ascii_case(LATEST) {
        return Err("\"latest\" names the stage's LATEST pointer; pick another name".into());
    }
    validate_name(version, true)
}

fn validate_name(name: &str, version: bool) -> Result<(), String> {
    let shown: String = name.chars().take(64).collect();
    if name.is_empty() {
        return Err("empty".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("{shown:?}…: at most {MAX_NAME_CHARS} characters"));
    }
    let first = name.chars().next().unwrap_or('-');
    if !first.is_ascii_alphanumeric() || (!version && first.is_ascii_uppercase()) {
        return Err(format!(
            "{shown:?}: must start with a {}letter or digit",
            if version { "" } else { "lowercase " }
        ));
    }
    let allowed = |c: char| {
        c.is_ascii_digit()
            || c.is_ascii_lowercase()
            || c == '_'
            || c == '-'
            || (version && (c.is_ascii_uppercase() || c == '.'))
    };
    if let Some(bad) = name.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "{shown:?}: {bad:?} is not allowed (use {})",
            if version {
                "letters, digits, '.', '_' and '-'"
            } else {
                "lowercase letters, digits, '_' and '-'"
            }
        ));
    }
    Ok(())
}

/// The automatic name of the `n`th version: `v0001`.
pub fn auto_version(n: u64) -> String {
    format!("v{n:04}")
}

/// The number of an automatic-looking name (`v0007` → 7), so the next
/// automatic name never reuses an explicit `v0007`.
pub fn auto_number(version: &str) -> Option<u64> {
    let digits = version.strip_prefix('v')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The file a run's model is in: the first of [`CHECKPOINT_NAMES`] found
/// (at any depth; the shallowest, then the first by path), else the newest
/// `*.pt`/`*.pth` (by `modified_ms`, then path). `files` are
/// `(path, modified_ms)`.
pub fn pick_checkpoint<'a>(files: &[(&'a str, i64)]) -> Option<&'a str> {
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    for name in CHECKPOINT_NAMES {
        let best = files
            .iter()
            .filter(|(p, _)| base(p) == name)
            .min_by_key(|(p, _)| (p.matches('/').count(), *p));
        if let Some((p, _)) = best {
            return Some(p);
        }
    }
    files
        .iter()
        .filter(|(p, _)| {
            let lower = p.to_ascii_lowercase();
            lower.ends_with(".pt") || lower.ends_with(".pth")
        })
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(p, _)| *p)
}

// ---- best run ---------------------------------------------------------------

/// `GET /api/v1/projects/{project}/best?metric=&mode=&sweep=`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRunQuery {
    pub metric: String,
    pub mode: BestMode,
    #[serde(default)]
    pub sweep: Option<i64>,
}

/// One run with the metric: its best value (and the step it was reached
/// at) and its last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedRun {
    pub job_id: i64,
    pub name: String,
    pub sweep_id: i64,
    pub status: JobStatus,
    pub created_ms: i64,
    pub best: StepValue,
    pub last: StepValue,
    pub points: u64,
}

/// A run left out of the ranking, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRun {
    pub job_id: i64,
    pub name: String,
    pub status: JobStatus,
    pub reason: String,
}

/// The runs of a project (or sweep) ranked by their best value of a metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRunReport {
    pub project: String,
    #[serde(default)]
    pub sweep: Option<i64>,
    pub metric: String,
    pub mode: BestMode,
    /// The first of `ranked`, if any run has the metric.
    #[serde(default)]
    pub best: Option<RankedRun>,
    /// Best first; equal values: the newest run first.
    pub ranked: Vec<RankedRun>,
    /// Runs without a point of the metric (archived runs are not considered).
    pub skipped: Vec<SkippedRun>,
}

// ---- versions and manifests -------------------------------------------------

/// One file of a version, relative to its payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFile {
    pub path: String,
    pub bytes: u64,
    /// xxh3-64, 16 lowercase hex digits.
    pub xxh3: String,
}

/// The metric value that made a run the one to publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceMetric {
    pub key: String,
    pub mode: BestMode,
    pub value: f64,
    pub step: f64,
}

/// Where a version's files came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ModelSource {
    /// Files of a run (job), with the metric when it was chosen as best.
    Run {
        job_id: i64,
        project: String,
        run_name: String,
        #[serde(default)]
        metric: Option<SourceMetric>,
    },
    /// Files a person uploaded.
    Upload,
    /// A copy of another stage's version.
    Promotion {
        from_stage: Stage,
        source_version: String,
        /// The source version's bundle hash.
        source_bundle_xxh3: String,
        /// Where the source version's files came from.
        origin: Box<ModelSource>,
    },
}

/// Everything about one version: written once at registration as
/// `manifest.json` beside the bundle and inside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    pub model: String,
    pub stage: Stage,
    pub version: String,
    pub created_ms: i64,
    pub registered_by: String,
    #[serde(default)]
    pub notes: String,
    pub source: ModelSource,
    /// Sorted by path.
    pub files: Vec<ModelFile>,
    /// The source run's resolved config.
    #[serde(default)]
    pub config_yaml: Option<String>,
    /// The code the source run ran with (its component manifest).
    #[serde(default)]
    pub components: Option<JobManifest>,
}

/// A version as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionView {
    pub model: String,
    pub stage: Stage,
    pub version: String,
    pub created_ms: i64,
    pub registered_by: String,
    #[serde(default)]
    pub notes: String,
    pub source: ModelSource,
    pub files: u64,
    pub bytes: u64,
    pub bundle_bytes: u64,
    pub bundle_xxh3: String,
    /// The stage's LATEST points here.
    #[serde(default)]
    pub latest: bool,
}

/// One stage of a model: its versions (oldest first) and LATEST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageView {
    pub stage: Stage,
    #[serde(default)]
    pub latest: Option<String>,
    pub versions: Vec<ModelVersionView>,
}

/// `GET /api/v1/models/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelView {
    pub name: String,
    pub created_ms: i64,
    /// dev, then release.
    pub stages: Vec<StageView>,
    /// Deployments that are not stopped, and the newest stopped one of
    /// each stage (newest first).
    #[serde(default)]
    pub serving: Vec<crate::serving::ServingView>,
}

/// One model in `GET /api/v1/models`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub name: String,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub versions: u64,
    #[serde(default)]
    pub latest_dev: Option<String>,
    #[serde(default)]
    pub latest_release: Option<String>,
}

// ---- requests ---------------------------------------------------------------

/// `POST /api/v1/models/{name}/versions` as JSON: a version from a run's files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterFromRun {
    pub job_id: i64,
    /// Run file paths to publish; absent: the checkpoint ([`pick_checkpoint`]).
    /// The run's resolved config is always added as `config.yaml` unless a
    /// selected file has that path.
    #[serde(default)]
    pub files: Option<Vec<String>>,
    /// `dev` (the default) or `release`.
    #[serde(default)]
    pub stage: Option<String>,
    /// An explicit name; absent: the next `v0001`-style number.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// Move the stage's LATEST here (a stage's first version always is).
    #[serde(default)]
    pub set_latest: Option<bool>,
}

/// `POST /api/v1/models/{name}/publish-best`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishBest {
    pub project: String,
    #[serde(default)]
    pub sweep: Option<i64>,
    pub metric: String,
    pub mode: BestMode,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub files: Option<Vec<String>>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub set_latest: Option<bool>,
}

/// What publish-best chose and registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedBest {
    pub best: RankedRun,
    pub version: ModelVersionView,
}

/// `POST /api/v1/models/{name}/versions/{version}/promote`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoteRequest {
    /// The stage to copy to.
    pub to: String,
    /// The stage `{version}` is in (default `dev`).
    #[serde(default)]
    pub from: Option<String>,
    /// The name in the target stage; absent: its next number.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub set_latest: Option<bool>,
}

/// The form fields of a multipart `POST /api/v1/models/{name}/versions`
/// besides its files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadVersion {
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub set_latest: Option<bool>,
}

/// `PUT /api/v1/models/{name}/{stage}/latest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetLatest {
    pub version: String,
}

// ---- the FTP mirror ----------------------------------------------------------

/// On the FTP mirror, under `<root>/<stage>/<model>/`: the LATEST version's
/// name (one line), its entry, and every version of the stage.
pub const FTP_LATEST: &str = "LATEST";
pub const FTP_LATEST_JSON: &str = "LATEST.json";
pub const FTP_INDEX: &str = "index.json";
/// `versions/<version>/` holds `payload/…`, `manifest.json`, `bundle.tar.gz`.
pub const FTP_VERSIONS: &str = "versions";

/// One version in the mirror's `index.json` (and `LATEST.json`): what a
/// client needs to fetch and check the bundle. Field names are camelCase,
/// as the seed's registry wrote them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FtpVersionEntry {
    pub model_name: String,
    pub stage: Stage,
    pub version: String,
    pub created_ms: i64,
    #[serde(default)]
    pub registered_by: String,
    #[serde(default)]
    pub notes: String,
    pub source: ModelSource,
    pub files: u64,
    pub bytes: u64,
    /// Relative to the stage's model directory: `versions/<v>/bundle.tar.gz`.
    pub bundle: String,
    pub bundle_bytes: u64,
    pub bundle_xxh3: String,
    /// `versions/<v>/manifest.json`.
    pub manifest: String,
}

/// The mirror's `<stage>/<model>/index.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FtpIndex {
    pub model_name: String,
    pub model_slug: String,
    pub stage: Stage,
    #[serde(default)]
    pub latest: Option<String>,
    /// Oldest first.
    pub versions: Vec<FtpVersionEntry>,
    pub updated_ms: i64,
}

/// Refuses a remote path component that could leave its directory or
/// confuse an FTP server: empty, `.`, `..`, a `/` or `\`, a control
/// character (CR/LF would end the command), longer than 255 bytes.
pub fn validate_ftp_segment(segment: &str) -> Result<(), String> {
    if segment.is_empty() {
        return Err("an empty path component".into());
    }
    if segment == "." || segment == ".." {
        return Err(format!("{segment:?} is not allowed in a path"));
    }
    if segment.len() > 255 {
        return Err("a path component longer than 255 bytes".into());
    }
    if let Some(c) = segment
        .chars()
        .find(|c| *c == '/' || *c == '\\' || c.is_control())
    {
        return Err(format!(
            "{:?}: {c:?} is not allowed in a path component",
            segment.chars().take(100).collect::<String>()
        ));
    }
    Ok(())
}

/// Where a mirror task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MirrorStatus {
    /// Waiting for its first attempt.
    Pending,
    /// Mirrored.
    Done,
    /// The last attempt failed (`last_error`); retried at `next_attempt_ms`.
    Failed,
}

impl MirrorStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorStatus::Pending => "pending",
            MirrorStatus::Done => "done",
            MirrorStatus::Failed => "failed",
        }
    }
}

impl FromStr for MirrorStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(MirrorStatus::Pending),
            "done" => Ok(MirrorStatus::Done),
            "failed" => Ok(MirrorStatus::Failed),
            other => Err(format!("unknown mirror status {other:?}")),
        }
    }
}

/// One mirroring of a model's stage to the FTP target: a version's files
/// (when `version` is set) then the stage's `index.json`, `LATEST.json` and
/// `LATEST`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorTask {
    pub id: i64,
    pub model: String,
    pub stage: Stage,
    #[serde(default)]
    pub version: Option<String>,
    /// The target as `ftp://user@host:port/root` (never a password).
    pub target: String,
    pub status: MirrorStatus,
    pub attempts: u32,
    #[serde(default)]
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
    /// When a failed task is tried again.
    #[serde(default)]
    pub next_attempt_ms: Option<i64>,
}

/// `GET /api/v1/models/{name}/mirror`: the FTP target (none when the
/// server mirrors nowhere) and the model's mirror tasks, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorView {
    #[serde(default)]
    pub target: Option<String>,
    pub tasks: Vec<MirrorTask>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ftp_segments_refuse_traversal_and_control_characters() {
        assert!(validate_ftp_segment("v0001").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a\r\nDELE x", "x\0"] {
            assert!(validate_ftp_segment(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_slugs_and_versions_allow_dots() {
        assert!(validate_model_name("resnet-50_a").is_ok());
        for bad in ["", "Res", "-a", "a b", "a/b", "..", "a.b", &"x".repeat(65)] {
            assert!(validate_model_name(bad).is_err(), "{bad:?}");
        }
        assert!(validate_version_name("v0001").is_ok());
        assert!(validate_version_name("1.2.0-RC1").is_ok());
        for bad in ["", "latest", "LATEST", ".hidden", "a/b", "../x", "a b"] {
            assert!(validate_version_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn automatic_numbers_round_trip() {
        assert_eq!(auto_version(1), "v0001");
        assert_eq!(auto_version(12345), "v12345");
        assert_eq!(auto_number("v0042"), Some(42));
        assert_eq!(auto_number("v"), None);
        assert_eq!(auto_number("v1.0"), None);
        assert_eq!(auto_number("x0001"), None);
    }

    #[test]
    fn the_checkpoint_is_picked_by_name_then_newest() {
        let files = [
            ("ckpt/epoch_9.pt", 90),
            ("model.pth", 10),
            ("deep/best_checkpoint.pth", 5),
            ("x/best_checkpoint.pt", 1),
            ("best_checkpoint.pt", 1),
        ];
        assert_eq!(pick_checkpoint(&files), Some("best_checkpoint.pt"));
        assert_eq!(
            pick_checkpoint(&files[..3]),
            Some("deep/best_checkpoint.pth")
        );
        assert_eq!(pick_checkpoint(&files[..2]), Some("model.pth"));
        let plain = [("a.pt", 5), ("b.PTH", 7), ("c.txt", 99)];
        assert_eq!(pick_checkpoint(&plain), Some("b.PTH"));
        assert_eq!(pick_checkpoint(&[("c.txt", 1)]), None);
    }

    #[test]
    fn stages_and_modes_parse() {
        assert_eq!("release".parse::<Stage>(), Ok(Stage::Release));
        assert!("prod".parse::<Stage>().is_err());
        assert_eq!("min".parse::<BestMode>(), Ok(BestMode::Min));
        assert!("avg".parse::<BestMode>().is_err());
    }
}
