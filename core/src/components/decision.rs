//! The decision flow: how a worker's copy of a path compares with the
//! store's active version (the conflict), and what each strategy does
//! about it. Pure, so every cell of the table is a test.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a worker's copies are reconciled with the store before a job starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncStrategy {
    /// The store wins: changed local files are replaced (their content is
    /// kept on the server as an inactive version first).
    ServerAuthoritative,
    /// Local changes win: they are uploaded and activated.
    LocalPriority,
    /// A local change is kept for this run and a person decides (a
    /// notification in the browser); everything else follows the store.
    #[default]
    Interactive,
    /// Nothing on the worker changes; the plan is only reported.
    DryRun,
}

impl SyncStrategy {
    pub const ALL: [SyncStrategy; 4] = [
        SyncStrategy::ServerAuthoritative,
        SyncStrategy::LocalPriority,
        SyncStrategy::Interactive,
        SyncStrategy::DryRun,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SyncStrategy::ServerAuthoritative => "server_authoritative",
            SyncStrategy::LocalPriority => "local_priority",
            SyncStrategy::Interactive => "interactive",
            SyncStrategy::DryRun => "dry_run",
        }
    }
}

impl fmt::Display for SyncStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for SyncStrategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SyncStrategy::ALL
            .into_iter()
            .find(|v| v.label() == s)
            .ok_or_else(|| {
                format!("unknown sync strategy {s:?}; expected server_authoritative, local_priority, interactive or dry_run")
            })
    }
}

/// How a worker's copy of a path differs from the store's active version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// The store has it; the worker has no file.
    ServerOnly,
    /// The worker's copy is an older (or any other known) version.
    ServerNewer,
    /// The worker's copy is content the store has never seen.
    LocalNewer,
    /// The worker has a file the store has no version of.
    LocalOnly,
}

impl ConflictKind {
    pub fn label(self) -> &'static str {
        match self {
            ConflictKind::ServerOnly => "server_only",
            ConflictKind::ServerNewer => "server_newer",
            ConflictKind::LocalNewer => "local_newer",
            ConflictKind::LocalOnly => "local_only",
        }
    }

    /// The conflict between a local copy (`local`, its hash) and the
    /// store's `active` hash; `None` when they agree or neither exists.
    /// `store_knows_local`: the store holds the local content under this path.
    pub fn of(
        local: Option<&str>,
        active: Option<&str>,
        store_knows_local: bool,
    ) -> Option<ConflictKind> {
        match (local, active) {
            (None, None) => None,
            (None, Some(_)) => Some(ConflictKind::ServerOnly),
            (Some(_), None) => Some(ConflictKind::LocalOnly),
            (Some(l), Some(a)) if l == a => None,
            (Some(_), Some(_)) if store_knows_local => Some(ConflictKind::ServerNewer),
            (Some(_), Some(_)) => Some(ConflictKind::LocalNewer),
        }
    }
}

/// What happens to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncAction {
    /// The worker's copy is what runs; nothing moves.
    Keep,
    /// The store's version replaces (or creates) the worker's file.
    Download,
    /// The worker's copy is uploaded and becomes the active version.
    UploadActive,
    /// The worker's copy runs and is stored as an inactive version (so
    /// what ran can always be fetched); nothing on the worker changes.
    KeepAndStore,
    /// As `KeepAndStore`, and a person is asked (a notification).
    Ask,
    /// Nothing to do and nothing to run: no copy anywhere, or a dry run
    /// that would have downloaded.
    Nothing,
}

/// The decision flow: what `strategy` does about `conflict`.
pub fn decide(strategy: SyncStrategy, conflict: Option<ConflictKind>) -> SyncAction {
    use ConflictKind::*;
    use SyncStrategy::*;
    match (conflict, strategy) {
        (None, _) => SyncAction::Keep,
        (Some(ServerOnly), DryRun) => SyncAction::Nothing,
        (Some(ServerNewer), DryRun) => SyncAction::Keep,
        (Some(ServerOnly | ServerNewer), _) => SyncAction::Download,
        (Some(LocalNewer), ServerAuthoritative) => SyncAction::Download,
        (Some(LocalNewer), LocalPriority) => SyncAction::UploadActive,
        (Some(LocalNewer), Interactive) => SyncAction::Ask,
        (Some(LocalNewer), DryRun) => SyncAction::KeepAndStore,
        // The first version of a path is the active one, whoever sent it.
        (Some(LocalOnly), _) => SyncAction::UploadActive,
    }
}

/// A person's answer to a `local_newer` notification, carried out on the
/// host at its next sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Upload the worker's copy and activate it.
    Upload,
    /// Replace the worker's copy with the store's active version.
    Download,
    /// Keep the worker's copy; ask no more about this content.
    Skip,
}

impl Resolution {
    pub fn label(self) -> &'static str {
        match self {
            Resolution::Upload => "upload",
            Resolution::Download => "download",
            Resolution::Skip => "skip",
        }
    }

    /// What the answer does on the host.
    pub fn action(self) -> SyncAction {
        match self {
            Resolution::Upload => SyncAction::UploadActive,
            Resolution::Download => SyncAction::Download,
            Resolution::Skip => SyncAction::KeepAndStore,
        }
    }
}

impl FromStr for Resolution {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "upload" | "use_local" => Ok(Resolution::Upload),
            "download" | "use_server" => Ok(Resolution::Download),
            "skip" => Ok(Resolution::Skip),
            _ => Err(format!(
                "unknown choice {s:?}; expected upload, download or skip"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conflict_follows_the_hashes() {
        assert_eq!(ConflictKind::of(None, None, false), None);
        assert_eq!(ConflictKind::of(Some("a"), Some("a"), true), None);
        assert_eq!(
            ConflictKind::of(None, Some("a"), false),
            Some(ConflictKind::ServerOnly)
        );
        assert_eq!(
            ConflictKind::of(Some("b"), Some("a"), true),
            Some(ConflictKind::ServerNewer)
        );
        assert_eq!(
            ConflictKind::of(Some("b"), Some("a"), false),
            Some(ConflictKind::LocalNewer)
        );
        assert_eq!(
            ConflictKind::of(Some("b"), None, false),
            Some(ConflictKind::LocalOnly)
        );
    }

    #[test]
    fn every_conflict_type_under_every_strategy() {
        use ConflictKind::*;
        use SyncAction::*;
        use SyncStrategy::*;
        let table = [
            (ServerOnly, [Download, Download, Download, Nothing]),
            (ServerNewer, [Download, Download, Download, Keep]),
            (LocalNewer, [Download, UploadActive, Ask, KeepAndStore]),
            (
                LocalOnly,
                [UploadActive, UploadActive, UploadActive, UploadActive],
            ),
        ];
        for (conflict, actions) in table {
            for (strategy, action) in SyncStrategy::ALL.into_iter().zip(actions) {
                assert_eq!(
                    decide(strategy, Some(conflict)),
                    action,
                    "{conflict:?} under {strategy}"
                );
            }
        }
        for strategy in [ServerAuthoritative, LocalPriority, Interactive, DryRun] {
            assert_eq!(decide(strategy, None), Keep);
        }
    }

    #[test]
    fn strategies_and_answers_read_their_wire_names() {
        for s in SyncStrategy::ALL {
            assert_eq!(s.label().parse::<SyncStrategy>(), Ok(s));
        }
        assert!("sometimes".parse::<SyncStrategy>().is_err());
        assert_eq!("use_local".parse::<Resolution>(), Ok(Resolution::Upload));
        assert_eq!(Resolution::Skip.action(), SyncAction::KeepAndStore);
    }
}
