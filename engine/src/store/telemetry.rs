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

    /// Bytes the database file grew by from its freshly migrated size.
    async fn grown(store: &Store, dir: &std::path::Path, base: u64) -> Result<u64, EngineError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&store.pool)
            .await?;
        let len = std::fs::metadata(dir.join(super::super::DB_FILE))
            .map(|m| m.len())
            .unwrap_or(0);
        Ok(len.saturating_sub(base))
    }

    fn env_or(name: &str, default: i64) -> i64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    /// The size of a week of telemetry (docs/benchmarks.md): 100 hosts × 8
    /// GPUs × 7 days of minutes as stored, and one day of the same in a
    /// row-per-GPU-minute table for comparison. Run with
    /// `cargo test -p trainyard-engine --lib telemetry_size -- --ignored --nocapture`
    /// (`TELEMETRY_BENCH_HOSTS`, `TELEMETRY_BENCH_DAYS` change the scale).
    #[tokio::test]
    #[ignore = "a measurement: writes a million rows (about a minute in a debug build)"]
    async fn telemetry_size_of_a_week_of_a_hundred_hosts() -> Result<(), EngineError> {
        let hosts = env_or("TELEMETRY_BENCH_HOSTS", 100);
        let days = env_or("TELEMETRY_BENCH_DAYS", 7);
        let gpus = 8usize;
        let minutes = days * 24 * 60;
        let start = 29_400_000; // a minute in 2025
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        // Per GPU: index, util %, temperature, memory used and total (16 MiB units).
        let blob = |rand: &mut dyn FnMut() -> u64| {
            let mut b = Vec::with_capacity(gpus * 7);
            for g in 0..gpus {
                let r = rand();
                b.extend_from_slice(&[g as u8, (r % 101) as u8, 30 + (r >> 8) as u8 % 50]);
                b.extend_from_slice(&(((r >> 16) % 5000) as u16).to_le_bytes());
                b.extend_from_slice(&5120u16.to_le_bytes());
            }
            b
        };

        let dir = tempfile::tempdir().map_err(|e| EngineError::Io {
            path: "tmp".into(),
            source: e,
        })?;
        let store = Store::open(dir.path()).await?;
        let base = grown(&store, dir.path(), 0).await?;
        let mut rows = Vec::with_capacity(10_000);
        for h in 0..hosts {
            for m in 0..minutes {
                rows.push(TelemetryRow {
                    host_id: format!("gpu-node-{h:03}"),
                    minute: start + m,
                    gpus: blob(&mut next),
                });
                if rows.len() == 10_000 {
                    store.insert_telemetry(&rows).await?;
                    rows.clear();
                }
            }
        }
        store.insert_telemetry(&rows).await?;
        let packed = grown(&store, dir.path(), base).await?;
        let n = (hosts * minutes) as u64;
        let samples = n * gpus as u64;
        println!(
            "packed: {hosts} hosts x {gpus} GPUs x {days} days = {n} rows ({samples} GPU-minutes): \
             {packed} bytes ({:.1} MiB), {:.1} bytes/row, {:.2} bytes/GPU-minute",
            packed as f64 / 1048576.0,
            packed as f64 / n as f64,
            packed as f64 / samples as f64
        );
        store.close().await;

        // The alternative: one row per GPU and minute, columns for each value.
        let dir = tempfile::tempdir().map_err(|e| EngineError::Io {
            path: "tmp".into(),
            source: e,
        })?;
        let store = Store::open(dir.path()).await?;
        sqlx::query(
            "CREATE TABLE gpu_minutes (host_id TEXT NOT NULL, gpu INTEGER NOT NULL,
             minute INTEGER NOT NULL, util INTEGER NOT NULL, temp INTEGER,
             mem_used_mib INTEGER NOT NULL, mem_total_mib INTEGER NOT NULL,
             PRIMARY KEY (host_id, gpu, minute)) STRICT, WITHOUT ROWID",
        )
        .execute(&store.pool)
        .await?;
        let base = grown(&store, dir.path(), 0).await?;
        let day = 24 * 60;
        let mut tx = store.pool.begin().await?;
        for h in 0..hosts {
            for g in 0..gpus as i64 {
                for m in 0..day {
                    let r = next();
                    sqlx::query("INSERT INTO gpu_minutes VALUES (?, ?, ?, ?, ?, ?, ?)")
                        .bind(format!("gpu-node-{h:03}"))
                        .bind(g)
                        .bind(start + m)
                        .bind((r % 101) as i64)
                        .bind(30 + ((r >> 8) % 50) as i64)
                        .bind(((r >> 16) % 80_000) as i64)
                        .bind(81_920i64)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        let naive = grown(&store, dir.path(), base).await?;
        let naive_samples = (hosts * gpus as i64 * day) as u64;
        println!(
            "row per GPU-minute: one day = {naive_samples} rows: {naive} bytes, \
             {:.2} bytes/GPU-minute; a week would be about {:.1} MiB",
            naive as f64 / naive_samples as f64,
            naive as f64 * 7.0 / 1048576.0
        );
        store.close().await;
        Ok(())
    }
}
