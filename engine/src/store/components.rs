//! The components store's tables: blobs, versions, the active pointer per
//! path, the audit log, job and experiment manifests, conflict notices.
//! Append-only: no statement here deletes or overwrites a blob or version.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use trainyard_core::components::{
    ConflictKind, ConflictNotice, ManifestEntry, Resolution, StorePath, SyncStrategy,
};

use super::Store;
use crate::error::EngineError;

/// A version as stored, with its blob's size and whether it is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    pub path: String,
    pub category: String,
    pub name: String,
    pub hash: String,
    pub size: u64,
    pub created_ms: i64,
    pub added_by: String,
    pub is_active: bool,
}

/// A path with its version count and active hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRow {
    pub path: String,
    pub category: String,
    pub name: String,
    pub active_hash: Option<String>,
    pub versions: u64,
    pub updated_ms: i64,
}

/// What storing a version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The path had no version with this content before.
    pub is_new: bool,
    /// It is the path's active version now.
    pub is_active: bool,
}

/// One entry of the audit log.
pub struct Audit<'a> {
    pub action: &'a str,
    pub who: &'a str,
    pub origin: &'a str,
}

/// What the store knows about the paths of one sync.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PathsKnown {
    /// Active hash per path (paths without versions are absent).
    pub active: HashMap<String, String>,
    /// Every (path, hash) stored as a version, but those stored only
    /// because a worker ran them.
    pub versions: HashSet<(String, String)>,
}

const VERSION_COLUMNS: &str = "v.path, v.category, v.name, v.hash, b.size, v.created_ms, \
    v.added_by, (a.hash IS NOT NULL AND a.hash = v.hash) AS is_active";

impl Store {
    /// Stores `content` (hashing to `hash`) as a version of `path`. With
    /// `activate`, it becomes the active version; the first version of a
    /// path is active in any case. `ran_only` marks a worker's copy stored
    /// only because it ran (see the migration).
    #[allow(clippy::too_many_arguments)]
    pub async fn store_version(
        &self,
        path: &StorePath,
        hash: &str,
        content: &str,
        activate: bool,
        ran_only: bool,
        audit: Audit<'_>,
        now_ms: i64,
    ) -> Result<Stored, EngineError> {
        let mut tx = self.pool.begin().await?;
        put_blob(&mut tx, hash, content, now_ms).await?;
        let path_text = path.to_string();
        let added = sqlx::query(
            "INSERT INTO component_versions (path, category, name, hash, created_ms, added_by, ran_only)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path, hash) DO NOTHING",
        )
        .bind(&path_text)
        .bind(path.category())
        .bind(path.name())
        .bind(hash)
        .bind(now_ms)
        .bind(audit.who)
        .bind(ran_only && !activate)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let sql = if activate {
            "INSERT INTO component_active (path, hash, activated_ms) VALUES (?, ?, ?)
             ON CONFLICT(path) DO UPDATE SET hash = excluded.hash, activated_ms = excluded.activated_ms"
        } else {
            "INSERT INTO component_active (path, hash, activated_ms) VALUES (?, ?, ?)
             ON CONFLICT(path) DO NOTHING"
        };
        sqlx::query(sql)
            .bind(&path_text)
            .bind(hash)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let active: String = sqlx::query("SELECT hash FROM component_active WHERE path = ?")
            .bind(&path_text)
            .fetch_one(&mut *tx)
            .await?
            .try_get("hash")?;
        if active == hash {
            promote(&mut tx, &path_text, hash).await?;
        }
        if added > 0 || activate {
            audit_in(&mut tx, &audit, &path_text, hash, now_ms).await?;
        }
        tx.commit().await?;
        Ok(Stored {
            is_new: added > 0,
            is_active: active == hash,
        })
    }

