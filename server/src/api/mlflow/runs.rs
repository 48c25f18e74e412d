//! `/runs/*` and `/metrics/get-history`: runs are jobs (the run id is the
//! job id), params the job's parameters, metrics its series.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};
use trainyard_engine::{
    LoggedMetric, NewRun, RunSearch, RunUpdate, TrackedBatch, TrackedStatus, ViewType,
};

use super::error::MlflowError;
use super::experiments::pairs;
use super::request::{Fields, Item};
use super::wire;
use crate::state::AppState;

type Reply = Result<Json<Value>, MlflowError>;

fn empty() -> Reply {
    Ok(Json(json!({})))
}

/// `POST /runs/create {experiment_id, user_id, run_name, start_time, tags}`
pub async fn create(State(state): State<AppState>, fields: Fields) -> Reply {
    let experiment = fields
        .opt_str("experiment_id")?
        .unwrap_or_else(|| "0".into());
    let experiment_id = state.engine.experiment(&experiment).await?.id;
    let run = state
        .engine
        .create_tracked_run(NewRun {
            experiment_id,
            name: fields.opt_str("run_name")?,
            user_id: fields.opt_str("user_id")?.unwrap_or_default(),
            start_ms: fields.opt_i64("start_time")?.unwrap_or(0),
            tags: pairs(&fields, "tags")?,
        })
        .await?;
    Ok(Json(json!({ "run": wire::run(&run) })))
}

/// `POST /runs/update {run_id, status, end_time, run_name}`
pub async fn update(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.run_id()?;
    let status = match fields.opt_str("status")? {
        Some(s) => Some(
            TrackedStatus::parse(&s)
                .ok_or_else(|| MlflowError::invalid(format!("invalid run status {s:?}")))?,
        ),
        None => None,
    };
    state
        .engine
        .update_tracked_run(
            id,
            RunUpdate {
                status,
                end_ms: fields.opt_i64("end_time")?,
                name: fields.opt_str("run_name")?,
            },
        )
        .await?;
    let run = state.engine.tracked_run(id).await?;
    Ok(Json(json!({ "run_info": wire::run_info(&run) })))
}

/// `GET /runs/get?run_id=`
pub async fn get(State(state): State<AppState>, fields: Fields) -> Reply {
    let run = state.engine.tracked_run(fields.run_id()?).await?;
    Ok(Json(json!({ "run": wire::run(&run) })))
}

fn metric(item: &Item<'_>) -> Result<LoggedMetric, MlflowError> {
    Ok(LoggedMetric {
        key: item.str("key")?,
        value: item.double("value")?,
        timestamp_ms: item.i64("timestamp")?.ok_or_else(|| {
            MlflowError::missing(&format!("{}[{}].timestamp", item.list, item.index))
        })?,
        step: item.i64("step")?.unwrap_or(0),
    })
}

/// `POST /runs/log-metric {run_id, key, value, timestamp, step}`
pub async fn log_metric(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.run_id()?;
    let m = LoggedMetric {
        key: fields.str("key")?,
        value: match fields.0.get("value") {
            Some(v) if !v.is_null() => super::request::double(v).ok_or_else(|| {
                MlflowError::invalid(format!("'value' must be a number, got {v}"))
            })?,
            _ => return Err(MlflowError::missing("value")),
        },
        timestamp_ms: fields
            .opt_i64("timestamp")?
            .ok_or_else(|| MlflowError::missing("timestamp"))?,
        step: fields.opt_i64("step")?.unwrap_or(0),
    };
    let batch = TrackedBatch {
        metrics: vec![m],
        ..TrackedBatch::default()
    };
    state.engine.log_tracked_batch(id, batch).await?;
    empty()
}

/// `POST /runs/log-parameter {run_id, key, value}`
pub async fn log_param(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.run_id()?;
    let batch = TrackedBatch {
        params: vec![(
            fields.str("key")?,
            fields.opt_str("value")?.unwrap_or_default(),
        )],
        ..TrackedBatch::default()
    };
    state.engine.log_tracked_batch(id, batch).await?;
    empty()
}

