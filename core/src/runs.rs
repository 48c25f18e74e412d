//! Results as the Projects, Compare and Queue pages see them: projects with
//! run counts, a sorted and paged runs table, notes and tags, a comparison
//! of runs' metrics, and live progress of running jobs.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::job::{JobStatus, JobView};
use crate::metrics::MetricSeries;

/// Longest note on a run, in characters.
pub const MAX_NOTES_CHARS: usize = 4_000;
/// The `reason` of a run an MLflow client created (it never ran on a
/// Trainyard host, so it has no attempts).
pub const MLFLOW_RUN_REASON: &str = "logged through the MLflow API";
/// Most tags on one run.
pub const MAX_TAGS: usize = 16;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 40;
/// Most rows one runs-table page may hold.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Most runs one comparison may hold.
pub const MAX_COMPARE_RUNS: usize = 20;

/// One project: every job names one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub name: String,
    pub runs: u64,
    /// Queued, assigned, running or lost.
    pub active: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// When its newest run was submitted (Unix ms).
    pub last_created_ms: i64,
    /// Archived runs (not counted above unless archived runs were asked for).
    #[serde(default)]
    pub archived: u64,
}

/// A column the runs table sorts by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunColumn {
    Id,
    Name,
    Status,
    Started,
    Duration,
    /// A config parameter (grid axis) by key.
    Param(String),
    /// A metric's last value by key.
    Metric(String),
}

impl RunColumn {
    /// Its name in a URL: `id`, `started`, `param:optimizer.lr`, `metric:loss`.
    pub fn param(&self) -> String {
        match self {
            RunColumn::Id => "id".into(),
            RunColumn::Name => "name".into(),
            RunColumn::Status => "status".into(),
            RunColumn::Started => "started".into(),
            RunColumn::Duration => "duration".into(),
            RunColumn::Param(k) => format!("param:{k}"),
            RunColumn::Metric(k) => format!("metric:{k}"),
        }
    }

    /// Parses [`RunColumn::param`]'s form; the error says what is accepted.
    pub fn from_param(text: &str) -> Result<RunColumn, String> {
        let column = match text {
            "id" => RunColumn::Id,
            "name" => RunColumn::Name,
            "status" => RunColumn::Status,
            "started" => RunColumn::Started,
            "duration" => RunColumn::Duration,
            other => match other.split_once(':') {
                Some(("param", k)) if !k.is_empty() => RunColumn::Param(k.into()),
                Some(("metric", k)) if !k.is_empty() => RunColumn::Metric(k.into()),
                _ => {
                    return Err(format!(
                        "unknown sort column {other:?}; use id, name, status, started, duration, param:<key> or metric:<key>"
                    ))
                }
            },
        };
        Ok(column)
    }
}

/// Which runs of a project to show, in what order, which page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunsQuery {
    pub project: String,
    #[serde(default)]
    pub status: Option<JobStatus>,
    /// Matches name, parameters, notes and tags (case-insensitive).
    #[serde(default)]
    pub search: String,
    pub sort: RunColumn,
    pub descending: bool,
    /// 0-based.
    pub page: u32,
    pub page_size: u32,
    /// Archived runs are left out unless asked for.
    #[serde(default)]
    pub archived: ArchivedFilter,
}

impl RunsQuery {
    /// The first page of a project's runs, newest first.
    pub fn newest(project: &str) -> RunsQuery {
        RunsQuery {
            project: project.into(),
            status: None,
            search: String::new(),
            sort: RunColumn::Id,
            descending: true,
            page: 0,
            page_size: 50,
            archived: ArchivedFilter::Exclude,
        }
    }
}

/// One row of the runs table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub job: JobView,
    /// Last value per metric key, ordered by key.
    pub metrics: Vec<(String, f64)>,
    #[serde(default)]
    pub notes: RunNotes,
    /// Where it ran and whether the server has all of its files.
    #[serde(default)]
    pub state: RunState,
}

