//! Importing what already exists: CVLab-Kit style trees
//! (`<root>/<project>/<run>.csv`, `<run>_config.yaml`, `<run>.pt`) and
//! TensorBoard log dirs (`<root>/<project>/<run dir>/events.out.tfevents.*`,
//! `tensorboard.rs`) given with `--import-dir` are indexed in place (nothing is copied) and watched:
//! a scan every [`WATCH_INTERVAL`] compares each run's file sizes and
//! modification times with what was indexed, so new runs and new rows show
//! up within seconds. A re-index forgets those signatures and reads every
//! run again; job ids are kept, so notes, tags and series survive.
//!
//! Imported runs are stored as jobs the scheduler never sees; their CSV
//! rows go to the metric store and their files are listed in place, both
//! through what the caller passes in.

mod infer;
mod scan;
mod tensorboard;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use trainyard_core::runs::ImportReport;
use trainyard_core::sync::FileEntry;
use trainyard_core::work::AttemptRef;
use trainyard_core::{JobStatus, JobView, Priority};

use crate::clock::{unix_ms, Clock};
use crate::error::EngineError;
use crate::events::{BusEvent, EventBus};
use crate::files::RunFileStore;
use crate::metrics::{CsvSource, Metrics};
use crate::store::{ImportedRun, JobRow, NewSweep, Store};
use scan::{scan_one_project, scan_root, FoundRun};

/// How often watched trees are scanned.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);

/// The imports domain.
pub(crate) struct Imports {
    /// The trees given with `--import-dir`.
    dirs: Vec<PathBuf>,
    /// Command stored with imported runs, so they can be re-run.
    default_command: Option<Vec<String>>,
    /// One scan at a time.
    scanning: tokio::sync::Mutex<()>,
    store: Store,
    bus: Arc<EventBus>,
    clock: Clock,
}

impl Imports {
    pub fn new(
        dirs: Vec<PathBuf>,
        default_command: Option<Vec<String>>,
        store: Store,
        bus: Arc<EventBus>,
        clock: Clock,
    ) -> Imports {
        Imports {
            dirs,
            default_command,
            scanning: tokio::sync::Mutex::new(()),
            store,
            bus,
            clock,
        }
    }

    /// The trees given with `--import-dir`.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Reads every run of every tree again (the "re-index" button).
    pub async fn reindex(&self, metrics: &Metrics) -> Result<ImportReport, EngineError> {
        let _one = self.scanning.lock().await;
        self.store.clear_import_signatures().await?;
        Ok(self.scan_locked(metrics).await)
    }

    /// Indexes new and changed runs of every tree.
    pub async fn scan(&self, metrics: &Metrics) -> ImportReport {
        let _one = self.scanning.lock().await;
        self.scan_locked(metrics).await
    }

    async fn scan_locked(&self, metrics: &Metrics) -> ImportReport {
        let mut report = ImportReport::default();
        for root in &self.dirs {
            let scanned = {
                let root = root.clone();
                tokio::task::spawn_blocking(move || scan_root(&root)).await
            };
            let scan = match scanned {
                Ok(Ok(scan)) => scan,
                Ok(Err(e)) => {
                    report.skipped.push(format!("{}: {e}", root.display()));
                    continue;
                }
                Err(e) => {
                    report.skipped.push(format!("{}: {e}", root.display()));
                    continue;
                }
            };
            // TensorBoard runs: directories of event files (a readable
            // root, so an unreadable one is reported once).
            self.scan_tensorboard(root, metrics, &mut report).await;
            report.skipped.extend(scan.skipped);
            report.runs += scan.runs.len();
            for run in scan.runs {
                match self.index_found_run(root, &run, metrics).await {
                    Ok(Indexed::Unchanged) => {}
                    Ok(Indexed::Added) => report.added += 1,
                    Ok(Indexed::Updated) => report.updated += 1,
                    Err(e) => report
                        .skipped
                        .push(format!("{}/{}: {e}", run.project, run.run)),
                }
            }
        }
        report
    }