/// `POST /runs/set-tag {run_id, key, value}`
pub async fn set_tag(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.run_id()?;
    let batch = TrackedBatch {
        tags: vec![(
            fields.str("key")?,
            fields.opt_str("value")?.unwrap_or_default(),
        )],
        ..TrackedBatch::default()
    };
    state.engine.log_tracked_batch(id, batch).await?;
    empty()
}

/// `POST /runs/delete-tag {run_id, key}`
pub async fn delete_tag(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.run_id()?;
    state.engine.delete_run_tag(id, &fields.str("key")?).await?;
    empty()
}

/// `POST /runs/log-batch {run_id, metrics, params, tags}`
pub async fn log_batch(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.run_id()?;
    let metrics = fields
        .objects("metrics")?
        .iter()
        .enumerate()
        .map(|(index, map)| {
            metric(&Item {
                list: "metrics",
                index,
                map,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch = TrackedBatch {
        metrics,
        params: pairs(&fields, "params")?,
        tags: pairs(&fields, "tags")?,
    };
    state.engine.log_tracked_batch(id, batch).await?;
    empty()
}

/// `POST /runs/delete {run_id}`: archives the run (its files stay until a
/// `trainyard runs purge`).
pub async fn delete(State(state): State<AppState>, fields: Fields) -> Reply {
    state.engine.archive_run(fields.run_id()?).await?;
    empty()
}

/// `POST /runs/restore {run_id}`
pub async fn restore(State(state): State<AppState>, fields: Fields) -> Reply {
    state.engine.restore_run(fields.run_id()?).await?;
    empty()
}

/// `POST /runs/log-inputs`: datasets are accepted for the run that exists,
/// and not kept (Trainyard has no dataset registry yet).
pub async fn log_inputs(State(state): State<AppState>, fields: Fields) -> Reply {
    state.engine.tracked_run(fields.run_id()?).await?;
    empty()
}

/// `POST /runs/search {experiment_ids, filter, run_view_type, max_results, order_by, page_token}`
pub async fn search(State(state): State<AppState>, fields: Fields) -> Reply {
    let mut experiment_ids = Vec::new();
    for id in fields.strings("experiment_ids")? {
        experiment_ids.push(state.engine.experiment(&id).await?.id);
    }
    let view = match fields.opt_str("run_view_type")? {
        None => ViewType::ActiveOnly,
        Some(v) => ViewType::parse(&v)
            .ok_or_else(|| MlflowError::invalid(format!("invalid run_view_type {v:?}")))?,
    };
    let max_results = fields.opt_i64("max_results")?.unwrap_or(1000);
    let q = RunSearch {
        experiment_ids,
        filter: fields.opt_str("filter")?.unwrap_or_default(),
        view,
        max_results: u32::try_from(max_results).unwrap_or(u32::MAX),
        order_by: fields.strings("order_by")?,
        page_token: fields.opt_str("page_token")?,
    };
    let page = state.engine.search_tracked_runs(&q).await?;
    let mut out = json!({ "runs": page.runs.iter().map(wire::run).collect::<Vec<_>>() });
    if let Some(token) = page.next_page_token {
        out["next_page_token"] = json!(token);
    }
    Ok(Json(out))
}

/// `GET /metrics/get-history?run_id=&metric_key=&max_results=&page_token=`
pub async fn get_history(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.run_id()?;
    let key = fields.str("metric_key")?;
    let max = match fields.opt_i64("max_results")? {
        Some(n) if n > 0 => Some(n as u64),
        Some(n) => {
            return Err(MlflowError::invalid(format!(
                "max_results must be positive, got {n}"
            )))
        }
        None => None,
    };
    let page = state
        .engine
        .metric_history(id, &key, max, &fields.opt_str("page_token")?)
        .await?;
    let metrics: Vec<Value> = page
        .points
        .iter()
        .map(|p| {
            json!({
                "key": key,
                "value": wire::double(p.value),
                "timestamp": p.timestamp_ms,
                "step": p.step,
            })
        })
        .collect();
    let mut out = json!({ "metrics": metrics });
    if let Some(token) = page.next_page_token {
        out["next_page_token"] = json!(token);
    }
    Ok(Json(out))
}
