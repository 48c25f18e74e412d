//! SQLite storage: opening, migrating, and one module per table.

mod catalog;
mod components;
mod hosts;
mod imports;
mod jobs;
mod metrics;
mod mirror;
mod model_meta;
mod models;
mod runs;
mod serving;
mod telemetry;
mod tracking;
mod webhooks;

pub use components::{Audit, PathsKnown, VersionRow};
pub use hosts::HostRow;
pub use imports::ImportedRun;
pub use jobs::{JobFilter, JobRow, NewLaunch, NewSweep};
pub use metrics::{CursorSave, CursorTable, SeriesRow};
pub use model_meta::{ModelAnnotations, VersionColumn};
pub use models::{ModelVersionRow, NewVersion};
pub use runs::RunFacts;
pub use serving::ServingRow;
pub use telemetry::TelemetryRow;
pub use tracking::ExperimentRow;
pub use webhooks::{DeliveryUpdate, WebhookRow};

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::error::EngineError;

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "trainyard.db";

/// Handle to the migrated database.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/trainyard.db` in WAL mode and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Store, EngineError> {
        ensure_writable_dir(data_dir)?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(DB_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL survives a process crash; only an OS crash can lose
            // the last transactions, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Self::migrated(pool).await
    }

    /// A private in-memory database, for tests.
    pub async fn in_memory() -> Result<Store, EngineError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?.foreign_keys(true);
        // One connection: each in-memory connection would be its own database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<Store, EngineError> {
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Store { pool })
    }

    /// Waits for pending writes and closes the database cleanly.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `('queued', 'assigned', …)`: the statuses of unfinished jobs as an SQL
/// list, from `JobStatus` itself so the two cannot drift apart.
pub(crate) fn unfinished_statuses_sql() -> String {
    let labels: Vec<String> = trainyard_core::JobStatus::ALL
        .into_iter()
        .filter(|s| !s.is_final())
        .map(|s| format!("'{}'", s.label()))
        .collect();
    format!("({})", labels.join(", "))
}

/// Creates the data dir and proves we can write into it, so a bad path fails
/// at startup with the path in the message rather than at the first write.
fn ensure_writable_dir(dir: &Path) -> Result<(), EngineError> {
    let fail = |e: std::io::Error| EngineError::Io {
        path: PathBuf::from(dir),
        source: std::io::Error::new(e.kind(), format!("cannot use it as the data dir: {e}")),
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".trainyard-write-test");
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)?;
    Ok(())
}
