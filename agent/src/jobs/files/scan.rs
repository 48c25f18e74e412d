//! Walks a run dir for the files to sync: regular files only (symlinks,
//! pipes, sockets and devices are not run files), never the agent's own,
//! and only names the server would store.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use trainyard_core::sync::{validate_path_component, validate_run_path, MAX_PATH_DEPTH};

use crate::jobs::spool::AGENT_FILES;

/// Most files one scan lists; a run dir with more is synced in part.
const MAX_FILES: usize = 100_000;

/// A file's size and modification time: an equal stamp means the same
/// content, without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    pub size: u64,
    pub modified: Option<SystemTime>,
}

impl Stamp {
    pub fn of(metadata: &std::fs::Metadata) -> Self {
        Self {
            size: metadata.len(),
            modified: metadata.modified().ok(),
        }
    }
}

/// One file to sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LocalFile {
    /// Relative to the run dir, `/`-separated, valid for the server.
    pub path: String,
    pub abs: PathBuf,
    pub stamp: Stamp,
}

/// Something left out of a scan, to warn about once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refused {
    /// The name as far as it can be shown (escaped by `{:?}` when logged).
    pub name: String,
    pub why: String,
}

/// What a scan found.
#[derive(Debug, Default)]
pub(super) struct RunDirScan {
    /// Sorted by path.
    pub files: Vec<LocalFile>,
    pub refused: Vec<Refused>,
}

impl RunDirScan {
    fn refuse(&mut self, name: String, why: impl ToString) {
        self.refused.push(Refused {
            name,
            why: why.to_string(),
        });
    }
}

/// Lists the files under `root`; blocking. A missing root is an empty
/// run dir (the job never started).
pub(super) fn scan(root: &Path) -> RunDirScan {
    let mut scan = RunDirScan::default();
    // (folder, its path relative to root with a trailing '/', depth)
    let mut folders = vec![(root.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, prefix, depth)) = folders.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => {
                let name = if prefix.is_empty() { "." } else { &prefix };
                scan.refuse(name.to_string(), format!("cannot read the folder: {e}"));
                continue;
            }
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                let shown = format!("{prefix}{}", file_name.to_string_lossy());
                scan.refuse(shown, "the name is not UTF-8");
                continue;
            };
            let path = format!("{prefix}{name}");
            if depth == 0 && AGENT_FILES.contains(&name) {
                continue;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if let Err(e) = validate_path_component(name) {
                    scan.refuse(path, e);
                } else if depth + 1 >= MAX_PATH_DEPTH {
                    scan.refuse(path, format!("more than {MAX_PATH_DEPTH} levels deep"));
                } else {
                    folders.push((entry.path(), format!("{path}/"), depth + 1));
                }
            } else if kind.is_file() {
                if let Err(e) = validate_run_path(&path) {
                    scan.refuse(path, e);
                    continue;
                }
                let Ok(metadata) = entry.metadata() else {
                    continue;
                };
                if scan.files.len() >= MAX_FILES {
                    scan.refuse(path, format!("the run dir has more than {MAX_FILES} files"));
                    break;
                }
                scan.files.push(LocalFile {
                    path,
                    abs: entry.path(),
                    stamp: Stamp::of(&metadata),
                });
            }
        }
    }
    scan.files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    scan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, bytes: &[u8]) {
        let full = root.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("the folders are created");
        }
        std::fs::write(&full, bytes).expect("the test file is written");
    }

    #[test]
    fn lists_run_files_and_leaves_out_the_agents_own() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let root = dir.path();
        for path in [
            "output.log",
            "state.json",
            "state.json.tmp",
            "config.yaml",
            "metrics.csv",
            "ckpt/epoch-1/model.pt",
            // Only the top-level ones are the agent's.
            "sub/output.log",
        ] {
            write(root, path, b"x");
        }
        std::os::unix::fs::symlink(root.join("metrics.csv"), root.join("link.csv"))
            .expect("the symlink is created");
        let found = scan(root);
        let paths: Vec<&str> = found.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "ckpt/epoch-1/model.pt",
                "config.yaml",
                "metrics.csv",
                "sub/output.log"
            ]
        );
        assert!(found.refused.is_empty(), "{:?}", found.refused);
        assert_eq!(found.files[0].stamp.size, 1);
        assert_eq!(found.files[0].abs, root.join("ckpt/epoch-1/model.pt"));
    }

    #[test]
    fn bad_names_are_refused_not_listed() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let root = dir.path();
        write(root, "good.csv", b"a\n");
        write(root, "back\\slash.csv", b"a\n");
        write(root, "bell\u{7}.txt", b"a\n");
        write(root, "tab\tdir/inner.txt", b"a\n");
        let found = scan(root);
        let paths: Vec<&str> = found.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["good.csv"]);
        let mut refused: Vec<&str> = found.refused.iter().map(|r| r.name.as_str()).collect();
        refused.sort_unstable();
        assert_eq!(refused, ["back\\slash.csv", "bell\u{7}.txt", "tab\tdir"]);
    }

    #[test]
    fn a_missing_run_dir_is_empty() {
        let found = scan(Path::new("/nonexistent/trainyard/run"));
        assert!(found.files.is_empty() && found.refused.is_empty());
    }

    #[test]
    fn folders_past_the_depth_limit_are_refused() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let deep = vec!["d"; MAX_PATH_DEPTH].join("/");
        write(dir.path(), &format!("{deep}/f.txt"), b"x");
        let shallow = vec!["d"; MAX_PATH_DEPTH - 1].join("/");
        write(dir.path(), &format!("{shallow}/ok.txt"), b"x");
        let found = scan(dir.path());
        let paths: Vec<&str> = found.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, [format!("{shallow}/ok.txt")]);
        assert_eq!(found.refused.len(), 1, "{:?}", found.refused);
    }
}
