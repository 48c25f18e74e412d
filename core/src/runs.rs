//! Results as the Projects, Compare and Queue pages see them: projects with
//! run counts, a sorted and paged runs table, notes and tags, a comparison
//! of runs' metrics, and live progress of running jobs.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::job::{JobStatus, JobView};
use crate::metrics::MetricSeries;

/// Longest note on a run, in characters.
pub const MAX_NOTES_CHARS: usize = 4_000;
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
}
