//! Finding runs in a CVLab-Kit style tree: `<root>/<project>/<run>.csv`,
//! `<run>_config.yaml` (or `<run>.yaml`), and any other file named after
//! the run (`<run>.pt`, `<run>_best.pth`…).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use trainyard_core::sync::validate_path_component;

/// One run found on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundRun {
    pub project: String,
    pub run: String,
    /// `<root>/<project>`.
    pub dir: PathBuf,
    /// File names in `dir` that belong to the run, sorted, with size and mtime.
    pub files: Vec<(String, u64, SystemTime)>,
}

impl FoundRun {
    pub fn csv(&self) -> Option<&str> {
        let name = format!("{}.csv", self.run);
        self.files.iter().map(|f| f.0.as_str()).find(|f| *f == name)
    }

    pub fn config(&self) -> Option<&str> {
        config_names(&self.run)
            .into_iter()
            .find_map(|name| self.files.iter().map(|f| f.0.as_str()).find(|f| *f == name))
    }

    /// Changes whenever a file of the run is added, removed or rewritten.
    pub fn signature(&self) -> String {
        files_signature(&self.files)
    }
}

/// A hash of files' names, sizes and modification times: it changes
/// whenever one is added, removed or rewritten.
pub(super) fn files_signature(files: &[(String, u64, SystemTime)]) -> String {
    let text: String = files
        .iter()
        .map(|(name, size, time)| {
            let nanos = time
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            format!("{name}\u{0}{size}\u{0}{nanos}\n")
        })
        .collect();
    trainyard_core::sync::xxh3_hex(text.as_bytes())
}

fn config_names(run: &str) -> [String; 4] {
    [
        format!("{run}_config.yaml"),
        format!("{run}_config.yml"),
        format!("{run}.yaml"),
        format!("{run}.yml"),
    ]
}

/// The run a file names by itself (CSV or config), if any.
fn run_named_by(file: &str) -> Option<&str> {
    for suffix in ["_config.yaml", "_config.yml", ".csv", ".yaml", ".yml"] {
        if let Some(run) = file.strip_suffix(suffix) {
            if !run.is_empty() {
                return Some(run);
            }
        }
    }
    None
}

/// What a scan found: runs, and names it skipped with why.
#[derive(Debug, Default)]
pub struct TreeScan {
    pub runs: Vec<FoundRun>,
    pub skipped: Vec<String>,
}

/// Scans `root` (blocking IO: call from `spawn_blocking`). Directories whose
/// names are not safe path components are skipped and reported.
pub fn scan_root(root: &Path) -> std::io::Result<TreeScan> {
    let mut scan = TreeScan::default();
    let mut projects: Vec<_> = std::fs::read_dir(root)?.collect::<Result<_, _>>()?;
    projects.sort_by_key(std::fs::DirEntry::file_name);
    for project in projects {
        if !project.file_type()?.is_dir() {
            continue;
        }
        let Some(name) = project.file_name().to_str().map(str::to_string) else {
            scan.skipped
                .push(format!("{}: not UTF-8", project.path().display()));
            continue;
        };
        if let Err(e) = validate_path_component(&name) {
            scan.skipped.push(format!("project {name:?}: {e}"));
            continue;
        }
        scan_project(&project.path(), &name, &mut scan)?;
    }
    Ok(scan)
}

/// The runs of one project directory `<root>/<project>` (blocking IO), for
/// listing one run's files without walking the whole tree.
pub fn scan_one_project(root: &Path, project: &str) -> std::io::Result<TreeScan> {
    let mut scan = TreeScan::default();
    scan_project(&root.join(project), project, &mut scan)?;
    Ok(scan)
}

fn scan_project(dir: &Path, project: &str, scan: &mut TreeScan) -> std::io::Result<()> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if name.starts_with('.') || validate_path_component(&name).is_err() {
            continue;
        }
        let meta = entry.metadata()?;
        files.push((
            name,
            meta.len(),
            meta.modified().unwrap_or(std::time::UNIX_EPOCH),
        ));
    }
    files.sort();
    let mut runs: BTreeMap<String, Vec<(String, u64, SystemTime)>> = files
        .iter()
        .filter_map(|f| run_named_by(&f.0))
        .map(|run| (run.to_string(), Vec::new()))
        .collect();
    for file in files {
        // The longest run name the file starts with (`a_b.csv` belongs to
        // run `a_b`, not `a`).
        let owner = runs
            .keys()
            .filter(|run| {
                file.0
                    .strip_prefix(run.as_str())
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('_'))
            })
            .max_by_key(|run| run.len())
            .cloned();
        if let Some(owner) = owner {
            if let Some(list) = runs.get_mut(&owner) {
                list.push(file);
            }
        }
    }
    for (run, files) in runs {
        scan.runs.push(FoundRun {
            project: project.to_string(),
            run,
            dir: dir.to_path_buf(),
            files,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_go_to_the_longest_matching_run() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let project = dir.path().join("cifar");
        std::fs::create_dir_all(&project).expect("the dir is created");
        for name in [
            "a.csv",
            "a_config.yaml",
            "a.pt",
            "a_b.csv",
            "a_b.pt",
            "a_best.pth",
            "b.yaml",
            "notes.txt",
            ".hidden.csv",
        ] {
            std::fs::write(project.join(name), b"x").expect("join");
        }
        std::fs::create_dir_all(dir.path().join("..bad")).expect("join");
        let scan = scan_root(dir.path()).expect("path");
        let runs: Vec<(String, Vec<String>)> = scan
            .runs
            .iter()
            .map(|r| (r.run.clone(), r.files.iter().map(|f| f.0.clone()).collect()))
            .collect();
        assert_eq!(
            runs,
            vec![
                (
                    "a".into(),
                    vec![
                        "a.csv".into(),
                        "a.pt".into(),
                        "a_best.pth".into(),
                        "a_config.yaml".into()
                    ]
                ),
                ("a_b".into(), vec!["a_b.csv".into(), "a_b.pt".into()]),
                ("b".into(), vec!["b.yaml".into()]),
            ]
        );
        assert_eq!(scan.runs[0].csv(), Some("a.csv"));
        assert_eq!(scan.runs[0].config(), Some("a_config.yaml"));
        assert_eq!(scan.runs[2].config(), Some("b.yaml"));
        assert!(
            scan.skipped.is_empty(),
            "..bad is a valid name: {:?}",
            scan.skipped
        );
    }
}
