//! What the agent knows of one run file, in memory only: the server's
//! status is the truth, and this is rebuilt from it after a restart or on
//! any doubt.

use std::io;
use std::time::Duration;

use tokio::time::Instant;

use super::fingerprint::Fingerprint;
use super::read::{blocking, hash_file, FileHash};
use super::scan::{LocalFile, Stamp};

/// A whole file is sent once its stamp has held this long.
pub(super) const STABLE_AFTER: Duration = Duration::from_secs(1);

/// The server's copy of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ServerCopy {
    pub size: u64,
    /// `None` when the status named a hash this agent cannot read.
    pub xxh3: Option<u64>,
}

/// An upload the server holds unfinished: where to resume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pending {
    pub size: u64,
    pub xxh3: u64,
    pub received: u64,
}

/// Where an append file stands against the server's copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum AppendState {
    /// Not yet compared with the server's copy.
    #[default]
    Unverified,
    /// The server holds bytes `0..acked` of the local file.
    At {
        acked: u64,
        /// `None`: take it from the file at the next look.
        fingerprint: Option<Fingerprint>,
        /// The stamp at which the file was last found in step: while it
        /// holds, there is nothing to read.
        checked: Option<Stamp>,
    },
    /// The local file no longer extends the server's copy: send it whole.
    Rewritten,
}

/// xxh3 of the local file at a stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Hashed {
    pub stamp: Stamp,
    pub full: u64,
    /// `(len, hash)` of the first `len` bytes, if asked for.
    pub prefix: Option<(u64, u64)>,
}

impl Hashed {
    /// The hash of the first `len` bytes, if known.
    pub fn prefix(&self, len: u64) -> Option<u64> {
        if len == self.stamp.size {
            return Some(self.full);
        }
        self.prefix
            .filter(|&(at, _)| at == len)
            .map(|(_, hash)| hash)
    }
}

/// The in-memory state of one path.
#[derive(Debug, Default)]
pub(super) struct Tracked {
    pub server: Option<ServerCopy>,
    pub upload: Option<Pending>,
    /// Append files only.
    pub cursor: AppendState,
    /// Whole files: the local stamp whose content the server holds.
    pub synced: Option<Stamp>,
    /// The last stamp seen and since when it held.
    seen: Option<(Stamp, Instant)>,
    hashed: Option<Hashed>,
    /// Consecutive tries that ended in "later".
    pub failures: u32,
    /// When bytes of this append file last went out (batching, see append.rs).
    pub last_append: Option<Instant>,
}

impl Tracked {
    /// Forgets what the server held, before a fresh status says it again.
    pub fn forget_server(&mut self) {
        self.server = None;
        self.upload = None;
        self.cursor = AppendState::Unverified;
        self.synced = None;
    }

    /// Whether a whole file with `stamp` is to be sent now: changed since
    /// it was last sent, and stable.
    pub fn due(&mut self, stamp: Stamp) -> bool {
        self.synced != Some(stamp) && self.stable(stamp)
    }

    /// Whether `stamp` has held for [`STABLE_AFTER`]; starts the clock
    /// when it is new.
    pub fn stable(&mut self, stamp: Stamp) -> bool {
        let now = Instant::now();
        match self.seen {
            Some((seen, since)) if seen == stamp => now.duration_since(since) >= STABLE_AFTER,
            _ => {
                self.seen = Some((stamp, now));
                false
            }
        }
    }

    /// The content hash of `file`, cached per stamp. `Ok(None)`: the file
    /// changed while it was read, so the hash describes nothing that lasts.
    pub async fn hash(&mut self, file: &LocalFile) -> io::Result<Option<Hashed>> {
        if let Some(hashed) = self.hashed.filter(|h| h.stamp == file.stamp) {
            return Ok(Some(hashed));
        }
        let (_, settled) = self.compute(file, None).await?;
        Ok(settled.then_some(self.hashed).flatten())
    }

    /// The hash of the first `len` bytes of `file`; `Ok(None)` if it is
    /// shorter. A growing file is fine: its first bytes do not change.
    pub async fn prefix_hash(&mut self, file: &LocalFile, len: u64) -> io::Result<Option<u64>> {
        let cached = self.hashed.filter(|h| h.stamp == file.stamp);
        if let Some(hash) = cached.and_then(|h| h.prefix(len)) {
            return Ok(Some(hash));
        }
        let (hash, _) = self.compute(file, Some(len)).await?;
        Ok(hash.prefix)
    }

    /// Hashes `file` off the runtime and caches the result if the file
    /// kept its stamp meanwhile (the `bool`).
    async fn compute(
        &mut self,
        file: &LocalFile,
        prefix: Option<u64>,
    ) -> io::Result<(FileHash, bool)> {
        let path = file.abs.clone();
        let (hash, now) = blocking(move || {
            let hash = hash_file(&path, prefix)?;
            Ok((hash, Stamp::of(&std::fs::metadata(&path)?)))
        })
        .await?;
        let settled = now == file.stamp && hash.size == file.stamp.size;
        if settled {
            self.hashed = Some(Hashed {
                stamp: now,
                full: hash.full,
                prefix: prefix.zip(hash.prefix),
            });
        }
        Ok((hash, settled))
    }

    /// Drops the cached hash (the server found it wrong).
    pub fn forget_hash(&mut self) {
        self.hashed = None;
    }
}
