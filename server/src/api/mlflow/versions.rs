//! `/model-versions/*`: MLflow's version N of a model is its dev version
//! `v000N`. A version is registered from a run's artifacts (`runs:/<run>/<dir>`
//! or the `mlflow-artifacts:/<exp>/<run>/artifacts/<dir>` location the
//! client resolves it to); its files are then served read-only at
//! `mlflow-artifacts:/registry/<model>/dev/<version>`.

use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{json, Value};
use trainyard_engine::{EngineError, NewMlflowVersion, ARTIFACTS_DIR};

use super::artifacts::{target, Target};
use super::error::MlflowError;
use super::experiments::pairs;
use super::registry::{order_by, paged, registered_by, version_number, version_reply};
use super::request::{parse_run_id, Fields};
use super::wire;
use crate::auth::Caller;
use crate::state::AppState;

type Reply = Result<Json<Value>, MlflowError>;

/// The run and artifact path a version's `source` names.
fn parse_source(source: &str) -> Result<(i64, String), MlflowError> {
    let shown: String = source.chars().take(200).collect();
    let bad = |why: &str| MlflowError::invalid(format!("source {shown:?}: {why}"));
    if let Some(rest) = source.strip_prefix("runs:/") {
        let rest = rest.trim_start_matches('/');
        let (run, path) = rest.split_once('/').unwrap_or((rest, ""));
        return Ok((parse_run_id(run)?, path.trim_matches('/').to_string()));
    }
    if let Some(rest) = source.strip_prefix("mlflow-artifacts:") {
        // `mlflow-artifacts://host:port/<path>` names a server; the path is ours.
        let path = match rest.strip_prefix("//") {
            Some(with_host) => with_host.split_once('/').map(|(_, p)| p).unwrap_or(""),
            None => rest,
        };
        return match target(path)? {
            Target::Run { run, path } => Ok((run, path)),
            Target::Version { .. } => Err(bad(
                "a model version's files; register from the run (runs:/<run_id>/<path>)",
            )),
        };
    }
    if source.starts_with("models:/") {
        return Err(bad(
            "logged models (models:/<model_id>) are not stored by this server; log the model's files with log_artifacts(dir, \"model\") and register runs:/<run_id>/model",
        ));
    }
    Err(bad(
        "expected runs:/<run_id>/<path> or mlflow-artifacts:/<experiment>/<run_id>/artifacts/<path>",
    ))
}

/// `POST /model-versions/create {name, source, run_id?, tags?, description?}`
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    fields: Fields,
) -> Reply {
    let name = fields.str("name")?;
    let source = fields.str("source")?;
    let (run, path) = parse_source(&source)?;
    if let Some(given) = fields.opt_str("run_id")?.filter(|r| !r.is_empty()) {
        if parse_run_id(&given).ok() != Some(run) {
            return Err(MlflowError::invalid(format!(
                "run_id {:?} is not the run of source {:?} ({run})",
                given.chars().take(64).collect::<String>(),
                source.chars().take(200).collect::<String>()
            )));
        }
    }
    let dir = if path.is_empty() {
        ARTIFACTS_DIR.to_string()
    } else {
        format!("{ARTIFACTS_DIR}/{path}")
    };
    let req = NewMlflowVersion {
        job_id: run,
        dir,
        source: source.clone(),
        description: fields.opt_str("description")?.unwrap_or_default(),
        tags: pairs(&fields, "tags")?,
    };
    let v = state
        .engine
        .register_mlflow_version(&name, &req, &registered_by(caller))
        .await
        .map_err(|e| match e {
            EngineError::JobNotFound(id) => MlflowError::not_found(format!(
                "source {:?}: Run '{id}' not found",
                source.chars().take(200).collect::<String>()
            )),
            other => other.into(),
        })?;
    version_reply(&v)
}

