//! Versions of paths: listing, reading, uploading, activating (rollback)
//! and comparing. Same content under the same path is one version; nothing
//! is ever overwritten.

use trainyard_core::components::{
    iso_utc, ActivateRequest, ComponentSummary, ComponentVersion, DiffResponse, UploadRequest,
    UploadResponse,
};

use super::{checked_content, checked_hash, store_path, Actor, Components};
use crate::error::EngineError;
use crate::store::{Audit, VersionRow};

/// Jobs listed per version as "used by".
const USED_BY_LIMIT: u32 = 50;

impl Components {
    /// Every path with versions (of `category` if given).
    pub async fn list(&self, category: Option<&str>) -> Result<Vec<ComponentSummary>, EngineError> {
        if let Some(c) = category {
            if !trainyard_core::components::CATEGORIES.contains(&c) {
                return Err(EngineError::BadComponentPath {
                    path: c.chars().take(200).collect(),
                    message: format!(
                        "unknown category; valid categories: {}",
                        trainyard_core::components::CATEGORIES.join(", ")
                    ),
                });
            }
        }
        let rows = self.store.component_paths(category).await?;
        Ok(rows
            .into_iter()
            .map(|r| ComponentSummary {
                path: r.path,
                category: r.category,
                name: r.name,
                active_hash: r.active_hash,
                version_count: r.versions,
                updated_at: Some(iso_utc(r.updated_ms)),
                updated_ms: r.updated_ms,
            })
            .collect())
    }

    /// The versions of `category/name.py`, newest first, with the jobs that
    /// used each; `ComponentNotFound` when the path has none.
    pub async fn versions(
        &self,
        category: &str,
        name: &str,
        include_content: bool,
    ) -> Result<Vec<ComponentVersion>, EngineError> {
        let path = format!("{category}/{name}.py");
        let rows = self.store.versions_of(&path).await?;
        if rows.is_empty() {
            return Err(EngineError::ComponentNotFound(path));
        }
        let mut versions = Vec::with_capacity(rows.len());
        for row in rows {
            versions.push(self.version(row, include_content).await?);
        }
        Ok(versions)
    }

    /// The version with `hash` (the active one when several paths hold it),
    /// with its content.
    pub async fn by_hash(&self, hash: &str) -> Result<ComponentVersion, EngineError> {
        let hash = checked_hash(hash)?;
        let rows = self.store.versions_with_hash(&hash).await?;
        match rows.into_iter().next() {
            Some(row) => self.version(row, true).await,
            None => Err(EngineError::ComponentNotFound(hash)),
        }
    }

    /// The content with `hash` (a version or a `code:` file).
    pub async fn content(&self, hash: &str) -> Result<String, EngineError> {
        let hash = checked_hash(hash)?;
        self.store
            .blob(&hash)
            .await?
            .ok_or(EngineError::ComponentNotFound(hash))
    }

    async fn version(
        &self,
        row: VersionRow,
        include_content: bool,
    ) -> Result<ComponentVersion, EngineError> {
        let content = if include_content {
            self.store.blob(&row.hash).await?
        } else {
            None
        };
        let used_by = self
            .store
            .jobs_using(&row.path, &row.hash, USED_BY_LIMIT)
            .await?;
        Ok(ComponentVersion {
            created_at: iso_utc(row.created_ms),
            hash: row.hash,
            path: row.path,
            category: row.category,
            name: row.name,
            is_active: row.is_active,
            content,
            created_ms: row.created_ms,
            size: row.size,
            added_by: row.added_by,
            used_by,
        })
    }

    /// Adds `req.content` as a version of `req.path` (activating it unless
    /// `activate` is false and the path already has an active version).
    pub async fn upload(
        &self,
        req: &UploadRequest,
        actor: &Actor,
    ) -> Result<UploadResponse, EngineError> {
        let path = store_path(&req.path)?;
        let hash = checked_content(&req.path, &req.content)?;
        let who = format!("upload by {}", actor.who);
        let stored = self
            .store
            .store_version(
                &path,
                &hash,
                &req.content,
                req.activate,
                false,
                Audit {
                    action: "upload",
                    who: &who,
                    origin: &actor.origin,
                },
                self.clock.now_ms(),
            )
            .await?;
        tracing::info!(path = %path, hash, who = %actor.who, origin = %actor.origin,
            new = stored.is_new, active = stored.is_active, "component uploaded");
        Ok(UploadResponse {
            hash,
            category: path.category().to_string(),
            name: path.name().to_string(),
            path: path.to_string(),
            is_new: stored.is_new,
            is_active: stored.is_active,
        })
    }

    /// Makes a stored version its path's active one (a rollback, or a
    /// roll-forward). Without `path`, the hash must name one path's version.
    pub async fn activate(
        &self,
        req: &ActivateRequest,
        actor: &Actor,
    ) -> Result<ComponentVersion, EngineError> {
        let hash = checked_hash(&req.hash)?;
        let path = match &req.path {
            Some(p) => store_path(p)?.to_string(),
            None => {
                let rows = self.store.versions_with_hash(&hash).await?;
                match rows.as_slice() {
                    [] => return Err(EngineError::ComponentNotFound(hash)),
                    [one] => one.path.clone(),
                    many => {
                        return Err(EngineError::BadComponentPath {
                            path: hash.clone(),
                            message: format!(
                            "this content is a version of {} paths ({}); say which with \"path\"",
                            many.len(),
                            many.iter()
                                .map(|r| r.path.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        })
                    }
                }
            }
        };
        let audit = Audit {
            action: "activate",
            who: &actor.who,
            origin: &actor.origin,
        };
        if !self
            .store
            .activate_version(&path, &hash, audit, self.clock.now_ms())
            .await?
        {
            return Err(EngineError::ComponentNotFound(format!("{path}@{hash}")));
        }
        tracing::info!(path, hash, who = %actor.who, origin = %actor.origin, "component version activated");
        let rows = self.store.versions_of(&path).await?;
        let row = rows
            .into_iter()
            .find(|r| r.hash == hash)
            .ok_or_else(|| EngineError::ComponentNotFound(format!("{path}@{hash}")))?;
        self.version(row, false).await
    }

    /// Two versions (or any two stored contents) side by side, with a
    /// unified diff from `from` to `to`.
    pub async fn diff(&self, from: &str, to: &str) -> Result<DiffResponse, EngineError> {
        let from_hash = checked_hash(from)?;
        let to_hash = checked_hash(to)?;
        let from_content = self.content(&from_hash).await?;
        let to_content = self.content(&to_hash).await?;
        let path = self
            .store
            .versions_with_hash(&to_hash)
            .await?
            .into_iter()
            .next()
            .map(|r| r.path)
            .unwrap_or_default();
        let unified = similar::TextDiff::from_lines(&from_content, &to_content)
            .unified_diff()
            .context_radius(3)
            .header(&format!("{path}@{from_hash}"), &format!("{path}@{to_hash}"))
            .to_string();
        Ok(DiffResponse {
            from_hash,
            to_hash,
            from_content,
            to_content,
            path,
            unified,
        })
    }
}
