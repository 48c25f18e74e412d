//! Scan: registers the files of the components dir (`--components-dir`, a
//! CVLab-Kit tree: `cvlabkit/agent/<name>.py`,
//! `cvlabkit/component/<category>/<name>.py`) whose content is new. New
//! content becomes the active version (the tree is the lab's newest code);
//! content the store already has under that path changes nothing, so a
//! rollback made in the browser survives the next scan.

use std::path::{Path, PathBuf};

use trainyard_core::components::{ScanReport, StorePath, CATEGORIES, MAX_COMPONENT_BYTES};
use trainyard_core::sync::xxh3_hex;

use super::{Actor, Components};
use crate::error::EngineError;
use crate::store::Audit;

impl Components {
    /// Reads the components dir and stores what is new.
    pub async fn scan(&self, actor: &Actor) -> Result<ScanReport, EngineError> {
        let Some(root) = self.dir.clone() else {
            return Err(EngineError::NoComponentsDir);
        };
        let found = tokio::task::spawn_blocking(move || files_of(&root))
            .await
            .map_err(|e| EngineError::Io {
                path: PathBuf::from("components dir"),
                source: std::io::Error::other(e),
            })?;
        let mut report = ScanReport {
            skipped: found.skipped,
            ..ScanReport::default()
        };
        let paths: Vec<String> = found.files.iter().map(|(p, _)| p.to_string()).collect();
        let known = self.store.paths_known(&paths).await?;
        let who = format!("scan by {}", actor.who);
        for (path, content) in found.files {
            report.registered += 1;
            let hash = xxh3_hex(content.as_bytes());
            if known.versions.contains(&(path.to_string(), hash.clone())) {
                continue;
            }
            let stored = self
                .store
                .store_version(
                    &path,
                    &hash,
                    &content,
                    true,
                    false,
                    Audit {
                        action: "scan",
                        who: &who,
                        origin: &actor.origin,
                    },
                    self.clock.now_ms(),
                )
                .await?;
            if stored.is_new {
                report.new_versions += 1;
            }
        }
        tracing::info!(
            files = report.registered,
            new = report.new_versions,
            skipped = report.skipped.len(),
            "components dir scanned"
        );
        Ok(report)
    }
}

struct Found {
    files: Vec<(StorePath, String)>,
    skipped: Vec<String>,
}

/// The component files under `root` with their text (blocking IO).
fn files_of(root: &Path) -> Found {
    let mut found = Found {
        files: Vec::new(),
        skipped: Vec::new(),
    };
    let base = root.join("cvlabkit");
    if !base.is_dir() {
        found.skipped.push(format!(
            "{}: no cvlabkit/ folder here (expected cvlabkit/agent/ and cvlabkit/component/<category>/)",
            root.display()
        ));
        return found;
    }
    let mut dirs = vec![("agent", base.join("agent"))];
    for category in CATEGORIES.iter().filter(|c| **c != "agent") {
        dirs.push((category, base.join("component").join(category)));
    }
    for (category, dir) in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for file in names {
            let Some(stem) = file
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".py"))
            else {
                continue;
            };
            if stem.starts_with('_') || !file.is_file() {
                continue;
            }
            let shown = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            let path = match StorePath::new(category, stem) {
                Ok(path) => path,
                Err(e) => {
                    found.skipped.push(format!("{shown}: {e}"));
                    continue;
                }
            };
            match std::fs::read(&file) {
                Ok(bytes) if bytes.len() > MAX_COMPONENT_BYTES => found
                    .skipped
                    .push(format!("{shown}: larger than {MAX_COMPONENT_BYTES} bytes")),
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => found.files.push((path, text)),
                    Err(_) => found.skipped.push(format!("{shown}: not UTF-8 text")),
                },
                Err(e) => found.skipped.push(format!("{shown}: {e}")),
            }
        }
    }
    found
}
