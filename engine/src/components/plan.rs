//! The plan that brings a worker's copies in line before an attempt starts:
//! one request from the agent (what the job references, what the host has),
//! one answer (every step, downloads inline). The attempt's manifest (what
//! it will run with) is stored here, before the process starts; content the
//! server lacks arrives right after (`store_copy`), and the agent starts
//! the process only once it has.
//!
//! A re-run pinned to another job's code (`code_from`) follows that job's
//! manifest exactly, whatever the strategy.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use trainyard_core::components::{
    decide, ConflictKind, ConflictNotice, CopyUploadQuery, LocalCopy, ManifestEntry, StorePath,
    SyncAction, SyncPlan, SyncRequest, SyncStep, SyncStrategy,
};
use trainyard_core::config::parse_experiment;
use trainyard_core::sync::validate_run_path;
use trainyard_core::work::AttemptRef;

use super::{checked_content, Actor, Components};
use crate::error::EngineError;
use crate::events::BusEvent;
use crate::store::{Audit, JobRow, PathsKnown};

/// Most files one sync may name.
pub const MAX_SYNC_FILES: usize = 2_000;

impl Components {
    /// The plan for attempt `at` (a current attempt: the caller checked),
    /// recorded as its manifest.
    pub async fn plan(&self, at: AttemptRef, req: SyncRequest) -> Result<SyncPlan, EngineError> {
        let job = self.job(at.job_id).await?;
        if req.components.len() + req.code.len() > MAX_SYNC_FILES {
            return Err(EngineError::BadOption(format!(
                "components: a sync may name at most {MAX_SYNC_FILES} files"
            )));
        }
        let host = job.view.host_id.clone().unwrap_or_default();
        let strategy = parse_experiment(&job.config_yaml)
            .ok()
            .and_then(|e| e.scheduling.sync)
            .unwrap_or(req.strategy);
        let pinned = match job.view.code_from {
            Some(source) => Some(self.pinned_manifest(source).await?),
            None => None,
        };
        let mut steps = Vec::new();
        let mut applied = Vec::new();

        // Components: what the config references, plus a pinned manifest's.
        let mut wanted: BTreeMap<String, Option<String>> = BTreeMap::new();
        for copy in &req.components {
            let path =
                copy.path
                    .parse::<StorePath>()
                    .map_err(|e| EngineError::BadComponentPath {
                        path: copy.path.chars().take(200).collect(),
                        message: e.to_string(),
                    })?;
            wanted.insert(path.to_string(), checked_local(copy)?);
        }
        if let Some(pin) = &pinned {
            for entry in pin.iter().filter(|e| !e.code) {
                wanted.entry(entry.path.clone()).or_insert(None);
            }
        }
        let paths: Vec<String> = wanted.keys().cloned().collect();
        let known = self.store.paths_known(&paths).await?;
        let notices = self.store.notices_of_host(&host, &paths).await?;
        for (path, local) in &wanted {
            let step = match &pinned {
                Some(pin) => pinned_step(path, local.as_deref(), pin, false),
                None => {
                    let (step, notice) = self
                        .free_step(
                            Some((at, &host)),
                            path,
                            local.as_deref(),
                            strategy,
                            &known,
                            &notices,
                        )
                        .await?;
                    applied.extend(notice);
                    step
                }
            };
            steps.push(step);
        }

        // `code:` files: kept as they are (and stored), unless pinned.
        let mut code: BTreeMap<String, Option<String>> = BTreeMap::new();
        for copy in &req.code {
            validate_run_path(&copy.path).map_err(|e| EngineError::BadRunPath {
                path: copy.path.chars().take(200).collect(),
                message: e.to_string(),
            })?;
            code.insert(copy.path.clone(), checked_local(copy)?);
        }
        if let Some(pin) = &pinned {
            for entry in pin.iter().filter(|e| e.code) {
                code.entry(entry.path.clone()).or_insert(None);
            }
        }
        for (path, local) in &code {
            steps.push(match &pinned {
                Some(pin) => pinned_step(path, local.as_deref(), pin, true),
                None => SyncStep {
                    path: path.clone(),
                    code: true,
                    conflict: None,
                    action: if local.is_some() {
                        SyncAction::Keep
                    } else {
                        SyncAction::Nothing
                    },
                    hash: local.clone(),
                    content: None,
                    upload: false,
                    notice: None,
                },
            });
        }

        self.fill_transfers(&mut steps).await?;
        let entries: Vec<ManifestEntry> = steps
            .iter()
            .filter_map(|s| {
                let hash = s.hash.clone()?;
                Some(ManifestEntry {
                    was_active: !s.code && known.active.get(&s.path) == Some(&hash),
                    path: s.path.clone(),
                    hash,
                    code: s.code,
                    size: 0,
                })
            })
            .collect();
        let activate: Vec<&str> = steps
            .iter()
            .filter(|s| s.action == SyncAction::UploadActive)
            .map(|s| s.path.as_str())
            .collect();
        let now = self.clock.now_ms();
        self.store
            .save_job_manifest(at.job_id, at.attempt, strategy, &entries, &activate, now)
            .await?;
        if !applied.is_empty() {
            self.store.mark_notices_applied(&applied, now).await?;
        }
        Ok(SyncPlan {
            strategy,
            pinned_to: job.view.code_from,
            steps,
        })
    }