/// A page of the runs table plus the columns the whole project has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunsPage {
    /// Runs matching the filter, over all pages.
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
    pub rows: Vec<RunRow>,
    /// Parameter keys of the project's runs, in first-seen order.
    pub param_keys: Vec<String>,
    /// Metric keys of the project's runs, sorted.
    pub metric_keys: Vec<String>,
}

/// What people wrote about a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunNotes {
    pub notes: String,
    pub tags: Vec<String>,
}

/// Why notes or tags were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NotesError {
    #[error("notes are {0} characters; at most {MAX_NOTES_CHARS} are kept")]
    NotesTooLong(usize),
    #[error("{0} tags; at most {MAX_TAGS} per run")]
    TooManyTags(usize),
    #[error("tag {0:?} is longer than {MAX_TAG_CHARS} characters")]
    TagTooLong(String),
    #[error("tags cannot contain commas or control characters: {0:?}")]
    BadTag(String),
}

impl RunNotes {
    /// Trims tags, drops empty and repeated ones, and checks the limits.
    pub fn cleaned(self) -> Result<RunNotes, NotesError> {
        let chars = self.notes.chars().count();
        if chars > MAX_NOTES_CHARS {
            return Err(NotesError::NotesTooLong(chars));
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in self.tags {
            let tag = tag.trim().to_string();
            if tag.is_empty() || tags.contains(&tag) {
                continue;
            }
            if tag.chars().count() > MAX_TAG_CHARS {
                return Err(NotesError::TagTooLong(tag));
            }
            if tag.chars().any(|c| c == ',' || c.is_control()) {
                return Err(NotesError::BadTag(tag));
            }
            tags.push(tag);
        }
        if tags.len() > MAX_TAGS {
            return Err(NotesError::TooManyTags(tags.len()));
        }
        Ok(RunNotes {
            notes: self.notes,
            tags,
        })
    }

    /// Tags from a comma-separated text field.
    pub fn split_tags(text: &str) -> Vec<String> {
        text.split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    }
}

/// Whether smaller values of metric `key` are better: loss-like names.
pub fn lower_is_better(key: &str) -> bool {
    const LOWER: [&str; 9] = [
        "loss",
        "err",
        "error",
        "perplexity",
        "mse",
        "mae",
        "rmse",
        "wer",
        "cer",
    ];
    let key = key.to_ascii_lowercase();
    LOWER.iter().any(|word| key.contains(word))
}

/// A value and the step it was reported at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StepValue {
    pub step: f64,
    pub value: f64,
}

/// One metric of one run in a comparison: last, lowest and highest point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalValue {
    pub key: String,
    pub last: StepValue,
    pub min: StepValue,
    pub max: StepValue,
    pub count: u64,
}

impl FinalValue {
    /// The best point, lowest or highest.
    pub fn best(&self, lower_better: bool) -> StepValue {
        if lower_better {
            self.min
        } else {
            self.max
        }
    }
}

/// One run in a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparedRun {
    pub job: JobView,
    /// One per metric key the run has, ordered by key, bounded in points.
    pub series: Vec<MetricSeries>,
    pub finals: Vec<FinalValue>,
}

/// Runs side by side: their curves and final values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunComparison {
    pub runs: Vec<ComparedRun>,
    /// Every metric key of any run, sorted.
    pub keys: Vec<String>,
    /// Every parameter key of any run, in first-seen order.
    pub param_keys: Vec<String>,
}

/// How far a running job is: from its metric lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunProgress {
    pub job_id: i64,
    /// Epoch or step reached.
    pub current: f64,
    /// Epochs or steps in all.
    pub total: f64,
    /// `"epoch"` or `"step"`.
    pub unit: String,
    /// Seconds left at the rate seen so far; `None` until there is a rate.
    #[serde(default)]
    pub eta_secs: Option<u64>,
}

