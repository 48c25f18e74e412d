//! The component requests of the agent protocol: the sync plan for an
//! attempt, and the copies the plan asks for.

use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use trainyard_core::components::{CopyUploadQuery, SyncPlan, SyncRequest};
use trainyard_core::protocol::paths::{self, AttemptAction};
use trainyard_core::work::AttemptRef;

use crate::http::response::Verdict;
use crate::jobs::api::{parse_json, Reply, WorkClient, MAX_ACK_BYTES};
use crate::jobs::files::with_file_path;

/// A plan carries downloads inline (up to a few MiB of code).
const PLAN_TIMEOUT: Duration = Duration::from_secs(60);
/// Most bytes read of a plan answer.
const MAX_PLAN_BYTES: usize = 64 * 1024 * 1024;

/// The answer to a stored copy.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct CopyStored {
    #[allow(dead_code)]
    pub hash: String,
}

impl WorkClient {
    /// `POST …/components`: the plan for this attempt's code.
    pub async fn sync_components(
        &self,
        attempt: AttemptRef,
        request: &SyncRequest,
    ) -> Reply<SyncPlan> {
        let builder = match self.url(&paths::attempt(attempt, AttemptAction::Components)) {
            Ok(url) => self.http().post(url).json(request).timeout(PLAN_TIMEOUT),
            Err(reply) => return reply,
        };
        self.send(builder, MAX_PLAN_BYTES, parse_json).await
    }

    /// `PUT …/components/{path}?xxh3=H&code=B`: a copy the plan asked for.
    pub async fn store_component_copy(
        &self,
        attempt: AttemptRef,
        path: &str,
        query: &CopyUploadQuery,
        content: Vec<u8>,
    ) -> Reply<CopyStored> {
        let base = match self.url(&format!(
            "{}/",
            paths::attempt(attempt, AttemptAction::Components)
        )) {
            Ok(url) => url,
            Err(reply) => return reply,
        };
        let url = match with_file_path(base, path) {
            Ok(url) => url,
            Err(why) => return Reply::Failed(Verdict::Rejected(why)),
        };
        let builder = self
            .http()
            .put(url)
            .query(query)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .timeout(PLAN_TIMEOUT)
            .body(content);
        self.send(builder, MAX_ACK_BYTES, parse_json).await
    }
}