    /// Stores content that is not a component version (a `code:` file).
    pub async fn store_blob(
        &self,
        hash: &str,
        content: &str,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        put_blob(&mut tx, hash, content, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Makes the version (`path`, `hash`) the path's active one; `false`
    /// when there is no such version.
    pub async fn activate_version(
        &self,
        path: &str,
        hash: &str,
        audit: Audit<'_>,
        now_ms: i64,
    ) -> Result<bool, EngineError> {
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT 1 FROM component_versions WHERE path = ? AND hash = ?")
            .bind(path)
            .bind(hash)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !exists {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO component_active (path, hash, activated_ms) VALUES (?, ?, ?)
             ON CONFLICT(path) DO UPDATE SET hash = excluded.hash, activated_ms = excluded.activated_ms",
        )
        .bind(path)
        .bind(hash)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        promote(&mut tx, path, hash).await?;
        audit_in(&mut tx, &audit, path, hash, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every version of `path`, newest first.
    pub async fn versions_of(&self, path: &str) -> Result<Vec<VersionRow>, EngineError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM component_versions v
             JOIN component_blobs b ON b.hash = v.hash
             LEFT JOIN component_active a ON a.path = v.path
             WHERE v.path = ? ORDER BY v.created_ms DESC, v.id DESC"
        );
        let rows = sqlx::query(&sql).bind(path).fetch_all(&self.pool).await?;
        rows.iter().map(version_row).collect()
    }

    /// The versions holding `hash` (under any path), active ones first.
    pub async fn versions_with_hash(&self, hash: &str) -> Result<Vec<VersionRow>, EngineError> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM component_versions v
             JOIN component_blobs b ON b.hash = v.hash
             LEFT JOIN component_active a ON a.path = v.path
             WHERE v.hash = ? ORDER BY is_active DESC, v.created_ms DESC"
        );
        let rows = sqlx::query(&sql).bind(hash).fetch_all(&self.pool).await?;
        rows.iter().map(version_row).collect()
    }

