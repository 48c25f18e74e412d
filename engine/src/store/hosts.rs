//! The `hosts` table: one row per host that ever reported.

use sqlx::Row;

use super::Store;
use crate::error::EngineError;

/// A host as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HostRow {
    pub host_id: String,
    pub hostname: String,
    pub agent_version: String,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// The last heartbeat, as JSON.
    pub last_heartbeat: String,
}

impl Store {
    /// Inserts or updates hosts in one transaction; `first_seen_ms` of an
    /// existing row is kept.
    pub async fn upsert_hosts(&self, rows: &[HostRow]) -> Result<(), EngineError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for row in rows {
            sqlx::query(
                "INSERT INTO hosts (host_id, hostname, agent_version, first_seen_ms, last_seen_ms, last_heartbeat)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT(host_id) DO UPDATE SET
                   hostname = excluded.hostname,
                   agent_version = excluded.agent_version,
                   last_seen_ms = excluded.last_seen_ms,
                   last_heartbeat = excluded.last_heartbeat",
            )
            .bind(&row.host_id)
            .bind(&row.hostname)
            .bind(&row.agent_version)
            .bind(row.first_seen_ms)
            .bind(row.last_seen_ms)
            .bind(&row.last_heartbeat)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every stored host, ordered by id.
    pub async fn list_hosts(&self) -> Result<Vec<HostRow>, EngineError> {
        let rows = sqlx::query(
            "SELECT host_id, hostname, agent_version, first_seen_ms, last_seen_ms, last_heartbeat
             FROM hosts ORDER BY host_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(HostRow {
                    host_id: r.try_get("host_id")?,
                    hostname: r.try_get("hostname")?,
                    agent_version: r.try_get("agent_version")?,
                    first_seen_ms: r.try_get("first_seen_ms")?,
                    last_seen_ms: r.try_get("last_seen_ms")?,
                    last_heartbeat: r.try_get("last_heartbeat")?,
                })
            })
            .collect()
    }

    /// Deletes a host; returns whether a row existed.
    pub async fn delete_host(&self, host_id: &str) -> Result<bool, EngineError> {
        let done = sqlx::query("DELETE FROM hosts WHERE host_id = ?")
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, seen: i64) -> HostRow {
        HostRow {
            host_id: id.into(),
            hostname: format!("{id}.lab"),
            agent_version: "0.1.0".into(),
            first_seen_ms: seen,
            last_seen_ms: seen,
            last_heartbeat: "{}".into(),
        }
    }

    #[tokio::test]
    async fn upsert_keeps_first_seen_and_updates_the_rest() -> Result<(), EngineError> {
        let store = Store::in_memory().await?;
        store.upsert_hosts(&[row("a", 10), row("b", 11)]).await?;
        store.upsert_hosts(&[row("a", 20)]).await?;
        let rows = store.list_hosts().await?;
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].first_seen_ms, rows[0].last_seen_ms), (10, 20));
        assert_eq!(rows[1].host_id, "b");
        Ok(())
    }

    #[tokio::test]
    async fn delete_reports_whether_the_host_existed() -> Result<(), EngineError> {
        let store = Store::in_memory().await?;
        store.upsert_hosts(&[row("a", 1)]).await?;
        assert!(store.delete_host("a").await?);
        assert!(!store.delete_host("a").await?);
        assert!(store.list_hosts().await?.is_empty());
        Ok(())
    }

    #[tokio::test]
    async fn a_data_dir_that_is_a_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").expect("the file is written");
        let err = Store::open(&file)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not-a-dir"), "{err}");
    }

    #[tokio::test]
    async fn a_reopened_database_keeps_its_rows() -> Result<(), EngineError> {
        let dir = tempfile::tempdir().map_err(|e| EngineError::Io {
            path: "tmp".into(),
            source: e,
        })?;
        let store = Store::open(dir.path()).await?;
        store.upsert_hosts(&[row("a", 1)]).await?;
        store.close().await;
        let again = Store::open(dir.path()).await?;
        assert_eq!(again.list_hosts().await?.len(), 1);
        Ok(())
    }
}
