//! `POST /api/queue/add`: the CVLab-Kit submission call, so a lab's existing
//! scripts keep working. `{ "config": "<yaml>", "priority": "high", "device": "any" }`.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use trainyard_core::protocol::codes;
use trainyard_core::{Priority, SubmitOptions};

use super::error::ApiError;
use super::extract::ApiJson;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct QueueAdd {
    /// The YAML text (CVLab-Kit's `config`; `config_yaml` is accepted too).
    #[serde(alias = "config_yaml")]
    config: String,
    #[serde(default)]
    priority: Option<serde_json::Value>,
    /// `any` (default), `cpu`, or a host id to pin the job to.
    #[serde(default)]
    device: Option<String>,
}

pub async fn queue_add(
    State(state): State<AppState>,
    ApiJson(add): ApiJson<QueueAdd>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut options = SubmitOptions {
        priority: priority(add.priority.as_ref())?,
        ..Default::default()
    };
    match add.device.as_deref().map(str::trim) {
        None | Some("") | Some("any") => {}
        Some("cpu") => options.gpus = Some(0),
        Some(host) => options.host = Some(host.to_string()),
    }
    let result = state.engine.submit(&add.config, options).await?;
    let ids: Vec<i64> = result.jobs.iter().map(|j| j.id).collect();
    Ok(Json(serde_json::json!({
        "status": "queued",
        "sweep_id": result.sweep_id,
        "job_ids": ids,
        "jobs": result.jobs,
    })))
}

/// `"high" | "normal" | "low"`, or a number: above 0 high, 0 normal, below 0 low.
fn priority(value: Option<&serde_json::Value>) -> Result<Option<Priority>, ApiError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|e: String| ApiError::bad_request(codes::BAD_BODY, format!("priority: {e}"))),
        Some(serde_json::Value::Number(n)) => Ok(Some(match n.as_f64().unwrap_or(0.0) {
            x if x > 0.0 => Priority::High,
            x if x < 0.0 => Priority::Low,
            _ => Priority::Normal,
        })),
        Some(other) => Err(ApiError::bad_request(
            codes::BAD_BODY,
            format!("priority must be \"high\", \"normal\", \"low\" or a number, not {other}"),
        )),
    }
}