    /// The content with `hash`, if stored.
    pub async fn blob(&self, hash: &str) -> Result<Option<String>, EngineError> {
        let row = sqlx::query("SELECT content FROM component_blobs WHERE hash = ?")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("content")).transpose()?)
    }

    /// Which of `hashes` are stored.
    pub async fn known_blobs(&self, hashes: &[String]) -> Result<HashSet<String>, EngineError> {
        let mut known = HashSet::new();
        for chunk in hashes.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!("SELECT hash FROM component_blobs WHERE hash IN ({marks})");
            let mut query = sqlx::query(&sql);
            for h in chunk {
                query = query.bind(h);
            }
            for row in query.fetch_all(&self.pool).await? {
                known.insert(row.try_get("hash")?);
            }
        }
        Ok(known)
    }

    /// Active hashes and stored versions of `paths`, in one query each.
    pub async fn paths_known(&self, paths: &[String]) -> Result<PathsKnown, EngineError> {
        let mut known = PathsKnown::default();
        for chunk in paths.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql = format!(
                "SELECT v.path, v.hash, (a.hash = v.hash) AS is_active, v.ran_only
                 FROM component_versions v LEFT JOIN component_active a ON a.path = v.path
                 WHERE v.path IN ({marks})"
            );
            let mut query = sqlx::query(&sql);
            for p in chunk {
                query = query.bind(p);
            }
            for row in query.fetch_all(&self.pool).await? {
                let path: String = row.try_get("path")?;
                let hash: String = row.try_get("hash")?;
                let active: Option<bool> = row.try_get("is_active")?;
                let ran_only: bool = row.try_get("ran_only")?;
                if active == Some(true) {
                    known.active.insert(path.clone(), hash.clone());
                }
                if !ran_only {
                    known.versions.insert((path, hash));
                }
            }
        }
        Ok(known)
    }

    /// Every path with versions (of `category` if given), ordered by path.
    pub async fn component_paths(
        &self,
        category: Option<&str>,
    ) -> Result<Vec<PathRow>, EngineError> {
        let rows = sqlx::query(
            "SELECT v.path, v.category, v.name, a.hash AS active_hash,
               COUNT(*) AS versions, MAX(v.created_ms) AS updated_ms
             FROM component_versions v LEFT JOIN component_active a ON a.path = v.path
             WHERE ?1 IS NULL OR v.category = ?1
             GROUP BY v.path ORDER BY v.path",
        )
        .bind(category)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let versions: i64 = r.try_get("versions")?;
                Ok(PathRow {
                    path: r.try_get("path")?,
                    category: r.try_get("category")?,
                    name: r.try_get("name")?,
                    active_hash: r.try_get("active_hash")?,
                    versions: u64::try_from(versions).unwrap_or(0),
                    updated_ms: r.try_get("updated_ms")?,
                })
            })
            .collect()
    }

    /// Jobs whose manifests hold (`path`, `hash`), newest first.
    pub async fn jobs_using(
        &self,
        path: &str,
        hash: &str,
        limit: u32,
    ) -> Result<Vec<i64>, EngineError> {
        let rows = sqlx::query(
            "SELECT DISTINCT job_id FROM job_manifests WHERE path = ? AND hash = ?
             ORDER BY job_id DESC LIMIT ?",
        )
        .bind(path)
        .bind(hash)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("job_id")?)).collect()
    }

    /// Records what an attempt runs with (replacing a previous record of
    /// the same attempt, which a repeated sync may send); `activate` names
    /// the paths whose worker copy becomes active when it arrives.
    pub async fn save_job_manifest(
        &self,
        job_id: i64,
        attempt: u32,
        strategy: SyncStrategy,
        entries: &[ManifestEntry],
        activate: &[&str],
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        // A repeated sync of the attempt replaces its record whole.
        sqlx::query("DELETE FROM job_manifests WHERE job_id = ? AND attempt = ?")
            .bind(job_id)
            .bind(i64::from(attempt))
            .execute(&mut *tx)
            .await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO job_manifests (job_id, attempt, path, hash, code, was_active, activate,
                   strategy, created_ms)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(job_id)
            .bind(i64::from(attempt))
            .bind(&e.path)
            .bind(&e.hash)
            .bind(e.code)
            .bind(e.was_active)
            .bind(!e.code && activate.contains(&e.path.as_str()))
            .bind(strategy.label())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest attempt of `job_id` with a manifest, and its entries
    /// (sizes filled in), sorted by path.
    pub async fn job_manifest(
        &self,
        job_id: i64,
    ) -> Result<Option<(u32, Option<SyncStrategy>, i64, Vec<ManifestEntry>)>, EngineError> {
        let rows = sqlx::query(
            "SELECT m.attempt, m.path, m.hash, m.code, m.was_active, m.strategy, m.created_ms,
               COALESCE(b.size, 0) AS size
             FROM job_manifests m LEFT JOIN component_blobs b ON b.hash = m.hash
             WHERE m.job_id = ?1
               AND m.attempt = (SELECT MAX(attempt) FROM job_manifests WHERE job_id = ?1)
             ORDER BY m.path",
        )
        .bind(job_id)
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let attempt: i64 = first.try_get("attempt")?;
        let strategy: Option<String> = first.try_get("strategy")?;
        let created_ms: i64 = first.try_get("created_ms")?;
        let entries = rows
            .iter()
            .map(|r| {
                let size: i64 = r.try_get("size")?;
                Ok(ManifestEntry {
                    path: r.try_get("path")?,
                    hash: r.try_get("hash")?,
                    code: r.try_get("code")?,
                    was_active: r.try_get("was_active")?,
                    size: u64::try_from(size).unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        Ok(Some((
            u32::try_from(attempt).unwrap_or(0),
            strategy.and_then(|s| s.parse().ok()),
            created_ms,
            entries,
        )))
    }

    /// Whether attempt `at`'s manifest names (`path`, `hash`); `Some(activate)`
    /// if it does (the copy becomes the active version when it arrives).
    pub async fn planned_copy(
        &self,
        job_id: i64,
        attempt: u32,
        path: &str,
        hash: &str,
        code: bool,
    ) -> Result<Option<bool>, EngineError> {
        let row = sqlx::query(
            "SELECT activate FROM job_manifests
             WHERE job_id = ? AND attempt = ? AND path = ? AND hash = ? AND code = ?",
        )
        .bind(job_id)
        .bind(i64::from(attempt))
        .bind(path)
        .bind(hash)
        .bind(code)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| r.try_get("activate")).transpose()?)
    }

    /// Saves the manifest CVLab-Kit sends under `uid`.
    pub async fn save_experiment_manifest(
        &self,
        uid: &str,
        components: &BTreeMap<String, String>,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        // Every row of the new set gets `now_ms`; the newest set is the
        // manifest (CVLab-Kit re-posts it whole), older rows stay as history.
        let mut tx = self.pool.begin().await?;
        for (path, hash) in components {
            sqlx::query(
                "INSERT INTO experiment_manifests (uid, path, hash, created_ms) VALUES (?, ?, ?, ?)
                 ON CONFLICT(uid, path) DO UPDATE SET hash = excluded.hash, created_ms = excluded.created_ms",
            )
            .bind(uid)
            .bind(path)
            .bind(hash)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest set saved under `uid` with when it was saved.
    pub async fn experiment_manifest(
        &self,
        uid: &str,
    ) -> Result<Option<(BTreeMap<String, String>, i64)>, EngineError> {
        let rows = sqlx::query(
            "SELECT path, hash, created_ms FROM experiment_manifests
             WHERE uid = ?1 AND created_ms = (SELECT MAX(created_ms) FROM experiment_manifests WHERE uid = ?1)",
        )
        .bind(uid)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let created_ms: i64 = rows[0].try_get("created_ms")?;
        let mut map = BTreeMap::new();
        for r in &rows {
            map.insert(r.try_get("path")?, r.try_get("hash")?);
        }
        Ok(Some((map, created_ms)))
    }

    /// The notice for (`host`, `path`, `local_hash`), opened now if there is
    /// none; its id.
    #[allow(clippy::too_many_arguments)]
    pub async fn open_notice(
        &self,
        host: &str,
        job_id: Option<i64>,
        path: &str,
        kind: ConflictKind,
        local_hash: &str,
        server_hash: Option<&str>,
        now_ms: i64,
    ) -> Result<i64, EngineError> {
        sqlx::query(
            "INSERT INTO component_notices (host_id, job_id, path, kind, local_hash, server_hash, created_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(host_id, path, local_hash) DO NOTHING",
        )
        .bind(host)
        .bind(job_id)
        .bind(path)
        .bind(kind.label())
        .bind(local_hash)
        .bind(server_hash)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query(
            "SELECT id FROM component_notices WHERE host_id = ? AND path = ? AND local_hash = ?",
        )
        .bind(host)
        .bind(path)
        .bind(local_hash)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("id")?)
    }

    /// Notices, newest first: only unanswered ones with `open_only`.
    pub async fn notices(&self, open_only: bool) -> Result<Vec<ConflictNotice>, EngineError> {
        let rows = sqlx::query(
            "SELECT * FROM component_notices WHERE NOT ?1 OR choice IS NULL
             ORDER BY id DESC LIMIT 500",
        )
        .bind(open_only)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(notice_row).collect()
    }

    /// One notice.
    pub async fn notice(&self, id: i64) -> Result<Option<ConflictNotice>, EngineError> {
        let row = sqlx::query("SELECT * FROM component_notices WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(notice_row).transpose()
    }

    /// Records a person's answer; `false` when the notice is unknown.
    pub async fn answer_notice(
        &self,
        id: i64,
        choice: Resolution,
        who: &str,
        now_ms: i64,
    ) -> Result<bool, EngineError> {
        let done = sqlx::query(
            "UPDATE component_notices SET choice = ?, answered_by = ?, answered_ms = ?, applied_ms = NULL
             WHERE id = ?",
        )
        .bind(choice.label())
        .bind(who)
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(done > 0)
    }

    /// Notices of `host` for `paths`: (path, local hash) → the notice.
    pub async fn notices_of_host(
        &self,
        host: &str,
        paths: &[String],
    ) -> Result<HashMap<(String, String), ConflictNotice>, EngineError> {
        let mut found = HashMap::new();
        for chunk in paths.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let sql =
                format!("SELECT * FROM component_notices WHERE host_id = ? AND path IN ({marks})");
            let mut query = sqlx::query(&sql).bind(host);
            for p in chunk {
                query = query.bind(p);
            }
            for row in query.fetch_all(&self.pool).await? {
                let notice = notice_row(&row)?;
                found.insert((notice.path.clone(), notice.local_hash.clone()), notice);
            }
        }
        Ok(found)
    }

    /// The host carried these answers out.
    pub async fn mark_notices_applied(&self, ids: &[i64], now_ms: i64) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query("UPDATE component_notices SET applied_ms = ? WHERE id = ?")
                .bind(now_ms)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn put_blob(
    tx: &mut Transaction<'_, Sqlite>,
    hash: &str,
    content: &str,
    now_ms: i64,
) -> Result<(), EngineError> {
    sqlx::query(
        "INSERT INTO component_blobs (hash, content, size, created_ms) VALUES (?, ?, ?, ?)
         ON CONFLICT(hash) DO NOTHING",
    )
    .bind(hash)
    .bind(content)
    .bind(i64::try_from(content.len()).unwrap_or(i64::MAX))
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A version that is (or was made) active is the store's own from now on.
async fn promote(
    tx: &mut Transaction<'_, Sqlite>,
    path: &str,
    hash: &str,
) -> Result<(), EngineError> {
    sqlx::query(
        "UPDATE component_versions SET ran_only = 0 WHERE path = ? AND hash = ? AND ran_only = 1",
    )
    .bind(path)
    .bind(hash)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn audit_in(
    tx: &mut Transaction<'_, Sqlite>,
    audit: &Audit<'_>,
    path: &str,
    hash: &str,
    now_ms: i64,
) -> Result<(), EngineError> {
    sqlx::query(
        "INSERT INTO component_audit (at_ms, action, path, hash, who, origin) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(now_ms)
    .bind(audit.action)
    .bind(path)
    .bind(hash)
    .bind(audit.who)
    .bind(audit.origin)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn version_row(r: &SqliteRow) -> Result<VersionRow, EngineError> {
    let size: i64 = r.try_get("size")?;
    let active: Option<bool> = r.try_get("is_active")?;
    Ok(VersionRow {
        path: r.try_get("path")?,
        category: r.try_get("category")?,
        name: r.try_get("name")?,
        hash: r.try_get("hash")?,
        size: u64::try_from(size).unwrap_or(0),
        created_ms: r.try_get("created_ms")?,
        added_by: r.try_get("added_by")?,
        is_active: active.unwrap_or(false),
    })
}

fn notice_row(r: &SqliteRow) -> Result<ConflictNotice, EngineError> {
    let kind: String = r.try_get("kind")?;
    let choice: Option<String> = r.try_get("choice")?;
    Ok(ConflictNotice {
        id: r.try_get("id")?,
        host_id: r.try_get("host_id")?,
        job_id: r.try_get("job_id")?,
        path: r.try_get("path")?,
        kind: match kind.as_str() {
            "server_only" => ConflictKind::ServerOnly,
            "server_newer" => ConflictKind::ServerNewer,
            "local_only" => ConflictKind::LocalOnly,
            _ => ConflictKind::LocalNewer,
        },
        local_hash: r.try_get("local_hash")?,
        server_hash: r.try_get("server_hash")?,
        created_ms: r.try_get("created_ms")?,
        choice: choice.and_then(|c| c.parse().ok()),
        answered_by: r.try_get("answered_by")?,
        answered_ms: r.try_get("answered_ms")?,
        applied_ms: r.try_get("applied_ms")?,
    })
}