    /// One component under a strategy; the notice id whose answer it
    /// carries out, if any. Without an attempt (a shell's sync) nobody is
    /// notified: the shell asks its user.
    #[allow(clippy::too_many_arguments)]
    async fn free_step(
        &self,
        attempt: Option<(AttemptRef, &str)>,
        path: &str,
        local: Option<&str>,
        strategy: SyncStrategy,
        known: &PathsKnown,
        notices: &HashMap<(String, String), ConflictNotice>,
    ) -> Result<(SyncStep, Option<i64>), EngineError> {
        let active = known.active.get(path).map(String::as_str);
        let store_knows_local =
            local.is_some_and(|l| known.versions.contains(&(path.to_string(), l.to_string())));
        let conflict = ConflictKind::of(local, active, store_knows_local);
        let mut action = decide(strategy, conflict);
        let mut notice = None;
        let mut applied = None;
        if let (SyncAction::Ask, Some((at, host))) = (action, attempt) {
            let local = local.unwrap_or_default();
            match notices.get(&(path.to_string(), local.to_string())) {
                Some(answered) if answered.choice.is_some() => {
                    if let Some(choice) = answered.choice {
                        action = choice.action();
                        applied = answered.applied_ms.is_none().then_some(answered.id);
                    }
                }
                _ => {
                    let id = self
                        .store
                        .open_notice(
                            host,
                            Some(at.job_id),
                            path,
                            ConflictKind::LocalNewer,
                            local,
                            active,
                            self.clock.now_ms(),
                        )
                        .await?;
                    notice = Some(id);
                    if !notices.contains_key(&(path.to_string(), local.to_string())) {
                        if let Some(opened) = self.store.notice(id).await? {
                            self.bus.publish(BusEvent::Notice(Arc::new(opened)));
                        }
                    }
                }
            }
        }
        let hash = match action {
            SyncAction::Download => active.map(str::to_string),
            SyncAction::Nothing => None,
            _ => local.map(str::to_string),
        };
        Ok((
            SyncStep {
                path: path.to_string(),
                code: false,
                conflict,
                action,
                hash,
                content: None,
                upload: false,
                notice,
            },
            applied,
        ))
    }

    /// Downloads get their content; every local copy that is about to run
    /// or be replaced, and that the server has never seen, is asked for.
    async fn fill_transfers(&self, steps: &mut [SyncStep]) -> Result<(), EngineError> {
        let mut hashes: Vec<String> = steps.iter().filter_map(|s| s.hash.clone()).collect();
        hashes.sort();
        hashes.dedup();
        let stored = self.store.known_blobs(&hashes).await?;
        for step in steps.iter_mut() {
            match step.action {
                SyncAction::Download => {
                    let Some(hash) = &step.hash else { continue };
                    step.content = Some(
                        self.store
                            .blob(hash)
                            .await?
                            .ok_or_else(|| EngineError::ComponentNotFound(hash.clone()))?,
                    );
                }
                SyncAction::Keep
                | SyncAction::KeepAndStore
                | SyncAction::Ask
                | SyncAction::UploadActive => {
                    step.upload = step.hash.as_ref().is_some_and(|h| !stored.contains(h))
                        || step.action == SyncAction::UploadActive;
                }
                SyncAction::Nothing => {}
            }
        }
        Ok(())
    }

