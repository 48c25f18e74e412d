//! MLflow's JSON entities built from the engine's tracking types: ids as
//! strings, times in ms, non-finite doubles as `"NaN"`/`"Infinity"`.

use serde_json::{json, Value};
use trainyard_engine::{Experiment, RegisteredModel, RegisteredVersion, TrackedRun};

/// A double as MLflow writes it.
pub fn double(v: f64) -> Value {
    if v.is_nan() {
        json!("NaN")
    } else if v == f64::INFINITY {
        json!("Infinity")
    } else if v == f64::NEG_INFINITY {
        json!("-Infinity")
    } else {
        json!(v)
    }
}

fn pairs(list: &[(String, String)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(key, value)| json!({ "key": key, "value": value }))
            .collect(),
    )
}

pub fn experiment_location(id: i64) -> String {
    format!("mlflow-artifacts:/{id}")
}

pub fn run_artifact_uri(experiment_id: i64, run_id: i64) -> String {
    format!("{}/{run_id}/artifacts", experiment_location(experiment_id))
}

pub fn experiment(e: &Experiment) -> Value {
    json!({
        "experiment_id": e.id.to_string(),
        "name": e.name,
        "artifact_location": experiment_location(e.id),
        "lifecycle_stage": e.lifecycle_stage,
        "creation_time": e.created_ms,
        "last_update_time": e.updated_ms,
        "tags": pairs(&e.tags),
    })
}

pub fn run_info(r: &TrackedRun) -> Value {
    let mut info = json!({
        "run_id": r.id.to_string(),
        "run_uuid": r.id.to_string(),
        "run_name": r.name,
        "experiment_id": r.experiment_id.to_string(),
        "user_id": r.user_id,
        "status": r.status.label(),
        "start_time": r.start_ms,
        "artifact_uri": run_artifact_uri(r.experiment_id, r.id),
        "lifecycle_stage": r.lifecycle_stage,
    });
    if let Some(end) = r.end_ms {
        info["end_time"] = json!(end);
    }
    info
}

pub fn run(r: &TrackedRun) -> Value {
    let metrics: Vec<Value> = r
        .metrics
        .iter()
        .map(|m| {
            json!({
                "key": m.key,
                "value": double(m.value),
                "timestamp": m.timestamp_ms,
                "step": m.step,
            })
        })
        .collect();
    json!({
        "info": run_info(r),
        "data": {
            "metrics": metrics,
            "params": pairs(&r.params),
            "tags": pairs(&r.tags),
        },
        "inputs": {},
    })
}

/// Where a model version's files are served (read-only) by the artifact
/// proxy: `get-download-uri` hands this out.
pub fn version_location(model: &str, version: &str) -> String {
    format!("mlflow-artifacts:/{REGISTRY_ROOT}/{model}/dev/{version}")
}

/// The first segment of artifact paths that name model versions (run
/// artifacts start with a numeric experiment id).
pub const REGISTRY_ROOT: &str = "registry";

pub fn model_version(v: &RegisteredVersion) -> Value {
    json!({
        "name": v.model,
        "version": v.number.to_string(),
        "creation_timestamp": v.created_ms,
        "last_updated_timestamp": v.updated_ms,
        "user_id": v.registered_by,
        "current_stage": v.stage.label(),
        "description": v.description,
        "source": v.source.clone().unwrap_or_else(|| version_location(&v.model, &v.version)),
        "run_id": v.run_id.map(|id| id.to_string()).unwrap_or_default(),
        "status": "READY",
        "run_link": "",
        "tags": pairs(&v.tags),
        "aliases": v.aliases,
    })
}

pub fn registered_model(m: &RegisteredModel) -> Value {
    let aliases: Vec<Value> = m
        .aliases
        .iter()
        .map(|(alias, n)| json!({ "alias": alias, "version": n.to_string() }))
        .collect();
    json!({
        "name": m.name,
        "creation_timestamp": m.created_ms,
        "last_updated_timestamp": m.updated_ms,
        "description": m.description,
        "latest_versions": m.latest_versions(&[]).iter().map(model_version).collect::<Vec<_>>(),
        "tags": pairs(&m.tags),
        "aliases": aliases,
    })
}
