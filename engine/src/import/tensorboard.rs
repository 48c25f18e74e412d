//! TensorBoard log dirs: every directory holding `events.out.tfevents.*`
//! files is a run (several files over restarts, read in name order, which
//! is creation order), named by its path relative to the project's
//! directory (`loss/train` for an `add_scalars` sub-run). Found in the
//! `--import-dir` trees (`<root>/<project>/<run dir>/`) on every scan, or
//! imported once from one log dir (`trainyard import tensorboard DIR`,
//! `POST /api/v1/imports/tensorboard`).
//!
//! Runs are found again by (root, project, `<run dir>/`) so a re-import
//! adds only new records; the trailing `/` keeps them apart from
//! CVLab-Kit runs of the same tree. Their points come from
//! `metrics::tfevents` through a cursor per file, as for live job files.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use trainyard_core::runs::ImportReport;
use trainyard_core::sync::validate_path_component;
use trainyard_core::work::AttemptRef;
use trainyard_core::JobStatus;

use super::{infer, still_valid, Imports, Indexed};
use crate::clock::unix_ms;
use crate::error::EngineError;
use crate::events::BusEvent;
use crate::metrics::tfevents::is_event_file;
use crate::metrics::{Metrics, TfSource};
use crate::store::NewSweep;

/// Deepest run directory looked for below a project's directory.
const MAX_DEPTH: usize = 16;

/// One TensorBoard run found on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct TbRun {
    pub project: String,
    /// Shown as the job's name: the directory relative to the log dir.
    pub name: String,
    /// `name` + `/`: the run's key in `imported_runs`.
    pub key: String,
    pub dir: PathBuf,
    /// Its event files, sorted by name, with size and mtime.
    pub files: Vec<(String, u64, SystemTime)>,
}

impl TbRun {
    fn signature(&self) -> String {
        super::scan::files_signature(&self.files)
    }
}