    async fn index_found_run(
        &self,
        root: &Path,
        found: &FoundRun,
        metrics: &Metrics,
    ) -> Result<Indexed, EngineError> {
        let root_text = root.to_string_lossy();
        let signature = found.signature();
        let known = self
            .store
            .imported_run(&root_text, &found.project, &found.run)
            .await?;
        if known
            .as_ref()
            .is_some_and(|k| still_valid(&k.signature, &signature, self.clock.now_ms()))
        {
            return Ok(Indexed::Unchanged);
        }
        let config_yaml = match found.config() {
            Some(name) => tokio::fs::read_to_string(found.dir.join(name))
                .await
                .unwrap_or_default(),
            None => String::new(),
        };
        let params = infer::config_params(&config_yaml);
        let first_ms = found
            .files
            .iter()
            .map(|f| unix_ms(f.2))
            .min()
            .unwrap_or_else(|| self.clock.now_ms());
        let (mut row, outcome) = match &known {
            Some(k) => match self.store.job(k.job_id).await? {
                Some(row) => (row, Indexed::Updated),
                None => return Err(EngineError::JobNotFound(k.job_id)),
            },
            None => {
                let row = self.new_imported_job(&found.project, &found.run, &config_yaml, first_ms);
                let sweep = NewSweep {
                    launch: None,
                    project: &found.project,
                    source_yaml: &config_yaml,
                    created_ms: first_ms,
                };
                // Signature '' until indexed, so a crash mid-way retries.
                let row = self
                    .store
                    .insert_imported_run(sweep, row, &root_text, &found.run, "")
                    .await?;
                (row, Indexed::Added)
            }
        };
        let job_id = row.view.id;
        let csv_rows = match found.csv() {
            Some(name) => {
                Some(index_imported_csv(metrics, job_id, &found.dir.join(name), name).await?)
            }
            None => None,
        };
        let last_change_ms = found
            .csv()
            .and_then(|name| found.files.iter().find(|f| f.0 == name))
            .or_else(|| found.files.iter().max_by_key(|f| f.2))
            .map(|f| unix_ms(f.2))
            .unwrap_or(first_ms);
        let last_epoch = last_epoch(metrics, job_id).await?;
        let (status, reason) = infer::infer_status(&infer::Evidence {
            params: &params,
            csv_rows,
            last_epoch,
            last_change_ms,
            now_ms: self.clock.now_ms(),
        });
        let view = &mut row.view;
        view.status = status;
        view.reason = reason;
        view.params = params;
        view.started_ms = Some(first_ms);
        view.finished_ms = status.is_final().then_some(last_change_ms);
        view.duration_ms = Some((last_change_ms - first_ms).max(0));
        row.config_yaml = config_yaml;
        // A run called running only because its files are fresh is looked
        // at again once they are not, even if nothing changes.
        let saved = match status {
            JobStatus::Running => format!("{signature}@{}", last_change_ms + infer::FRESH_MS + 1),
            _ => signature,
        };
        self.store.update_imported_run(&row, &saved).await?;
        self.bus.publish(BusEvent::Job(Arc::new(row.view)));
        Ok(outcome)
    }

    /// A job row for a run found in an import tree (never scheduled).
    fn new_imported_job(
        &self,
        project: &str,
        name: &str,
        config_yaml: &str,
        first_ms: i64,
    ) -> JobRow {
        let view = JobView {
            project: project.to_string(),
            name: name.to_string(),
            status: JobStatus::Running,
            priority: Priority::Normal,
            command: self.default_command.clone().unwrap_or_default(),
            attempt: 1,
            created_ms: first_ms,
            reason: Some("imported".into()),
            ..JobView::default()
        };
        JobRow {
            view,
            config_yaml: config_yaml.to_string(),
        }
    }

    /// The import record of a job, if it was imported.
    pub async fn imported(&self, job_id: i64) -> Result<Option<ImportedRun>, EngineError> {
        self.store.imported_run_of_job(job_id).await
    }

