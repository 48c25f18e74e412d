//! Catalog revisions: load the newest at start, save (identical content
//! creates none), restore (a new revision with an old content), list, diff.

use std::path::Path;
use std::sync::{Arc, RwLock};

use trainyard_core::catalog::{
    form_schema, parse_catalog, Catalog, CatalogDiff, CatalogRevision, CatalogRevisionContent,
    CatalogSaved, CatalogTasks, CatalogView,
};

use super::{server_env, Current, Launcher};
use crate::clock::Clock;
use crate::error::EngineError;
use crate::store::Store;

/// Largest catalog accepted, in bytes.
pub const MAX_CATALOG_BYTES: usize = 1024 * 1024;

impl Launcher {
    /// Loads the newest revision. One that no longer parses (an environment
    /// variable changed what it means) is logged and served as empty.
    pub async fn load(store: Store, clock: Clock) -> Result<Launcher, EngineError> {
        let mut current = Current::default();
        if let Some((revision, content)) = store.latest_catalog().await? {
            match parse_catalog(&content, &server_env) {
                Ok(c) => current.catalog = Arc::new(c),
                Err(e) => tracing::error!(
                    revision = revision.id,
                    "the saved catalog no longer validates; no task can launch until it is fixed:\n{e}"
                ),
            }
            current.content = content;
            current.revision = Some(revision);
        }
        Ok(Launcher {
            store,
            clock,
            current: RwLock::new(current),
            saving: tokio::sync::Mutex::new(()),
        })
    }

    fn current(&self) -> Current {
        self.current
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The running catalog's content and revision.
    pub fn view(&self) -> CatalogView {
        let c = self.current();
        CatalogView {
            revision: c.revision,
            content: c.content,
        }
    }

    /// The running catalog, parsed, and its revision id.
    pub(crate) fn catalog(&self) -> (Arc<Catalog>, Option<i64>) {
        let c = self.current();
        (c.catalog, c.revision.map(|r| r.id))
    }

    /// The forms of the enabled tasks.
    pub fn tasks(&self) -> CatalogTasks {
        let (catalog, revision_id) = self.catalog();
        CatalogTasks {
            revision_id,
            tasks: catalog
                .tasks
                .iter()
                .filter(|t| t.enabled)
                .map(form_schema)
                .collect(),
        }
    }

    /// Validates and saves `content` as the running catalog. Identical
    /// content (ignoring a missing final newline) creates no revision; an
    /// invalid one is refused with every problem and changes nothing.
    pub async fn save(
        &self,
        content: &str,
        source: &str,
        saved_by: &str,
    ) -> Result<CatalogSaved, EngineError> {
        if content.len() > MAX_CATALOG_BYTES {
            return Err(EngineError::BadOption(format!(
                "the catalog is {} bytes; the limit is {MAX_CATALOG_BYTES}",
                content.len()
            )));
        }
        let mut content = content.to_string();
        if !content.ends_with('\n') {
            content.push('\n');
        }
        let catalog = parse_catalog(&content, &server_env).map_err(EngineError::InvalidCatalog)?;
        let _saving = self.saving.lock().await;
        if let Some((revision, latest)) = self.store.latest_catalog().await? {
            if latest == content {
                return Ok(CatalogSaved {
                    revision,
                    created: false,
                });
            }
        }
        let now = self.clock.now_ms();
        let id = self
            .store
            .insert_catalog_revision(&content, source, saved_by, now)
            .await?;
        let revision = CatalogRevision {
            id,
            source: source.to_string(),
            saved_by: saved_by.to_string(),
            created_ms: now,
            bytes: content.len() as u64,
        };
        let next = Current {
            revision: Some(revision.clone()),
            content,
            catalog: Arc::new(catalog),
        };
        match self.current.write() {
            Ok(mut c) => *c = next,
            Err(e) => *e.into_inner() = next,
        }
        tracing::info!(revision = id, source, saved_by, "catalog saved");
        Ok(CatalogSaved {
            revision,
            created: true,
        })
    }

    /// Saves revision `id`'s content again as the newest revision.
    pub async fn restore(&self, id: i64, saved_by: &str) -> Result<CatalogSaved, EngineError> {
        let (_, content) = self.revision(id).await.map(|r| (r.revision, r.content))?;
        self.save(&content, &format!("restore {id}"), saved_by)
            .await
    }

    /// Every revision, newest first.
    pub async fn revisions(&self) -> Result<Vec<CatalogRevision>, EngineError> {
        self.store.catalog_revisions().await
    }

    /// One revision with its content.
    pub async fn revision(&self, id: i64) -> Result<CatalogRevisionContent, EngineError> {
        let (revision, content) = self
            .store
            .catalog_revision(id)
            .await?
            .ok_or(EngineError::RevisionNotFound(id))?;
        Ok(CatalogRevisionContent { revision, content })
    }

    /// A unified line diff from revision `from` to revision `to`.
    pub async fn diff(&self, from: i64, to: i64) -> Result<CatalogDiff, EngineError> {
        let a = self.revision(from).await?.content;
        let b = self.revision(to).await?.content;
        let unified = similar::TextDiff::from_lines(&a, &b)
            .unified_diff()
            .context_radius(3)
            .header(&format!("catalog@{from}"), &format!("catalog@{to}"))
            .to_string();
        Ok(CatalogDiff { from, to, unified })
    }

    /// Saves the file given with `--catalog` if it differs from the newest
    /// revision. An invalid file is refused like an invalid save: the
    /// server keeps the last valid revision.
    pub async fn load_file(&self, path: &Path) -> Result<CatalogSaved, EngineError> {
        let content = std::fs::read_to_string(path).map_err(|source| EngineError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.save(&content, &format!("file {}", path.display()), "local")
            .await
    }
}