/// `GET /model-versions/get?name=&version=`
pub async fn get(State(state): State<AppState>, fields: Fields) -> Reply {
    let number = version_number(&fields)?;
    let v = state
        .engine
        .registered_version(&fields.str("name")?, number)
        .await?;
    version_reply(&v)
}

/// `GET /model-versions/get-download-uri?name=&version=`: where the
/// artifact proxy serves the version's files.
pub async fn download_uri(State(state): State<AppState>, fields: Fields) -> Reply {
    let number = version_number(&fields)?;
    let v = state
        .engine
        .registered_version(&fields.str("name")?, number)
        .await?;
    Ok(Json(
        json!({ "artifact_uri": wire::version_location(&v.model, &v.version) }),
    ))
}

/// `GET|POST /model-versions/search {filter, max_results, order_by, page_token}`
pub async fn search(State(state): State<AppState>, fields: Fields) -> Reply {
    let filter = fields.opt_str("filter")?.unwrap_or_default();
    let order = order_by(
        &fields,
        &[
            "name",
            "version_number",
            "creation_timestamp",
            "last_updated_timestamp",
            "timestamp",
        ],
    )?;
    let mut all = state.engine.search_registered_versions(&filter).await?;
    for (column, ascending) in order.iter().rev() {
        all.sort_by(|a, b| {
            let o = match column.as_str() {
                "name" => a.model.cmp(&b.model),
                "version_number" => a.number.cmp(&b.number),
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
    let (page, token) = paged(all, &fields, 10_000, 200_000)?;
    let mut out = json!({
        "model_versions": page.iter().map(wire::model_version).collect::<Vec<_>>(),
    });
    if let Some(token) = token {
        out["next_page_token"] = json!(token);
    }
    Ok(Json(out))
}

/// `PATCH /model-versions/update {name, version, description}`
pub async fn update(State(state): State<AppState>, fields: Fields) -> Reply {
    let number = version_number(&fields)?;
    let name = fields.str("name")?;
    let v = match fields.opt_str("description")? {
        Some(d) => {
            state
                .engine
                .describe_registered_version(&name, number, &d)
                .await?
        }
        None => state.engine.registered_version(&name, number).await?,
    };
    version_reply(&v)
}

/// `POST /model-versions/set-tag {name, version, key, value}`
pub async fn set_tag(State(state): State<AppState>, fields: Fields) -> Reply {
    let number = version_number(&fields)?;
    let value = fields.opt_str("value")?.unwrap_or_default();
    state
        .engine
        .tag_registered_version(
            &fields.str("name")?,
            number,
            &fields.str("key")?,
            Some(&value),
        )
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /model-versions/delete-tag {name, version, key}`
pub async fn delete_tag(State(state): State<AppState>, fields: Fields) -> Reply {
    let number = version_number(&fields)?;
    state
        .engine
        .tag_registered_version(&fields.str("name")?, number, &fields.str("key")?, None)
        .await?;
    Ok(Json(json!({})))
}

/// `DELETE /model-versions/delete`: refused, versions are never deleted
/// (that is what keeps a version's name from ever meaning other files).
pub async fn delete() -> MlflowError {
    MlflowError::invalid(
        "model versions are never deleted in Trainyard (a version name never comes to mean other files); archive it with transition-stage instead",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_a_run_and_its_artifact_path() {
        assert_eq!(
            parse_source("runs:/42/model").unwrap(),
            (42, "model".to_string())
        );
        assert_eq!(parse_source("runs:/42").unwrap(), (42, String::new()));
        assert_eq!(
            parse_source("mlflow-artifacts:/3/42/artifacts/model/sub").unwrap(),
            (42, "model/sub".to_string())
        );
        assert_eq!(
            parse_source("mlflow-artifacts://h:5000/3/42/artifacts/model").unwrap(),
            (42, "model".to_string())
        );
        for bad in [
            "s3://bucket/model",
            "models:/m-abc",
            "mlflow-artifacts:/registry/m/dev/v0001",
            "runs:/abc/model",
        ] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
    }
}
