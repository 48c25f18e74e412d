//! `/experiments/*`: a Trainyard project is an MLflow experiment.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::MlflowError;
use super::request::{Fields, Item};
use super::wire;
use crate::state::AppState;

type Reply = Result<Json<Value>, MlflowError>;

/// `[{key, value}]` pairs of a request (tags, params).
pub fn pairs(fields: &Fields, name: &str) -> Result<Vec<(String, String)>, MlflowError> {
    let list = fields.objects(name)?;
    list.iter()
        .enumerate()
        .map(|(index, map)| {
            let item = Item {
                list: name,
                index,
                map,
            };
            Ok((item.str("key")?, item.str_or_empty("value")?))
        })
        .collect()
}

/// `GET /experiments/get-by-name?experiment_name=`
pub async fn get_by_name(State(state): State<AppState>, fields: Fields) -> Reply {
    let name = fields.str("experiment_name")?;
    let e = state
        .engine
        .experiment_by_name(&name)
        .await
        .map_err(|e| match e {
            trainyard_engine::EngineError::ExperimentNotFound(_) => {
                MlflowError::not_found(format!("Could not find experiment with name '{name}'"))
            }
            other => other.into(),
        })?;
    Ok(Json(json!({ "experiment": wire::experiment(&e) })))
}

/// `GET /experiments/get?experiment_id=`
pub async fn get(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.str("experiment_id")?;
    let e = state.engine.experiment(&id).await?;
    Ok(Json(json!({ "experiment": wire::experiment(&e) })))
}

/// `POST /experiments/create {name, tags?}`
pub async fn create(State(state): State<AppState>, fields: Fields) -> Reply {
    let name = fields.str("name")?;
    let tags = pairs(&fields, "tags")?;
    let id = state.engine.create_experiment(&name, &tags).await?;
    Ok(Json(json!({ "experiment_id": id.to_string() })))
}

/// `POST|GET /experiments/search {view_type, filter, max_results, page_token}`
pub async fn search(State(state): State<AppState>, fields: Fields) -> Reply {
    let view = fields
        .opt_str("view_type")?
        .unwrap_or_else(|| "ACTIVE_ONLY".into());
    let (active, deleted) = match view.as_str() {
        "ACTIVE_ONLY" | "1" => (true, false),
        "DELETED_ONLY" | "2" => (false, true),
        "ALL" | "3" => (true, true),
        other => return Err(MlflowError::invalid(format!("invalid view_type {other:?}"))),
    };
    let filter = fields.opt_str("filter")?.unwrap_or_default();
    let max = fields.opt_i64("max_results")?.unwrap_or(1000);
    if !(1..=50_000).contains(&max) {
        return Err(MlflowError::invalid(format!(
            "Invalid value {max} for parameter 'max_results': it must be between 1 and 50000"
        )));
    }
    let offset: usize = match fields.opt_str("page_token")?.filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse()
            .map_err(|_| MlflowError::invalid(format!("invalid page_token {t:?}")))?,
        None => 0,
    };
    let all = state
        .engine
        .search_experiments(active, deleted, &filter)
        .await?;
    let total = all.len();
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(max as usize)
        .map(wire::experiment)
        .collect();
    let end = offset + page.len();
    let mut out = json!({ "experiments": page });
    if end < total {
        out["next_page_token"] = json!(end.to_string());
    }
    Ok(Json(out))
}

/// `POST /experiments/update {experiment_id, new_name}`
pub async fn update(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.str("experiment_id")?;
    if let Some(name) = fields.opt_str("new_name")? {
        state.engine.rename_experiment(&id, &name).await?;
    }
    Ok(Json(json!({})))
}

/// `POST /experiments/delete {experiment_id}`
pub async fn delete(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.str("experiment_id")?;
    state.engine.set_experiment_deleted(&id, true).await?;
    Ok(Json(json!({})))
}

/// `POST /experiments/restore {experiment_id}`
pub async fn restore(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.str("experiment_id")?;
    state.engine.set_experiment_deleted(&id, false).await?;
    Ok(Json(json!({})))
}

/// `POST /experiments/set-experiment-tag {experiment_id, key, value}`
pub async fn set_tag(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.str("experiment_id")?;
    let key = fields.str("key")?;
    let value = fields.opt_str("value")?.unwrap_or_default();
    state
        .engine
        .set_experiment_tag(&id, &key, Some(&value))
        .await?;
    Ok(Json(json!({})))
}

/// `POST /experiments/delete-experiment-tag {experiment_id, key}`
pub async fn delete_tag(State(state): State<AppState>, fields: Fields) -> Reply {
    let id = fields.str("experiment_id")?;
    let key = fields.str("key")?;
    state.engine.set_experiment_tag(&id, &key, None).await?;
    Ok(Json(json!({})))
}
