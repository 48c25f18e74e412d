//! The files a later attempt resumes from: the synced run files of the
//! newest earlier attempt of the same job that has any. The agent of the
//! new attempt lists them and downloads each (docs/agent-protocol.md,
//! "Resume"), so a retry resumes on any host.

use std::path::PathBuf;

use trainyard_core::sync::FileEntry;
use trainyard_core::work::{AttemptRef, ResumeFiles};

use super::RunFileStore;
use crate::error::EngineError;
use crate::jobs::Scheduler;

/// Written by the agent from the assignment in every run dir, so the same
/// in every attempt: nothing to resume from.
const AGENT_WRITTEN: [&str; 1] = ["config.yaml"];

impl RunFileStore {
    /// The newest attempt before `at` with synced files of its own (not
    /// only the agent's `config.yaml`), and its files; `None` when no
    /// earlier attempt left any.
    pub async fn resume_source(
        &self,
        at: AttemptRef,
    ) -> Result<Option<(AttemptRef, Vec<FileEntry>)>, EngineError> {
        for attempt in (1..at.attempt).rev() {
            let earlier = AttemptRef {
                job_id: at.job_id,
                attempt,
            };
            if !tokio::fs::try_exists(self.attempt_dir(earlier))
                .await
                .unwrap_or(false)
            {
                continue;
            }
            let files = self.list(earlier).await?;
            if files
                .iter()
                .any(|f| !AGENT_WRITTEN.contains(&f.path.as_str()))
            {
                return Ok(Some((earlier, files)));
            }
        }
        Ok(None)
    }

    /// What attempt `at` (current, else refused) resumes from.
    pub async fn resume_files_for_agent(
        &self,
        at: AttemptRef,
        scheduler: &Scheduler,
    ) -> Result<ResumeFiles, EngineError> {
        scheduler.renew_current(at).await?;
        Ok(match self.resume_source(at).await? {
            Some((from, files)) => ResumeFiles {
                from_attempt: Some(from.attempt),
                files,
            },
            None => ResumeFiles::default(),
        })
    }

    /// Where one of the files attempt `at` resumes from is, and its size.
    pub async fn resume_file_for_agent(
        &self,
        at: AttemptRef,
        path: &str,
        scheduler: &Scheduler,
    ) -> Result<(PathBuf, u64), EngineError> {
        scheduler.renew_current(at).await?;
        let not_found = || EngineError::RunFileNotFound {
            job_id: at.job_id,
            path: path.chars().take(200).collect(),
        };
        let (from, _) = self.resume_source(at).await?.ok_or_else(not_found)?;
        let full = self.file_path(from, path)?;
        match tokio::fs::metadata(&full).await {
            Ok(meta) if meta.is_file() => Ok((full, meta.len())),
            _ => Err(not_found()),
        }
    }
}