impl RunProgress {
    /// Done so far, 0.0–1.0.
    pub fn fraction(&self) -> f64 {
        if self.total > 0.0 {
            (self.current / self.total).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// `POST /api/v1/imports/tensorboard`: a TensorBoard log dir on the
/// server's machine to import (`trainyard import tensorboard DIR`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorBoardImport {
    /// The log dir, as the server's process sees it (absolute is safest).
    pub dir: String,
    /// The project its runs go to (default: the directory's name).
    #[serde(default)]
    pub project: Option<String>,
}

/// What one pass over the imported log trees (`--import-dir`) did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// Runs found.
    pub runs: usize,
    /// Runs seen for the first time.
    pub added: usize,
    /// Known runs whose files changed (every run, after a re-index).
    pub updated: usize,
    /// Directories, runs or files left out, with why.
    pub skipped: Vec<String>,
    /// TensorBoard event files: metric points recorded by this pass.
    #[serde(default)]
    pub points: u64,
    /// TensorBoard event files: corrupt records reported as run problems.
    #[serde(default)]
    pub problems: u64,
    /// TensorBoard event files: histograms, images, text and other
    /// non-scalar summaries counted and skipped by this pass.
    #[serde(default)]
    pub summaries_skipped: u64,
}

// ---- archive, origin and sync state (issue 11) -----------------------------

/// Which runs a listing shows by archive state: `exclude` (the default),
/// `include` or `only`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchivedFilter {
    #[default]
    Exclude,
    Include,
    Only,
}

impl ArchivedFilter {
    pub const ALL: [ArchivedFilter; 3] = [
        ArchivedFilter::Exclude,
        ArchivedFilter::Include,
        ArchivedFilter::Only,
    ];

    /// Its name in a URL (`archived=include`).
    pub fn label(self) -> &'static str {
        match self {
            ArchivedFilter::Exclude => "exclude",
            ArchivedFilter::Include => "include",
            ArchivedFilter::Only => "only",
        }
    }
}

impl std::str::FromStr for ArchivedFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArchivedFilter::ALL
            .into_iter()
            .find(|a| a.label() == s)
            .ok_or_else(|| format!("archived: unknown value {s:?}; use exclude, include or only"))
    }
}

/// Where a run ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RunOrigin {
    /// The server's own in-process agent.
    Local { host_id: String },
    /// An agent on another host.
    Remote { host_id: String },
    /// Indexed from an `--import-dir` tree; its files stay where they are.
    Imported,
    /// Created by an MLflow client (docs/tracking.md): every call's data
    /// is on the server when the call returns.
    Mlflow,
}

impl RunOrigin {
    /// What a table shows: `local`, the host id, `imported` or `mlflow`.
    pub fn label(&self) -> &str {
        match self {
            RunOrigin::Local { .. } => "local",
            RunOrigin::Remote { host_id } => host_id,
            RunOrigin::Imported => "imported",
            RunOrigin::Mlflow => "mlflow",
        }
    }
}

/// Whether the server has all of a run's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunSync {
    /// Its agent reported the end after a final pass found every file
    /// identical (or the run was imported in place).
    Synced,
    /// It is running (or its agent may still report) and its host is
    /// reachable: files are arriving.
    Syncing,
    /// Its host is unreachable, or its attempt ended without its agent's
    /// final report: the server may not have everything.
    Outdated,
}

impl RunSync {
    pub fn label(self) -> &'static str {
        match self {
            RunSync::Synced => "synced",
            RunSync::Syncing => "syncing",
            RunSync::Outdated => "outdated",
        }
    }
}

/// A run's archive state, origin and sync state (the seed's
/// `server_origin` and `sync_status`). Never-started runs have neither.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunState {
    /// When it was archived (Unix ms); `None` if it is not.
    #[serde(default)]
    pub archived_ms: Option<i64>,
    #[serde(default)]
    pub server_origin: Option<RunOrigin>,
    #[serde(default)]
    pub sync_status: Option<RunSync>,
}

/// One metric of a run in its detail: last value and best value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetric {
    pub key: String,
    pub last: StepValue,
    /// Lowest for loss-like names ([`lower_is_better`]), else highest.
    pub best: StepValue,
    pub lower_is_better: bool,
    pub count: u64,
}

/// How many files a run has on the server and their total size.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFilesSummary {
    pub count: u64,
    pub bytes: u64,
    /// Every path with its size, sorted by path (at most
    /// [`MAX_DETAIL_FILES`]; `count` is the whole number).
    pub files: Vec<(String, u64)>,
}