    /// A shell's sync (`trainyard components sync`): the plan for what a
    /// working directory has, with nothing recorded and nobody notified.
    pub async fn preview(&self, req: SyncRequest) -> Result<SyncPlan, EngineError> {
        if req.components.len() > MAX_SYNC_FILES {
            return Err(EngineError::BadOption(format!(
                "components: a sync may name at most {MAX_SYNC_FILES} files"
            )));
        }
        let mut wanted: BTreeMap<String, Option<String>> = BTreeMap::new();
        for copy in &req.components {
            let path = super::store_path(&copy.path)?;
            wanted.insert(path.to_string(), checked_local(copy)?);
        }
        let paths: Vec<String> = wanted.keys().cloned().collect();
        let known = self.store.paths_known(&paths).await?;
        let mut steps = Vec::with_capacity(wanted.len());
        for (path, local) in &wanted {
            let (step, _) = self
                .free_step(
                    None,
                    path,
                    local.as_deref(),
                    req.strategy,
                    &known,
                    &HashMap::new(),
                )
                .await?;
            steps.push(step);
        }
        self.fill_transfers(&mut steps).await?;
        Ok(SyncPlan {
            strategy: req.strategy,
            pinned_to: None,
            steps,
        })
    }

    async fn job(&self, job_id: i64) -> Result<JobRow, EngineError> {
        self.store
            .job(job_id)
            .await?
            .ok_or(EngineError::JobNotFound(job_id))
    }

    /// The newest manifest of job `source`, which a pinned re-run follows.
    async fn pinned_manifest(&self, source: i64) -> Result<Vec<ManifestEntry>, EngineError> {
        match self.store.job_manifest(source).await? {
            Some((_, _, _, entries)) => Ok(entries),
            None => Err(EngineError::ManifestNotFound(source.to_string())),
        }
    }

    /// Receives a worker's copy that attempt `at`'s manifest names: checked
    /// against the manifest and its hash, then stored (components as a
    /// version, activated when the plan said so).
    pub async fn store_copy(
        &self,
        at: AttemptRef,
        path: &str,
        q: &CopyUploadQuery,
        content: &[u8],
    ) -> Result<String, EngineError> {
        let text = std::str::from_utf8(content).map_err(|_| EngineError::BadComponentContent {
            path: path.chars().take(200).collect(),
            message: "is not UTF-8 text".into(),
        })?;
        let hash = checked_content(path, text)?;
        if hash != q.xxh3.to_ascii_lowercase() {
            return Err(EngineError::HashMismatch {
                path: path.to_string(),
                message: format!(
                    "the content hashes to {hash} but the request named {}; send it again",
                    q.xxh3
                ),
            });
        }
        let Some(activate) = self
            .store
            .planned_copy(at.job_id, at.attempt, path, &hash, q.code)
            .await?
        else {
            return Err(EngineError::NotInPlan {
                path: path.chars().take(200).collect(),
            });
        };
        let now = self.clock.now_ms();
        if q.code {
            self.store.store_blob(&hash, text, now).await?;
            return Ok(hash);
        }
        let store_path = super::store_path(path)?;
        let host = self.job(at.job_id).await?.view.host_id.unwrap_or_default();
        let actor = Actor {
            who: format!("agent {host} (job {})", at.job_id),
            origin: host.to_string(),
        };
        self.store
            .store_version(
                &store_path,
                &hash,
                text,
                activate,
                !activate,
                Audit {
                    action: "agent_upload",
                    who: &actor.who,
                    origin: &actor.origin,
                },
                now,
            )
            .await?;
        Ok(hash)
    }
}

/// A local hash from the agent, checked.
fn checked_local(copy: &LocalCopy) -> Result<Option<String>, EngineError> {
    match &copy.hash {
        None => Ok(None),
        Some(h) if h.len() == 16 && h.chars().all(|c| c.is_ascii_hexdigit()) => {
            Ok(Some(h.to_ascii_lowercase()))
        }
        Some(h) => Err(EngineError::BadOption(format!(
            "{}: hash must be 16 hex digits, not {:?}",
            copy.path.chars().take(200).collect::<String>(),
            h.chars().take(40).collect::<String>()
        ))),
    }
}

/// A step that makes the worker's copy exactly the pinned manifest's.
fn pinned_step(path: &str, local: Option<&str>, pin: &[ManifestEntry], code: bool) -> SyncStep {
    let target = pin
        .iter()
        .find(|e| e.path == path && e.code == code)
        .map(|e| e.hash.clone());
    let (action, hash) = match (&target, local) {
        (Some(t), Some(l)) if t == l => (SyncAction::Keep, Some(t.clone())),
        (Some(t), _) => (SyncAction::Download, Some(t.clone())),
        // Not part of the pinned code: left as it is, not run on purpose.
        (None, Some(l)) => (SyncAction::Keep, Some(l.to_string())),
        (None, None) => (SyncAction::Nothing, None),
    };
    SyncStep {
        path: path.to_string(),
        code,
        conflict: None,
        action,
        hash,
        content: None,
        upload: false,
        notice: None,
    }
}
