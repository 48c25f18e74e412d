//! The worker's side of a sync, on disk: which files a job's config names
//! (components by CVLab-Kit's layout under the working directory, and
//! `code:` globs), their hashes, and writing what the store sends, only
//! after its hash checks and atomically (a reader never sees half a file).

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSetBuilder};
use trainyard_core::components::{LocalCopy, StorePath, MAX_COMPONENT_BYTES};
use trainyard_core::sync::{validate_run_path, xxh3_hex};

/// Most files `code:` globs may add to one sync.
pub(super) const MAX_CODE_FILES: usize = 1_000;
/// Folders `code:` globs never descend into.
const SKIPPED_DIRS: [&str; 6] = [
    ".git",
    "__pycache__",
    "node_modules",
    ".venv",
    "venv",
    "cvlabkit",
];

/// A file of the job's working directory: its hash, and its text when it
/// is text the store can hold.
pub(super) struct LocalFile {
    pub hash: String,
}

/// The hash of `file` if it exists (any bytes), `None` otherwise.
pub(super) fn hash_of(file: &Path) -> std::io::Result<Option<LocalFile>> {
    match std::fs::read(file) {
        Ok(bytes) => Ok(Some(LocalFile {
            hash: xxh3_hex(&bytes),
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The components `paths` as the worker has them under `cwd`.
pub(super) fn component_copies(cwd: &Path, paths: &[StorePath]) -> Result<Vec<LocalCopy>, String> {
    paths
        .iter()
        .map(|p| {
            let file = cwd.join(p.worker_file());
            let found = hash_of(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            Ok(LocalCopy {
                path: p.to_string(),
                hash: found.map(|f| f.hash),
            })
        })
        .collect()
}

/// The files under `cwd` that `globs` match (relative, `/`-separated,
/// sorted), with their hashes; what cannot be stored is left out with a
/// note for the job's log.
pub(super) fn code_copies(
    cwd: &Path,
    globs: &[String],
) -> Result<(Vec<LocalCopy>, Vec<String>), String> {
    if globs.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        set.add(Glob::new(glob).map_err(|e| format!("code: glob {glob:?}: {e}"))?);
    }
    let set = set.build().map_err(|e| format!("code: {e}"))?;
    let mut found = Vec::new();
    let mut notes = Vec::new();
    let walk = walkdir::WalkDir::new(cwd)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && e.depth() > 0
                && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
        });
    for entry in walk {
        let entry = entry.map_err(|e| format!("code: {e}"))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(cwd) else {
            continue;
        };
        let relative = relative.to_string_lossy().replace('\\', "/");
        if !set.is_match(&relative) {
            continue;
        }
        if validate_run_path(&relative).is_err() {
            notes.push(format!(
                "code: {relative}: a name the store cannot hold; left out"
            ));
            continue;
        }
        let bytes = std::fs::read(entry.path()).map_err(|e| format!("code: {relative}: {e}"))?;
        if bytes.len() > MAX_COMPONENT_BYTES || std::str::from_utf8(&bytes).is_err() {
            notes.push(format!(
                "code: {relative}: not text under {} MiB; left out of the manifest",
                MAX_COMPONENT_BYTES >> 20
            ));
            continue;
        }
        found.push(LocalCopy {
            path: relative,
            hash: Some(xxh3_hex(&bytes)),
        });
        if found.len() > MAX_CODE_FILES {
            return Err(format!(
                "code: the globs match more than {MAX_CODE_FILES} files; narrow them"
            ));
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((found, notes))
}

/// Where a step's file lives under `cwd`.
pub(super) fn file_of(cwd: &Path, path: &str, code: bool) -> Result<PathBuf, String> {
    if code {
        let parts = validate_run_path(path).map_err(|e| format!("{path}: {e}"))?;
        let mut full = cwd.to_path_buf();
        full.extend(parts);
        Ok(full)
    } else {
        let store: StorePath = path.parse().map_err(|e| format!("{path}: {e}"))?;
        Ok(cwd.join(store.worker_file()))
    }
}

/// Writes `content` to `file` if it hashes to `hash`: through a temporary
/// file renamed over the target.
pub(super) fn write_checked(file: &Path, content: &str, hash: &str) -> Result<(), String> {
    let got = xxh3_hex(content.as_bytes());
    if got != hash {
        return Err(format!(
            "{}: the server sent content hashing to {got}, not {hash}; nothing was written",
            file.display()
        ));
    }
    let dir = file
        .parent()
        .ok_or_else(|| format!("{}: no parent directory", file.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.trainyard-sync"));
    std::fs::write(&temporary, content).map_err(|e| format!("{}: {e}", temporary.display()))?;
    std::fs::rename(&temporary, file).map_err(|e| format!("{}: {e}", file.display()))
}

/// The bytes of `file`, which must still hash to `hash` (it may have
/// changed since it was hashed).
pub(super) fn read_checked(file: &Path, hash: &str) -> Result<Vec<u8>, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    if xxh3_hex(&bytes) != hash {
        return Err(format!(
            "{} changed while the job's code was being synced; start the job again",
            file.display()
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_pick_text_files_under_the_working_directory() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("models/deep")).expect("dirs");
        std::fs::create_dir_all(root.join(".git")).expect("dirs");
        std::fs::write(root.join("train.py"), "print(1)\n").expect("write");
        std::fs::write(root.join("models/deep/net.py"), "x = 1\n").expect("write");
        std::fs::write(root.join("models/blob.py"), [0xffu8, 0xfe]).expect("write");
        std::fs::write(root.join(".git/hook.py"), "no\n").expect("write");
        let globs = vec!["train.py".to_string(), "**/*.py".to_string()];
        let (found, notes) = code_copies(root, &globs).expect("globs expand");
        let paths: Vec<&str> = found.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["models/deep/net.py", "train.py"]);
        assert_eq!(
            found[1].hash.as_deref(),
            Some(xxh3_hex(b"print(1)\n").as_str())
        );
        assert!(
            notes.iter().any(|n| n.contains("models/blob.py")),
            "{notes:?}"
        );
    }

    #[test]
    fn content_is_written_only_when_its_hash_checks() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("cvlabkit/component/model/a.py");
        let good = xxh3_hex(b"a = 1\n");
        write_checked(&file, "a = 1\n", &good).expect("a matching hash writes");
        assert_eq!(std::fs::read_to_string(&file).expect("written"), "a = 1\n");
        let refused = write_checked(&file, "tampered\n", &good);
        assert!(refused.is_err());
        assert_eq!(std::fs::read_to_string(&file).expect("kept"), "a = 1\n");
    }
}
