//! The model registry's FTP mirror (issue 14, "Publish to FTP"): every
//! version and every LATEST move is copied to an FTP server in the seed's
//! layout, for clients that only reach the lab's FTP server:
//!
//! ```text
//! <root>/<stage>/<model>/
//!   LATEST                 the LATEST version's name (written last)
//!   LATEST.json            its index entry
//!   index.json             {modelName, modelSlug, stage, latest, versions[], updatedMs}
//!   versions/<v>/payload/… manifest.json  bundle.tar.gz
//! ```
//!
//! The models domain queues a task in the same transaction that records a
//! version or moves LATEST (`model_mirror`, migration 0014), so a crash never
//! loses one, and wakes this domain's one worker. The worker runs a stage's
//! tasks in id order (stages apart: one that keeps failing, say a version
//! whose files are gone, holds up only its own stage); each uploads the version's files (skipping those already there
//! at full size: versions are immutable), then `index.json`, `LATEST.json`
//! and `LATEST`, each under a temporary name renamed into place. A failure
//! marks the task failed with the error and keeps it (and its stage's
//! later ones) for a later attempt, backing off exponentially; the registry itself is
//! never touched. At start, versions that have no task for the configured
//! target are queued, so a target configured later catches up.

pub mod ftp;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use trainyard_core::models::{
    FtpVersionEntry, MirrorView, ModelVersionView, BUNDLE_FILE, FTP_VERSIONS, MANIFEST_FILE,
};

use crate::clock::Clock;
use crate::error::EngineError;
use crate::store::Store;

use ftp::FtpTarget;

/// How many tasks `GET /models/{name}/mirror` shows.
const SHOWN_TASKS: u32 = 200;

/// Where and how the registry is mirrored (`--ftp-url` and its password).
#[derive(Debug, Clone)]
pub struct MirrorSettings {
    pub target: FtpTarget,
    /// Wait before the second attempt of a failed task; doubled each time.
    pub retry_base: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
}

impl MirrorSettings {
    pub fn new(target: FtpTarget) -> MirrorSettings {
        MirrorSettings {
            target,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
        }
    }
}

/// What the models domain holds: where tasks are queued for, and the
/// worker's doorbell.
#[derive(Clone, Default)]
pub(crate) struct MirrorQueue {
    target: Option<String>,
    wake: Arc<Notify>,
}

impl MirrorQueue {
    /// The target's URL (no password) tasks are queued for; none when the
    /// registry is not mirrored.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Tells the worker a task was queued.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

struct Inner {
    settings: MirrorSettings,
    url: String,
    store: Store,
    clock: Clock,
    models_root: PathBuf,
    wake: Arc<Notify>,
}

/// The mirror domain.
pub(crate) struct Mirror {
    queue: MirrorQueue,
    store: Store,
}

impl Mirror {
    /// Queues what the target lacks and starts the worker; without
    /// settings, a mirror that queues nothing.
    pub async fn load(
        settings: Option<MirrorSettings>,
        store: Store,
        clock: Clock,
        models_root: PathBuf,
    ) -> Result<Mirror, EngineError> {
        let Some(settings) = settings else {
            return Ok(Mirror {
                queue: MirrorQueue::default(),
                store,
            });
        };
        let url = settings.target.url();
        let queued = store.queue_unmirrored(&url, clock.now_ms()).await?;
        tracing::info!(target = %url, queued, "mirroring the model registry to FTP");
        let wake = Arc::new(Notify::new());
        let inner = Arc::new(Inner {
            settings,
            url: url.clone(),
            store: store.clone(),
            clock,
            models_root,
            wake: wake.clone(),
        });
        tokio::spawn(worker::run(inner));
        Ok(Mirror {
            queue: MirrorQueue {
                target: Some(url),
                wake,
            },
            store,
        })
    }

    pub fn queue(&self) -> MirrorQueue {
        self.queue.clone()
    }

    /// The target and a model's newest tasks (the caller checked the model).
    pub async fn view(&self, model: &str) -> Result<MirrorView, EngineError> {
        Ok(MirrorView {
            target: self.queue.target.clone(),
            tasks: self.store.mirror_tasks(model, SHOWN_TASKS).await?,
        })
    }
}

/// A version's entry in the mirror's `index.json` and `LATEST.json`.
pub fn entry_of(v: &ModelVersionView) -> FtpVersionEntry {
    FtpVersionEntry {
        model_name: v.model.clone(),
        stage: v.stage,
        version: v.version.clone(),
        created_ms: v.created_ms,
        registered_by: v.registered_by.clone(),
        notes: v.notes.clone(),
        source: v.source.clone(),
        files: v.files,
        bytes: v.bytes,
        bundle: format!("{FTP_VERSIONS}/{}/{BUNDLE_FILE}", v.version),
        bundle_bytes: v.bundle_bytes,
        bundle_xxh3: v.bundle_xxh3.clone(),
        manifest: format!("{FTP_VERSIONS}/{}/{MANIFEST_FILE}", v.version),
    }
}
