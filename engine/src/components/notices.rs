//! Conflict notices: a worker's local change (`local_newer`) in interactive
//! mode runs as it is and asks a person; the answer (upload, download,
//! skip) is carried out by that host at its next sync. Unanswered notices
//! live in the database, so they survive reloads and restarts.

use std::sync::Arc;

use trainyard_core::components::{ConflictNotice, Resolution};

use super::{Actor, Components};
use crate::error::EngineError;
use crate::events::BusEvent;

impl Components {
    /// Notices, newest first; only unanswered ones with `open_only`.
    pub async fn notices(&self, open_only: bool) -> Result<Vec<ConflictNotice>, EngineError> {
        self.store.notices(open_only).await
    }

    /// Records a person's answer to notice `id`.
    pub async fn answer(
        &self,
        id: i64,
        choice: Resolution,
        actor: &Actor,
    ) -> Result<ConflictNotice, EngineError> {
        if !self
            .store
            .answer_notice(id, choice, &actor.who, self.clock.now_ms())
            .await?
        {
            return Err(EngineError::NoticeNotFound(id));
        }
        let notice = self
            .store
            .notice(id)
            .await?
            .ok_or(EngineError::NoticeNotFound(id))?;
        tracing::info!(id, path = %notice.path, host = %notice.host_id, choice = choice.label(),
            who = %actor.who, "component conflict answered");
        self.bus.publish(BusEvent::Notice(Arc::new(notice.clone())));
        Ok(notice)
    }
}
