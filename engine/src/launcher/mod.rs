//! The launcher: the catalog of a lab's training scripts (revisions of one
//! YAML file, only valid ones saved) and launches, which turn a task's form
//! values into queued jobs. The rules of the YAML, the forms and the argv
//! are pure and live in `trainyard_core::catalog`; this domain stores,
//! serves and records them.

mod launch;
mod revisions;

pub use revisions::MAX_CATALOG_BYTES;

use std::sync::{Arc, RwLock};

use trainyard_core::catalog::{Catalog, CatalogRevision};

use crate::clock::Clock;
use crate::store::Store;

/// The running catalog: the newest revision, parsed.
#[derive(Debug, Clone, Default)]
struct Current {
    revision: Option<CatalogRevision>,
    content: String,
    catalog: Arc<Catalog>,
}

pub(crate) struct Launcher {
    store: Store,
    clock: Clock,
    current: RwLock<Current>,
    /// Orders saves, so "identical to the newest?" and the insert agree.
    saving: tokio::sync::Mutex<()>,
}

/// `$VAR` and `runner.targetEnvVar` are read from the server's environment.
pub(crate) fn server_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
