//! `/registered-models/*`: an MLflow registered model is a Trainyard
//! model (its numbered dev versions, description, tags, aliases); the
//! rules are the engine's (`engine/src/models/mlflow.rs`).

use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{json, Value};
use trainyard_engine::{MlflowStage, RegisteredModel, RegisteredVersion};

use super::error::MlflowError;
use super::experiments::pairs;
use super::request::Fields;
use super::wire;
use crate::auth::Caller;
use crate::state::AppState;

type Reply = Result<Json<Value>, MlflowError>;

/// Who a version says registered it (as `/api/v1/models` writes it).
pub fn registered_by(caller: Caller) -> String {
    match caller {
        Caller::Open => "local".into(),
        other => other.label().into(),
    }
}

/// `version` as MLflow's positive integer (sent as a string).
pub fn version_number(fields: &Fields) -> Result<u64, MlflowError> {
    let text = fields.str("version")?;
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            MlflowError::invalid(format!(
                "Parameter 'version' must be a positive integer, got {:?}",
                text.chars().take(64).collect::<String>()
            ))
        })
}

/// A page of `all` from `page_token` (an offset), at most `max_results`
/// (default `default`, at most `limit`).
pub fn paged<T>(
    all: Vec<T>,
    fields: &Fields,
    default: i64,
    limit: i64,
) -> Result<(Vec<T>, Option<String>), MlflowError> {
    let max = fields.opt_i64("max_results")?.unwrap_or(default);
    if !(1..=limit).contains(&max) {
        return Err(MlflowError::invalid(format!(
            "Invalid value {max} for parameter 'max_results': it must be between 1 and {limit}"
        )));
    }
    let offset: usize = match fields.opt_str("page_token")?.filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse()
            .map_err(|_| MlflowError::invalid(format!("invalid page_token {t:?}")))?,
        None => 0,
    };
    let total = all.len();
    let page: Vec<T> = all.into_iter().skip(offset).take(max as usize).collect();
    let end = offset + page.len();
    Ok((page, (end < total).then(|| end.to_string())))
}

/// `order_by` clauses (`name ASC`, `last_updated_timestamp DESC`) as
/// `(column, ascending)`, each column one of `known`.
pub fn order_by(fields: &Fields, known: &[&str]) -> Result<Vec<(String, bool)>, MlflowError> {
    fields
        .strings("order_by")?
        .iter()
        .map(|clause| {
            let mut words = clause.split_whitespace();
            let column = words.next().unwrap_or("").trim_matches('`').to_string();
            let column = column
                .strip_prefix("attributes.")
                .unwrap_or(&column)
                .to_string();
            let ascending = match words.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("ASC") => true,
                Some("DESC") => false,
                Some(other) => {
                    return Err(MlflowError::invalid(format!(
                        "order_by {clause:?}: {other:?} is not ASC or DESC"
                    )))
                }
            };
            if !known.contains(&column.as_str()) {
                return Err(MlflowError::invalid(format!(
                    "order_by {clause:?}: ordering by {column:?} is not supported (use {})",
                    known.join(", ")
                )));
            }
            Ok((column, ascending))
        })
        .collect()
}

fn model_reply(m: &RegisteredModel) -> Reply {
    Ok(Json(
        json!({ "registered_model": wire::registered_model(m) }),
    ))
}

pub fn version_reply(v: &RegisteredVersion) -> Reply {
    Ok(Json(json!({ "model_version": wire::model_version(v) })))
}

/// `POST /registered-models/create {name, tags?, description?}`
pub async fn create(State(state): State<AppState>, fields: Fields) -> Reply {
    let name = fields.str("name")?;
    let description = fields.opt_str("description")?.unwrap_or_default();
    let tags = pairs(&fields, "tags")?;
    let m = state
        .engine
        .create_registered_model(&name, &description, &tags)
        .await?;
    model_reply(&m)
}

/// `GET /registered-models/get?name=`
pub async fn get(State(state): State<AppState>, fields: Fields) -> Reply {
    model_reply(&state.engine.registered_model(&fields.str("name")?).await?)
}

