//! The `webhooks` and `webhook_deliveries` tables, and the job counts
//! `/metrics` reports.

use sqlx::Row;
use trainyard_core::webhooks::{
    DeliveryStatus, DeliveryView, NotifiedSweep, NotifyEvent, WebhookKind, WebhookView,
};
use trainyard_core::{JobStatus, Priority};

use super::Store;
use crate::error::EngineError;

/// A webhook to save.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRow {
    pub url: String,
    pub kind: WebhookKind,
    pub project: Option<String>,
    pub events: Vec<NotifyEvent>,
    pub source: String,
}

/// A delivery's outcome so far.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryUpdate {
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub http_status: Option<u16>,
    pub last_error: Option<String>,
}

/// Deliveries kept; older ones are deleted as new ones are recorded.
const KEPT_DELIVERIES: i64 = 10_000;

const DELIVERY_COLUMNS: &str = "id, webhook_id, event, job_id, sweep_id, status, attempts, \
     http_status, last_error, created_ms, updated_ms";

fn events_text(events: &[NotifyEvent]) -> String {
    events
        .iter()
        .map(|e| e.label())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse<T: std::str::FromStr<Err = String>>(text: &str) -> Result<T, sqlx::Error> {
    text.parse()
        .map_err(|e: String| sqlx::Error::Decode(e.into()))
}

fn delivery(row: &sqlx::sqlite::SqliteRow, prefix: &str) -> Result<DeliveryView, sqlx::Error> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(DeliveryView {
        id: row.try_get(col("id").as_str())?,
        webhook_id: row.try_get(col("webhook_id").as_str())?,
        event: parse(&row.try_get::<String, _>(col("event").as_str())?)?,
        job_id: row.try_get(col("job_id").as_str())?,
        sweep_id: row.try_get(col("sweep_id").as_str())?,
        status: parse(&row.try_get::<String, _>(col("status").as_str())?)?,
        attempts: u32::try_from(row.try_get::<i64, _>(col("attempts").as_str())?).unwrap_or(0),
        http_status: row
            .try_get::<Option<i64>, _>(col("http_status").as_str())?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.try_get(col("last_error").as_str())?,
        created_ms: row.try_get(col("created_ms").as_str())?,
        updated_ms: row.try_get(col("updated_ms").as_str())?,
    })
}

fn webhook(row: &sqlx::sqlite::SqliteRow) -> Result<WebhookView, sqlx::Error> {
    let events: String = row.try_get("events")?;
    let last_delivery = match row.try_get::<Option<i64>, _>("d_id")? {
        Some(_) => Some(delivery(row, "d_")?),
        None => None,
    };
    Ok(WebhookView {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        kind: parse(&row.try_get::<String, _>("kind")?)?,
        project: row.try_get("project")?,
        events: NotifyEvent::parse_list(&events).map_err(|e| sqlx::Error::Decode(e.into()))?,
        source: row.try_get("source")?,
        created_ms: row.try_get("created_ms")?,
        last_delivery,
    })
}

