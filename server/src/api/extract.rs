//! Typed extractors whose rejections are [`ApiError`]s, so a handler states
//! what it takes and every malformed request gets the API's JSON error with
//! a stable code, without a `map_err` in each handler.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use trainyard_core::protocol::codes;
use trainyard_core::work::AttemptRef;

use trainyard_engine::Actor;

use super::error::ApiError;
use crate::auth::Caller;

/// A JSON body; a malformed one is 400 `bad_body` saying where.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Json::<T>::from_request(req, state)
            .await
            .map(|Json(value)| ApiJson(value))
            .map_err(|e| ApiError::bad_request(codes::BAD_BODY, e.body_text()))
    }
}

/// A query string; a malformed one is 400 `bad_query` naming the field.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|e| ApiError::bad_request(codes::BAD_QUERY, e.body_text()))
    }
}

/// The raw body; one over the route's limit is 413 `bad_body`.
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(|e| {
                let message = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    "the request body is larger than this route accepts".to_string()
                } else {
                    format!("could not read the request body: {}", e.body_text())
                };
                ApiError::new(e.status(), codes::BAD_BODY, message)
            })
    }
}

/// Who makes the request and from where, for the components audit log.
pub struct ApiActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for ApiActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let who = parts
            .extensions
            .get::<Caller>()
            .map_or("unknown", |c| c.label())
            .to_string();
        let origin = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(
                || "unknown".to_string(),
                |ConnectInfo(addr)| addr.ip().to_string(),
            );
        Ok(ApiActor(Actor { who, origin }))
    }
}

/// Every path parameter of the route by name (`{category}`, `{hash}`, …).
pub struct PathParams(HashMap<String, String>);

impl PathParams {
    /// The parameter `name`; a route without it is a server bug.
    pub fn get(&self, name: &str) -> Result<&str, ApiError> {
        param(&self.0, name)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        params(parts, state).await.map(PathParams)
    }
}

/// The route's `{id}`: a job id (a run's id is its job's).
pub struct JobIdPath(pub i64);

/// The route's `{job}` and `{attempt}`.
pub struct AttemptPath(pub AttemptRef);

/// The rest of the path after a route's fixed part (`{*path}`, `{*key}`).
pub struct TailPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for JobIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = params(parts, state).await?;
        job_id(param(&params, "id")?).map(JobIdPath)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AttemptPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = params(parts, state).await?;
        let job_id = job_id(param(&params, "job")?)?;
        let raw = param(&params, "attempt")?;
        let attempt = raw.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ApiError::bad_request(
                codes::BAD_ATTEMPT,
                format!("attempt must be a positive integer, not {raw:?}"),
            )
        })?;
        Ok(AttemptPath(AttemptRef { job_id, attempt }))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for TailPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = params(parts, state).await?;
        ["path", "key"]
            .iter()
            .find_map(|name| params.get(*name))
            .map(|tail| TailPath(tail.clone()))
            .ok_or_else(|| missing("path"))
    }
}

async fn params<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<HashMap<String, String>, ApiError> {
    Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|Path(params)| params)
        .map_err(|e| ApiError::bad_request(codes::NOT_FOUND, e.body_text()))
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Result<&'a str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or_else(|| missing(name))
}

/// A route whose pattern lacks a segment its handler reads: a server bug.
fn missing(name: &str) -> ApiError {
    tracing::error!("route has no {{{name}}} segment");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        codes::INTERNAL,
        trainyard_engine::INTERNAL_MESSAGE,
    )
}

/// A job id from a URL segment.
pub fn job_id(segment: &str) -> Result<i64, ApiError> {
    segment
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::bad_request(
                codes::BAD_JOB_ID,
                format!("job id must be a positive integer, not {segment:?}"),
            )
        })
}