/// `GET|POST /registered-models/search {filter, max_results, order_by, page_token}`
pub async fn search(State(state): State<AppState>, fields: Fields) -> Reply {
    let filter = fields.opt_str("filter")?.unwrap_or_default();
    let order = order_by(
        &fields,
        &[
            "name",
            "creation_timestamp",
            "last_updated_timestamp",
            "timestamp",
        ],
    )?;
    let mut all = state.engine.search_registered_models(&filter).await?;
    for (column, ascending) in order.iter().rev() {
        all.sort_by(|a, b| {
            let o = match column.as_str() {
                "name" => a.name.cmp(&b.name),
                "creation_timestamp" => a.created_ms.cmp(&b.created_ms),
                _ => a.updated_ms.cmp(&b.updated_ms),
            };
            if *ascending {
                o
            } else {
                o.reverse()
            }
        });
    }
    let (page, token) = paged(all, &fields, 100, 1000)?;
    let mut out = json!({
        "registered_models": page.iter().map(wire::registered_model).collect::<Vec<_>>(),
    });
    if let Some(token) = token {
        out["next_page_token"] = json!(token);
    }
    Ok(Json(out))
}

/// `POST|GET /registered-models/get-latest-versions {name, stages?}`
pub async fn latest_versions(State(state): State<AppState>, fields: Fields) -> Reply {
    let m = state.engine.registered_model(&fields.str("name")?).await?;
    let stages = fields
        .strings("stages")?
        .iter()
        .map(|s| {
            MlflowStage::parse(s).ok_or_else(|| {
                MlflowError::invalid(format!(
                    "Invalid Model Version stage: {s:?}; stages are None, Staging, Production, Archived"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let versions: Vec<Value> = m
        .latest_versions(&stages)
        .iter()
        .map(wire::model_version)
        .collect();
    Ok(Json(json!({ "model_versions": versions })))
}

/// `PATCH /registered-models/update {name, description}`
pub async fn update(State(state): State<AppState>, fields: Fields) -> Reply {
    let name = fields.str("name")?;
    let m = match fields.opt_str("description")? {
        Some(d) => state.engine.describe_registered_model(&name, &d).await?,
        None => state.engine.registered_model(&name).await?,
    };
    model_reply(&m)
}

/// `DELETE /registered-models/delete {name}`: only a model without
/// versions (versions are never deleted).
pub async fn delete(State(state): State<AppState>, fields: Fields) -> Reply {
    state
        .engine
        .delete_registered_model(&fields.str("name")?)
        .await?;
    Ok(Json(json!({})))
}

/// `POST /registered-models/rename`: refused, model names are never
/// reused nor changed (they are the registry's directories).
pub async fn rename() -> MlflowError {
    MlflowError::not_implemented(
        "renaming a registered model is not supported: Trainyard model names never change (register under the new name instead)",
    )
}

/// `POST /registered-models/set-tag {name, key, value}`
pub async fn set_tag(State(state): State<AppState>, fields: Fields) -> Reply {
    let value = fields.opt_str("value")?.unwrap_or_default();
    state
        .engine
        .tag_registered_model(&fields.str("name")?, &fields.str("key")?, Some(&value))
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /registered-models/delete-tag {name, key}`
pub async fn delete_tag(State(state): State<AppState>, fields: Fields) -> Reply {
    state
        .engine
        .tag_registered_model(&fields.str("name")?, &fields.str("key")?, None)
        .await?;
    Ok(Json(json!({})))
}

/// `POST /registered-models/alias {name, alias, version}`
pub async fn set_alias(State(state): State<AppState>, fields: Fields) -> Reply {
    let number = version_number(&fields)?;
    state
        .engine
        .set_registered_alias(&fields.str("name")?, &fields.str("alias")?, number)
        .await?;
    Ok(Json(json!({})))
}

/// `GET /registered-models/alias?name=&alias=`
pub async fn get_alias(State(state): State<AppState>, fields: Fields) -> Reply {
    let v = state
        .engine
        .registered_version_by_alias(&fields.str("name")?, &fields.str("alias")?)
        .await?;
    version_reply(&v)
}

/// `DELETE /registered-models/alias {name, alias}` (a JSON body)
pub async fn delete_alias(State(state): State<AppState>, fields: Fields) -> Reply {
    state
        .engine
        .delete_registered_alias(&fields.str("name")?, &fields.str("alias")?)
        .await?;
    Ok(Json(json!({})))
}

/// `POST /model-versions/transition-stage {name, version, stage, archive_existing_versions}`
pub async fn transition(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    fields: Fields,
) -> Reply {
    let number = version_number(&fields)?;
    let stage_text = fields.str("stage")?;
    let stage = MlflowStage::parse(&stage_text).ok_or_else(|| {
        MlflowError::invalid(format!(
            "Invalid Model Version stage: {stage_text:?}; stages are None, Staging, Production, Archived"
        ))
    })?;
    let archive = fields
        .opt_bool("archive_existing_versions")?
        .unwrap_or(false);
    let v = state
        .engine
        .transition_registered_version(
            &fields.str("name")?,
            number,
            stage,
            archive,
            &registered_by(caller),
        )
        .await?;
    version_reply(&v)
}