    /// An imported run's files, listed from its project directory.
    pub async fn imported_files(
        &self,
        run: &ImportedRun,
        files: &RunFileStore,
    ) -> Result<Vec<FileEntry>, EngineError> {
        if let Some(run_dir) = &run.run_dir {
            return tensorboard_files(Path::new(run_dir), files).await;
        }
        let dir = Path::new(&run.root).join(&run.project);
        let scan = {
            let root = PathBuf::from(&run.root);
            let project = run.project.clone();
            tokio::task::spawn_blocking(move || scan_one_project(&root, &project))
                .await
                .map_err(|e| EngineError::Io {
                    path: dir.clone(),
                    source: std::io::Error::other(e),
                })?
                .map_err(|source| EngineError::Io {
                    path: dir.clone(),
                    source,
                })?
        };
        let Some(found) = scan.runs.into_iter().find(|r| r.run == run.run) else {
            return Ok(Vec::new());
        };
        let mut entries = Vec::new();
        for (name, size, modified) in &found.files {
            let entry = files
                .entry(name.clone(), &dir.join(name), *size, *modified)
                .await?;
            entries.push(entry);
        }
        Ok(entries)
    }
}

/// An imported TensorBoard run's files: the event files in its directory.
async fn tensorboard_files(
    dir: &Path,
    files: &RunFileStore,
) -> Result<Vec<FileEntry>, EngineError> {
    let io = |source| EngineError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut listed = Vec::new();
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    while let Some(entry) = entries.next_entry().await.map_err(io)? {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let meta = entry.metadata().await.map_err(io)?;
        // Only event files: a directory named over the API must not
        // expose anything else the server can read.
        if !meta.is_file()
            || !crate::metrics::tfevents::is_event_file(&name)
            || name.starts_with('.')
            || trainyard_core::sync::validate_path_component(&name).is_err()
        {
            continue;
        }
        let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
        listed.push(
            files
                .entry(name, &entry.path(), meta.len(), modified)
                .await?,
        );
    }
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(listed)
}

/// Indexes the run's CSV (new rows only; a rewrite with a new header is
/// read again past the rows already indexed). Returns the rows indexed.
async fn index_imported_csv(
    metrics: &Metrics,
    job_id: i64,
    file: &Path,
    name: &str,
) -> Result<u64, EngineError> {
    let source = CsvSource {
        at: AttemptRef { job_id, attempt: 1 },
        name,
        file: file.to_path_buf(),
        key_prefix: String::new(),
    };
    let rewritten = metrics.csv_was_rewritten(&source).await?;
    metrics.index_csv(&source, rewritten).await?;
    metrics.csv_rows_indexed(&source).await
}

/// The last epoch a run reached: its `epoch` metric, else its last step.
async fn last_epoch(metrics: &Metrics, job_id: i64) -> Result<Option<f64>, EngineError> {
    let keys = metrics.keys(job_id).await?;
    if let Some(epoch) = keys.iter().find(|k| k.key.eq_ignore_ascii_case("epoch")) {
        return Ok(Some(epoch.last));
    }
    Ok(keys
        .iter()
        .filter(|k| k.count > 0)
        .map(|k| k.last_step)
        .reduce(f64::max))
}

/// Whether a stored signature (`<files hash>[@<recheck after ms>]`) still
/// describes a run whose files hash to `current`.
fn still_valid(stored: &str, current: &str, now_ms: i64) -> bool {
    let (hash, recheck_after) = match stored.split_once('@') {
        Some((hash, at)) => (hash, at.parse::<i64>().ok()),
        None => (stored, None),
    };
    hash == current && recheck_after.is_none_or(|at| now_ms < at)
}

enum Indexed {
    Unchanged,
    Added,
    Updated,
}

#[cfg(test)]
mod tests {
    use super::still_valid;

    #[test]
    fn a_fresh_running_run_is_looked_at_again_when_its_hour_is_up() {
        assert!(still_valid("abc", "abc", 5));
        assert!(!still_valid("abc", "abd", 5));
        assert!(still_valid("abc@10", "abc", 5));
        assert!(!still_valid("abc@10", "abc", 10));
        assert!(!still_valid("", "abc", 0), "a cleared signature re-reads");
    }
}