/// The runs below `logdir` (blocking IO). `whole_name` names a run whose
/// event files sit in `logdir` itself. Symlinks are not followed (no
/// loops), hidden directories are skipped.
pub fn scan_logdir(
    logdir: &Path,
    project: &str,
    whole_name: &str,
    runs: &mut Vec<TbRun>,
) -> std::io::Result<()> {
    let mut stack = vec![(logdir.to_path_buf(), String::new(), 0usize)];
    let mut found = Vec::new();
    while let Some((dir, rel, depth)) = stack.pop() {
        let mut files = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            // The log dir itself must be readable; a vanished subdirectory is not an error.
            Err(e) if depth > 0 => {
                tracing::debug!("skipping {}: {e}", dir.display());
                continue;
            }
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() && depth < MAX_DEPTH && validate_path_component(&name).is_ok() {
                let sub = if rel.is_empty() {
                    name.clone()
                } else {
                    format!("{rel}/{name}")
                };
                stack.push((entry.path(), sub, depth + 1));
            } else if kind.is_file() && is_event_file(&name) {
                let meta = entry.metadata()?;
                files.push((
                    name,
                    meta.len(),
                    meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                ));
            }
        }
        if files.is_empty() {
            continue;
        }
        files.sort();
        let name = if rel.is_empty() {
            whole_name.to_string()
        } else {
            rel
        };
        found.push(TbRun {
            project: project.to_string(),
            key: format!("{name}/"),
            name,
            dir,
            files,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    runs.extend(found);
    Ok(())
}

/// The runs of an `--import-dir` tree: `<root>/<project>/…` (blocking IO).
pub fn scan_root(root: &Path) -> std::io::Result<(Vec<TbRun>, Vec<String>)> {
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    let mut projects: Vec<_> = std::fs::read_dir(root)?.collect::<Result<_, _>>()?;
    projects.sort_by_key(std::fs::DirEntry::file_name);
    for project in projects {
        if !project.file_type()?.is_dir() {
            continue;
        }
        let Some(name) = project.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') || validate_path_component(&name).is_err() {
            continue;
        }
        if let Err(e) = scan_logdir(&project.path(), &name, &name, &mut runs) {
            skipped.push(format!("{}: {e}", project.path().display()));
        }
    }
    Ok((runs, skipped))
}

impl Imports {
    /// Indexes the TensorBoard runs of an `--import-dir` tree (new records only).
    pub(super) async fn scan_tensorboard(
        &self,
        root: &Path,
        metrics: &Metrics,
        report: &mut ImportReport,
    ) {
        let scanned = {
            let root = root.to_path_buf();
            tokio::task::spawn_blocking(move || scan_root(&root)).await
        };
        let (runs, skipped) = match scanned {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                report.skipped.push(format!("{}: {e}", root.display()));
                return;
            }
            Err(e) => {
                report.skipped.push(format!("{}: {e}", root.display()));
                return;
            }
        };
        report.skipped.extend(skipped);
        self.index_tb_runs(&root.to_string_lossy(), runs, metrics, report)
            .await;
    }

    /// Imports one TensorBoard log dir into `project` (default: the
    /// directory's name): each directory holding event files becomes a
    /// run, found again on the next import of the same directory.
    pub async fn import_tensorboard(
        &self,
        dir: &Path,
        project: Option<&str>,
        metrics: &Metrics,
    ) -> Result<ImportReport, EngineError> {
        let bad = |message: String| EngineError::BadImportDir {
            path: dir.display().to_string(),
            message,
        };
        let dir = tokio::fs::canonicalize(dir)
            .await
            .map_err(|e| bad(e.to_string()))?;
        if !tokio::fs::metadata(&dir)
            .await
            .map_err(|e| bad(e.to_string()))?
            .is_dir()
        {
            return Err(bad("not a directory".into()));
        }
        let base = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("tensorboard")
            .to_string();
        let project = project.map_or(base.clone(), str::to_string);
        validate_path_component(&project).map_err(|e| bad(format!("project {project:?}: {e}")))?;
        let _one = self.scanning.lock().await;
        let runs = {
            let (dir, project) = (dir.clone(), project.clone());
            tokio::task::spawn_blocking(move || {
                let mut runs = Vec::new();
                scan_logdir(&dir, &project, &base, &mut runs).map(|()| runs)
            })
            .await
            .map_err(|e| bad(e.to_string()))?
            .map_err(|e| bad(e.to_string()))?
        };
        let mut report = ImportReport::default();
        self.index_tb_runs(&dir.to_string_lossy(), runs, metrics, &mut report)
            .await;
        Ok(report)
    }

    async fn index_tb_runs(
        &self,
        root_key: &str,
        runs: Vec<TbRun>,
        metrics: &Metrics,
        report: &mut ImportReport,
    ) {
        report.runs += runs.len();
        for run in runs {
            match self.index_tb_run(root_key, &run, metrics, report).await {
                Ok(Indexed::Unchanged) => {}
                Ok(Indexed::Added) => report.added += 1,
                Ok(Indexed::Updated) => report.updated += 1,
                Err(e) => report
                    .skipped
                    .push(format!("{}/{}: {e}", run.project, run.name)),
            }
        }
    }

    async fn index_tb_run(
        &self,
        root_key: &str,
        run: &TbRun,
        metrics: &Metrics,
        report: &mut ImportReport,
    ) -> Result<Indexed, EngineError> {
        let signature = run.signature();
        let known = self
            .store
            .imported_run(root_key, &run.project, &run.key)
            .await?;
        if known
            .as_ref()
            .is_some_and(|k| still_valid(&k.signature, &signature, self.clock.now_ms()))
        {
            return Ok(Indexed::Unchanged);
        }
        let first_ms = run
            .files
            .iter()
            .map(|f| unix_ms(f.2))
            .min()
            .unwrap_or_else(|| self.clock.now_ms());
        let last_change_ms = run
            .files
            .iter()
            .map(|f| unix_ms(f.2))
            .max()
            .unwrap_or(first_ms);
        let (mut row, outcome) = match &known {
            Some(k) => match self.store.job(k.job_id).await? {
                Some(row) => (row, Indexed::Updated),
                None => return Err(EngineError::JobNotFound(k.job_id)),
            },
            None => {
                let sweep = NewSweep {
                    launch: None,
                    project: &run.project,
                    source_yaml: "",
                    created_ms: first_ms,
                };
                let row = self.new_imported_job(&run.project, &run.name, "", first_ms);
                // Signature '' until indexed, so a crash mid-way retries.
                let row = self
                    .store
                    .insert_imported_run(sweep, row, root_key, &run.key, "")
                    .await?;
                (row, Indexed::Added)
            }
        };
        let job_id = row.view.id;
        self.store
            .set_imported_run_dir(job_id, &run.dir.to_string_lossy())
            .await?;
        for (name, _, _) in &run.files {
            let file = run.dir.join(name);
            let cursor_name = file.to_string_lossy().into_owned();
            let source = TfSource {
                at: AttemptRef { job_id, attempt: 1 },
                name: &cursor_name,
                file,
                key_prefix: String::new(),
            };
            match metrics.index_tfevents(&source, false).await {
                Ok(done) => {
                    report.points += done.points as u64;
                    report.problems += done.problems as u64;
                    report.summaries_skipped += done.skipped;
                }
                Err(e) => report
                    .skipped
                    .push(format!("{}/{}/{name}: {e}", run.project, run.name)),
            }
        }
        let now = self.clock.now_ms();
        let fresh = now - last_change_ms <= infer::FRESH_MS;
        let view = &mut row.view;
        if fresh {
            view.status = JobStatus::Running;
            view.reason = Some("imported: its event files changed within the last hour".into());
        } else {
            view.status = JobStatus::Succeeded;
            view.reason = Some("imported from TensorBoard event files".into());
        }
        view.started_ms = Some(first_ms);
        view.finished_ms = (!fresh).then_some(last_change_ms);
        view.duration_ms = Some((last_change_ms - first_ms).max(0));
        // A run called running only because its files are fresh is looked
        // at again once they are not, even if nothing changes.
        let saved = if fresh {
            format!("{signature}@{}", last_change_ms + infer::FRESH_MS + 1)
        } else {
            signature
        };
        self.store.update_imported_run(&row, &saved).await?;
        self.bus.publish(BusEvent::Job(Arc::new(row.view)));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_directory_with_event_files_is_a_run() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let logdir = dir.path().join("exp");
        for path in [
            "events.out.tfevents.1.h",
            "loss/train/events.out.tfevents.1.h",
            "loss/train/events.out.tfevents.2.h",
            "loss/val/events.out.tfevents.1.h",
            "plain/metrics.csv",
            ".hidden/events.out.tfevents.1.h",
            "prof/events.out.tfevents.1.h.profile-empty",
        ] {
            let file = logdir.join(path);
            std::fs::create_dir_all(file.parent().expect("a parent")).expect("dirs");
            std::fs::write(file, b"").expect("a file");
        }
        let mut runs = Vec::new();
        scan_logdir(&logdir, "cifar", "exp", &mut runs).expect("a scan");
        let found: Vec<(&str, &str, usize)> = runs
            .iter()
            .map(|r| (r.name.as_str(), r.key.as_str(), r.files.len()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("exp", "exp/", 1),
                ("loss/train", "loss/train/", 2),
                ("loss/val", "loss/val/", 1)
            ]
        );
        assert!(scan_logdir(&dir.path().join("missing"), "p", "m", &mut runs).is_err());
    }
}