/// Paths a run detail lists at most.
pub const MAX_DETAIL_FILES: usize = 200;

/// Everything about one run: `GET /api/v1/runs/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub job: JobView,
    /// The resolved config.
    pub config_yaml: String,
    pub metrics: Vec<RunMetric>,
    pub notes: RunNotes,
    pub files: RunFilesSummary,
    pub state: RunState,
}

/// What `purge_archived_runs` removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PurgeReport {
    /// Runs deleted with their files, metrics, output and notes.
    pub purged: Vec<i64>,
    /// Archived runs left in place, with why.
    pub skipped: Vec<String>,
}

/// Parses an age such as `30d`, `12h`, `90m`, `45s` or `2w` into ms; the
/// error names `field`.
pub fn parse_age_ms(field: &str, text: &str) -> Result<i64, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "{field}: {text:?} is not an age; use a number and a unit: 45s, 90m, 12h, 30d or 2w"
        )
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return Err(bad()),
    };
    n.checked_mul(unit_ms)
        .filter(|ms| *ms <= 100 * 365 * 86_400_000)
        .ok_or_else(|| format!("{field}: {text:?} is more than 100 years"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_like_names_are_lower_is_better() {
        for key in [
            "loss",
            "val/loss",
            "train_error",
            "WER",
            "test/rmse",
            "perplexity",
        ] {
            assert!(lower_is_better(key), "{key}");
        }
        for key in ["accuracy", "val/acc@1", "f1", "bleu"] {
            assert!(!lower_is_better(key), "{key}");
        }
    }

    #[test]
    fn sort_columns_round_trip_and_unknown_ones_say_what_works() {
        for c in [
            RunColumn::Id,
            RunColumn::Duration,
            RunColumn::Param("optimizer.lr".into()),
            RunColumn::Metric("val/loss".into()),
        ] {
            assert_eq!(RunColumn::from_param(&c.param()), Ok(c));
        }
        match RunColumn::from_param("colour") {
            Err(err) => assert!(err.contains("param:<key>"), "{err}"),
            Ok(c) => panic!("accepted {c:?}"),
        }
        assert!(RunColumn::from_param("metric:").is_err());
    }

    #[test]
    fn notes_are_cleaned_and_limits_enforced() {
        let notes = RunNotes {
            notes: "best so far".into(),
            tags: vec![
                " baseline ".into(),
                "".into(),
                "baseline".into(),
                "lr".into(),
            ],
        };
        let clean = notes.cleaned().expect("cleaned");
        assert_eq!(clean.tags, vec!["baseline", "lr"]);
        let huge = RunNotes {
            notes: "x".repeat(MAX_NOTES_CHARS + 1),
            tags: vec![],
        };
        assert_eq!(
            huge.cleaned(),
            Err(NotesError::NotesTooLong(MAX_NOTES_CHARS + 1))
        );
        let many = RunNotes {
            notes: String::new(),
            tags: (0..=MAX_TAGS).map(|i| format!("t{i}")).collect(),
        };
        assert!(matches!(many.cleaned(), Err(NotesError::TooManyTags(_))));
        assert_eq!(RunNotes::split_tags("a, b,,c "), vec!["a", "b", "c"]);
    }

    #[test]
    fn ages_parse_and_bad_ones_name_the_field() {
        assert_eq!(parse_age_ms("older_than", "30d"), Ok(30 * 86_400_000));
        assert_eq!(parse_age_ms("older_than", "0s"), Ok(0));
        assert_eq!(parse_age_ms("older_than", "90m"), Ok(90 * 60_000));
        for bad in ["", "d", "30", "30x", "-1d", "1.5d", "99999999999999w"] {
            match parse_age_ms("older_than", bad) {
                Err(e) => assert!(e.starts_with("older_than:"), "{e}"),
                Ok(v) => panic!("{bad:?} gave {v}"),
            }
        }
        assert_eq!("only".parse(), Ok(ArchivedFilter::Only));
        assert!("all".parse::<ArchivedFilter>().is_err());
    }
}