impl Store {
    /// Saves a webhook; returns its id.
    pub async fn insert_webhook(&self, hook: &WebhookRow, now_ms: i64) -> Result<i64, EngineError> {
        Ok(sqlx::query(
            "INSERT INTO webhooks (url, kind, project, events, source, created_ms) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&hook.url)
        .bind(hook.kind.label())
        .bind(&hook.project)
        .bind(events_text(&hook.events))
        .bind(&hook.source)
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .last_insert_rowid())
    }

    /// Deletes a webhook and its deliveries; whether it existed.
    pub async fn delete_webhook(&self, id: i64) -> Result<bool, EngineError> {
        Ok(sqlx::query("DELETE FROM webhooks WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    /// Replaces the webhooks given by flags with `hooks`, keeping those
    /// (and their history) that are unchanged.
    pub async fn replace_flag_webhooks(
        &self,
        hooks: &[WebhookRow],
        now_ms: i64,
    ) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        let existing =
            sqlx::query("SELECT id, url, kind, events FROM webhooks WHERE source = 'flag'")
                .fetch_all(&mut *tx)
                .await?;
        let mut kept = Vec::new();
        for row in &existing {
            let id: i64 = row.try_get("id")?;
            let (url, kind, events): (String, String, String) = (
                row.try_get("url")?,
                row.try_get("kind")?,
                row.try_get("events")?,
            );
            let wanted = hooks.iter().position(|h| {
                h.url == url && h.kind.label() == kind && events_text(&h.events) == events
            });
            match wanted {
                Some(i) if !kept.contains(&i) => kept.push(i),
                _ => {
                    sqlx::query("DELETE FROM webhooks WHERE id = ?")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        for (i, hook) in hooks.iter().enumerate() {
            if kept.contains(&i) {
                continue;
            }
            sqlx::query(
                "INSERT INTO webhooks (url, kind, project, events, source, created_ms) \
                 VALUES (?, ?, NULL, ?, 'flag', ?)",
            )
            .bind(&hook.url)
            .bind(hook.kind.label())
            .bind(events_text(&hook.events))
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every webhook, oldest first, each with its newest delivery.
    pub async fn webhooks(&self) -> Result<Vec<WebhookView>, EngineError> {
        let rows = sqlx::query(
            "SELECT w.id, w.url, w.kind, w.project, w.events, w.source, w.created_ms, \
                    d.id AS d_id, d.webhook_id AS d_webhook_id, d.event AS d_event, \
                    d.job_id AS d_job_id, d.sweep_id AS d_sweep_id, d.status AS d_status, \
                    d.attempts AS d_attempts, d.http_status AS d_http_status, \
                    d.last_error AS d_last_error, d.created_ms AS d_created_ms, \
                    d.updated_ms AS d_updated_ms \
             FROM webhooks w \
             LEFT JOIN webhook_deliveries d ON d.id = \
                 (SELECT MAX(id) FROM webhook_deliveries WHERE webhook_id = w.id) \
             ORDER BY w.id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(webhook).collect::<Result<_, _>>()?)
    }

    /// Records a new delivery as pending; returns its id. Deliveries beyond
    /// the newest [`KEPT_DELIVERIES`] are deleted.
    pub async fn insert_delivery(
        &self,
        webhook_id: i64,
        event: NotifyEvent,
        job_id: Option<i64>,
        sweep_id: Option<i64>,
        now_ms: i64,
    ) -> Result<i64, EngineError> {
        let id = sqlx::query(
            "INSERT INTO webhook_deliveries \
             (webhook_id, event, job_id, sweep_id, status, attempts, created_ms, updated_ms) \
             VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)",
        )
        .bind(webhook_id)
        .bind(event.label())
        .bind(job_id)
        .bind(sweep_id)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .last_insert_rowid();
        if id % 100 == 0 {
            sqlx::query("DELETE FROM webhook_deliveries WHERE id <= ?")
                .bind(id - KEPT_DELIVERIES)
                .execute(&self.pool)
                .await?;
        }
        Ok(id)
    }

    /// Writes a delivery's outcome so far.
    pub async fn update_delivery(
        &self,
        id: i64,
        update: &DeliveryUpdate,
        now_ms: i64,
    ) -> Result<(), EngineError> {
        sqlx::query(
            "UPDATE webhook_deliveries SET status = ?, attempts = ?, http_status = ?, \
             last_error = ?, updated_ms = ? WHERE id = ?",
        )
        .bind(update.status.label())
        .bind(i64::from(update.attempts))
        .bind(update.http_status.map(i64::from))
        .bind(&update.last_error)
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deliveries left pending by a server that stopped: marked failed.
    pub async fn fail_pending_deliveries(&self, now_ms: i64) -> Result<u64, EngineError> {
        Ok(sqlx::query(
            "UPDATE webhook_deliveries SET status = 'failed', updated_ms = ?, \
             last_error = COALESCE(last_error || '; ', '') || 'the server stopped before it was delivered' \
             WHERE status = 'pending'",
        )
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// The newest `limit` deliveries, of one webhook or all.
    pub async fn deliveries(
        &self,
        webhook_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<DeliveryView>, EngineError> {
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE ? IS NULL OR webhook_id = ? ORDER BY id DESC LIMIT ?"
        ))
        .bind(webhook_id)
        .bind(webhook_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| delivery(r, ""))
            .collect::<Result<_, _>>()?)
    }

    /// One delivery.
    pub async fn delivery(&self, id: i64) -> Result<Option<DeliveryView>, EngineError> {
        let row = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(|r| delivery(r, "")).transpose()?)
    }

    /// How the jobs of sweep `id` stand.
    pub async fn sweep_outcome(&self, id: i64) -> Result<NotifiedSweep, EngineError> {
        let rows = sqlx::query(
            "SELECT project, status, COUNT(*) AS n FROM jobs WHERE sweep_id = ? GROUP BY project, status",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut sweep = NotifiedSweep {
            id,
            ..NotifiedSweep::default()
        };
        for row in &rows {
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            sweep.project = row.try_get("project")?;
            sweep.jobs += n;
            match row.try_get::<String, _>("status")?.as_str() {
                "succeeded" => sweep.succeeded += n,
                "failed" => sweep.failed += n,
                "cancelled" => sweep.cancelled += n,
                "lost" => sweep.lost += n,
                _ => {}
            }
        }
        Ok(sweep)
    }

    /// Jobs per status and priority (`/metrics`).
    pub async fn job_counts(&self) -> Result<Vec<(JobStatus, Priority, u64)>, EngineError> {
        let rows = sqlx::query(
            "SELECT status, priority, COUNT(*) AS n FROM jobs GROUP BY status, priority",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut counts = Vec::new();
        for row in &rows {
            let status: String = row.try_get("status")?;
            let rank: i64 = row.try_get("priority")?;
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            let Ok(status) = status.parse::<JobStatus>() else {
                continue;
            };
            let Some(priority) = Priority::ALL
                .into_iter()
                .find(|p| i64::from(p.rank()) == rank)
            else {
                continue;
            };
            counts.push((status, priority, n));
        }
        Ok(counts)
    }
}
