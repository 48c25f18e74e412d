//! Unanswered component conflicts (the bell in the top bar): fetched each
//! time the live stream (re)connects, then kept current by `notice` events,
//! so a conflict a worker raises appears without a reload and an answer given
//! in another tab disappears here too. Tying the fetch to the stream means
//! the login page, which opens no stream, asks for nothing it may not see.

use leptos::prelude::*;
use trainyard_core::components::ConflictNotice;

/// The open notices, newest first.
#[derive(Clone, Copy)]
pub struct NoticeStore {
    open: RwSignal<Vec<ConflictNotice>>,
}

impl NoticeStore {
    pub fn new() -> NoticeStore {
        NoticeStore {
            open: RwSignal::new(Vec::new()),
        }
    }

    /// Replaces the list with a server snapshot.
    pub fn seed(&self, notices: Vec<ConflictNotice>) {
        self.open.set(notices);
    }

    /// A notice was raised (added) or answered (removed).
    pub fn apply(&self, notice: ConflictNotice) {
        self.open.update(|open| {
            open.retain(|n| n.id != notice.id);
            if notice.choice.is_none() {
                open.insert(0, notice);
            }
        });
    }

    /// The open notices (tracked).
    pub fn open(&self) -> Vec<ConflictNotice> {
        self.open.get()
    }

    /// How many are open (tracked).
    pub fn count(&self) -> usize {
        self.open.with(Vec::len)
    }
}

impl Default for NoticeStore {
    fn default() -> Self {
        NoticeStore::new()
    }
}

/// Replaces the list with the server's open notices (browser only: the live
/// stream calls it on connect, resync and reconnect).
#[cfg(feature = "hydrate")]
pub fn reload(notices: NoticeStore) {
    leptos::task::spawn_local(async move {
        match crate::server_fns::open_notices().await {
            Ok(open) => notices.seed(open),
            Err(e) => leptos::logging::warn!("notifications: {e}"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::components::{ConflictKind, Resolution};

    fn notice(id: i64, choice: Option<Resolution>) -> ConflictNotice {
        ConflictNotice {
            id,
            host_id: "h".into(),
            job_id: Some(1),
            path: "model/a.py".into(),
            kind: ConflictKind::LocalNewer,
            local_hash: "0000000000000001".into(),
            server_hash: Some("0000000000000002".into()),
            created_ms: 0,
            choice,
            answered_by: None,
            answered_ms: None,
            applied_ms: None,
        }
    }

    #[test]
    fn raised_notices_are_listed_and_answered_ones_leave() {
        let owner = Owner::new();
        owner.set();
        let store = NoticeStore::new();
        store.apply(notice(1, None));
        store.apply(notice(2, None));
        assert_eq!(store.count(), 2);
        store.apply(notice(1, Some(Resolution::Skip)));
        assert_eq!(store.open().iter().map(|n| n.id).collect::<Vec<_>>(), [2]);
    }
}
