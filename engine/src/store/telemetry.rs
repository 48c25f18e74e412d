//! The `gpu_telemetry` table: one row per host and minute, the GPUs packed
//! (the encoding lives with its reader, `hosts/telemetry.rs`).

use sqlx::Row;

use super::Store;
use crate::error::EngineError;

/// One host's GPUs in one minute, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryRow {
    pub host_id: String,
    /// Minutes since the Unix epoch (server time).
    pub minute: i64,
    pub gpus: Vec<u8>,
}

impl Store {
    /// Writes minutes in one transaction; a minute already stored (a
    /// partial one written at shutdown) is replaced.
    pub async fn insert_telemetry(&self, rows: &[TelemetryRow]) -> Result<(), EngineError> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for row in rows {
            sqlx::query(
                "INSERT OR REPLACE INTO gpu_telemetry (host_id, minute, gpus) VALUES (?, ?, ?)",
            )
            .bind(&row.host_id)
            .bind(row.minute)
            .bind(&row.gpus)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A host's minutes from `since` on, oldest first.
    pub async fn host_telemetry(
        &self,
        host_id: &str,
        since: i64,
    ) -> Result<Vec<TelemetryRow>, EngineError> {
        let rows = sqlx::query(
            "SELECT minute, gpus FROM gpu_telemetry WHERE host_id = ? AND minute >= ? ORDER BY minute",
        )
        .bind(host_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(TelemetryRow {
                    host_id: host_id.to_string(),
                    minute: r.try_get("minute")?,
                    gpus: r.try_get("gpus")?,
                })
            })
            .collect()
    }

    /// Deletes the named hosts' minutes before `before`, each host through
    /// its own key range (the table is keyed by host first, so a single
    /// `minute < ?` would scan all of it); returns the rows deleted.
    pub async fn prune_telemetry(
        &self,
        host_ids: &[String],
        before: i64,
    ) -> Result<u64, EngineError> {
        let mut tx = self.pool.begin().await?;
        let mut deleted = 0;
        for host_id in host_ids {
            deleted += sqlx::query("DELETE FROM gpu_telemetry WHERE host_id = ? AND minute < ?")
                .bind(host_id)
                .bind(before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// Every host id that has telemetry (hosts removed while a flush was
    /// under way may leave some behind; the prune sweeps them too).
    pub async fn telemetry_host_ids(&self) -> Result<Vec<String>, EngineError> {
        // One seek per distinct host along the primary key, not a scan of
        // every minute (a week of 100 hosts is a million rows).
        let rows = sqlx::query(
            "WITH RECURSIVE h(host_id) AS (
                 SELECT MIN(host_id) FROM gpu_telemetry
                 UNION ALL
                 SELECT (SELECT MIN(host_id) FROM gpu_telemetry WHERE host_id > h.host_id)
                 FROM h WHERE h.host_id IS NOT NULL
             )
             SELECT host_id FROM h WHERE host_id IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| Ok(r.try_get("host_id")?))
            .collect()
    }

    /// Deletes all of a host's telemetry.
    pub async fn delete_host_telemetry(&self, host_id: &str) -> Result<u64, EngineError> {
        let done = sqlx::query("DELETE FROM gpu_telemetry WHERE host_id = ?")
            .bind(host_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(host: &str, minute: i64, byte: u8) -> TelemetryRow {
        TelemetryRow {
            host_id: host.into(),
            minute,
            gpus: vec![byte; 7],
        }
    }

    #[tokio::test]
    async fn minutes_are_read_from_since_and_replaced_on_rewrite() -> Result<(), EngineError> {
        let store = Store::in_memory().await?;
        store
            .insert_telemetry(&[row("a", 1, 1), row("a", 2, 2), row("b", 2, 9)])
            .await?;
        store.insert_telemetry(&[row("a", 2, 3)]).await?;
        let rows = store.host_telemetry("a", 2).await?;
        assert_eq!(rows, vec![row("a", 2, 3)]);
        assert_eq!(store.host_telemetry("a", 0).await?.len(), 2);
        Ok(())
    }

    #[tokio::test]
    async fn prune_cuts_old_minutes_of_the_named_hosts_only() -> Result<(), EngineError> {
        let store = Store::in_memory().await?;
        store
            .insert_telemetry(&[row("a", 1, 1), row("a", 5, 1), row("b", 1, 1)])
            .await?;
        assert_eq!(store.prune_telemetry(&["a".to_string()], 5).await?, 1);
        assert_eq!(store.host_telemetry("a", 0).await?, vec![row("a", 5, 1)]);
        assert_eq!(store.telemetry_host_ids().await?, vec!["a", "b"]);
        assert_eq!(store.delete_host_telemetry("b").await?, 1);
        assert_eq!(store.telemetry_host_ids().await?, vec!["a"]);
        Ok(())
    }
}
