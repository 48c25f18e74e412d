//! The run-file requests of the agent protocol: what the server holds of an
//! attempt's run dir, offset-checked appends and resumable whole-file
//! uploads. Answers are classified like every job request (`api.rs`).

use std::time::Duration;

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::Url;
use serde::Serialize;
use trainyard_core::protocol::paths::{self, AttemptAction};
use trainyard_core::sync::{AppendAck, AppendQuery, SyncStatus, UploadAck, UploadQuery};
use trainyard_core::work::AttemptRef;

use crate::http::response::Verdict;
use crate::jobs::api::{parse_json, Reply, WorkClient, MAX_ACK_BYTES};

/// A chunk is up to a few MiB; allow a slow link to carry it.
const FILE_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Most bytes read of a status answer: it lists every file of the run.
const MAX_STATUS_BYTES: usize = 16 * 1024 * 1024;

/// A request body, gzip-compressed or not; hashes and offsets always
/// describe the uncompressed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChunkBody {
    pub bytes: Vec<u8>,
    pub gzip: bool,
}

impl WorkClient {
    /// `GET …/files`: every file and unfinished upload the server holds.
    pub async fn file_status(&self, attempt: AttemptRef) -> Reply<SyncStatus> {
        let builder = match self.url(&paths::attempt(attempt, AttemptAction::Files)) {
            Ok(url) => self.http().get(url).timeout(FILE_REQUEST_TIMEOUT),
            Err(reply) => return reply,
        };
        self.send(builder, MAX_STATUS_BYTES, parse_json).await
    }

    /// `PUT …/files/{path}?offset=N&xxh3=H`: bytes from `N` of an append file.
    pub async fn append_file(
        &self,
        attempt: AttemptRef,
        path: &str,
        query: &AppendQuery,
        body: ChunkBody,
    ) -> Reply<AppendAck> {
        self.put_chunk(attempt, AttemptAction::Files, path, query, body)
            .await
    }

    /// `PUT …/uploads/{path}?size=S&xxh3=H&offset=K&chunk_xxh3=h`: one chunk
    /// of a whole-file upload.
    pub async fn upload_chunk(
        &self,
        attempt: AttemptRef,
        path: &str,
        query: &UploadQuery,
        body: ChunkBody,
    ) -> Reply<UploadAck> {
        self.put_chunk(attempt, AttemptAction::Uploads, path, query, body)
            .await
    }

    async fn put_chunk<T: serde::de::DeserializeOwned>(
        &self,
        attempt: AttemptRef,
        area: AttemptAction,
        path: &str,
        query: &impl Serialize,
        body: ChunkBody,
    ) -> Reply<T> {
        let base = match self.url(&format!("{}/", paths::attempt(attempt, area))) {
            Ok(url) => url,
            Err(reply) => return reply,
        };
        let url = match with_file_path(base, path) {
            Ok(url) => url,
            Err(why) => return Reply::Failed(Verdict::Rejected(why)),
        };
        let mut builder = self
            .http()
            .put(url)
            .query(query)
            .header(CONTENT_TYPE, "application/octet-stream")
            .timeout(FILE_REQUEST_TIMEOUT);
        if body.gzip {
            builder = builder.header(CONTENT_ENCODING, "gzip");
        }
        self.send(builder.body(body.bytes), MAX_ACK_BYTES, parse_json)
            .await
    }
}

/// `base` (ending in `/`) with the run-file `path` appended, each
/// component percent-encoded on its own, so `%`, `?`, `#` or spaces in a
/// name stay part of it.
pub(crate) fn with_file_path(mut base: Url, path: &str) -> Result<Url, String> {
    let shown = base.to_string();
    base.path_segments_mut()
        .map_err(|()| format!("the server URL {shown} cannot take a file path"))?
        .pop_if_empty()
        .extend(path.split('/'));
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://lab.example/trainyard/api/v1/agents/jobs/7/attempts/2/files/")
            .expect("a valid base URL")
    }

    #[test]
    fn file_paths_are_encoded_a_component_at_a_time() {
        let url =
            with_file_path(base(), "ckpt/epoch 3/100%?#.pt").expect("an http base takes paths");
        assert_eq!(
            url.as_str(),
            "https://lab.example/trainyard/api/v1/agents/jobs/7/attempts/2/files/ckpt/epoch%203/100%25%3F%23.pt"
        );
        let url = with_file_path(base(), "été.csv").expect("an http base takes paths");
        assert!(url.as_str().ends_with("/files/%C3%A9t%C3%A9.csv"), "{url}");
    }
}
