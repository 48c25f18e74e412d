//! Each attempt's local files: `<work_dir>/runs/<job_id>-<attempt>/` with
//! `config.yaml`, `output.log` and `state.json`. The state file lets an
//! agent that restarts report what its previous life could not.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use trainyard_core::work::{Assignment, AttemptRef, FinishedReport};

const STATE_FILE: &str = "state.json";
const STATE_TEMP_FILE: &str = "state.json.tmp";
const LOG_FILE: &str = "output.log";

/// The agent's own files in a run dir: the log travels through `…/log`,
/// the state is bookkeeping. Run-file sync leaves them out.
pub(crate) const AGENT_FILES: [&str; 7] = [
    LOG_FILE,
    STATE_FILE,
    STATE_TEMP_FILE,
    crate::supervisor::SUPERVISOR_FILES[0],
    crate::supervisor::SUPERVISOR_FILES[1],
    crate::supervisor::SUPERVISOR_FILES[2],
    crate::supervisor::SUPERVISOR_FILES[3],
];

/// What the agent remembers about one attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AttemptState {
    pub assignment: Assignment,
    /// The job's process (and process group) id once spawned; its
    /// supervisor's id is in the run dir's `supervisor.json`.
    #[serde(default)]
    pub pid: Option<u32>,
    #[serde(default)]
    pub started_reported: bool,
    /// Bytes of `output.log` the server has acknowledged.
    #[serde(default)]
    pub log_acked: u64,
    /// Set when the process ended (`log_size` is filled when sent).
    #[serde(default)]
    pub outcome: Option<FinishedReport>,
    /// The server has the outcome, or must not get it (see `dropped`).
    #[serde(default)]
    pub reported: bool,
    /// Why the reports were abandoned (superseded, fenced), if they were.
    #[serde(default)]
    pub dropped: Option<String>,
    /// A serving attempt's port, so an agent that adopts it probes it again.
    #[serde(default)]
    pub serve_port: Option<u16>,
}

impl AttemptState {
    pub fn new(assignment: Assignment) -> Self {
        Self {
            assignment,
            pid: None,
            started_reported: false,
            log_acked: 0,
            outcome: None,
            reported: false,
            dropped: None,
            serve_port: None,
        }
    }

    pub fn attempt(&self) -> AttemptRef {
        AttemptRef {
            job_id: self.assignment.job_id,
            attempt: self.assignment.attempt,
        }
    }
}

/// One attempt's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunDir(PathBuf);

impl RunDir {
    /// `<runs>/<job_id>-<attempt>`.
    pub fn new(runs: &Path, attempt: AttemptRef) -> Self {
        Self(runs.join(format!("{}-{}", attempt.job_id, attempt.attempt)))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn config(&self) -> PathBuf {
        self.0.join("config.yaml")
    }

    pub fn log(&self) -> PathBuf {
        self.0.join(LOG_FILE)
    }

    fn state(&self) -> PathBuf {
        self.0.join(STATE_FILE)
    }

    /// Creates the directory with `config.yaml` and an empty `output.log`
    /// (a leftover log of the same attempt is replaced).
    pub async fn create(&self, assignment: &Assignment) -> std::io::Result<()> {
        tokio::fs::create_dir_all(&self.0).await?;
        tokio::fs::write(self.config(), &assignment.config_yaml).await?;
        tokio::fs::write(self.log(), b"").await
    }
}

/// An attempt's state, kept in memory and written through to `state.json`.
pub(crate) struct Spooled {
    dir: RunDir,
    state: Mutex<AttemptState>,
}

impl Spooled {
    pub fn new(dir: RunDir, state: AttemptState) -> Self {
        Self {
            dir,
            state: Mutex::new(state),
        }
    }

    pub fn dir(&self) -> &RunDir {
        &self.dir
    }

    pub async fn get(&self) -> AttemptState {
        self.state.lock().await.clone()
    }

    /// Reads part of the state without cloning all of it (the assignment
    /// carries the whole config): the reporter looks several times a second.
    pub async fn read<T>(&self, look: impl FnOnce(&AttemptState) -> T) -> T {
        look(&*self.state.lock().await)
    }

    /// Changes the state and saves it. A failed save is logged, not fatal:
    /// the job matters more than its bookkeeping.
    pub async fn update(&self, change: impl FnOnce(&mut AttemptState)) {
        let mut state = self.state.lock().await;
        change(&mut state);
        if let Err(e) = save(&self.dir, &state).await {
            tracing::warn!(
                "cannot save {}: {e}; a restarted agent may not know this attempt",
                self.dir.state().display()
            );
        }
    }
}

/// Writes to a temporary file and renames it, so a crash mid-write leaves
/// the previous state rather than half a file.
async fn save(dir: &RunDir, state: &AttemptState) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    let temporary = dir.0.join(STATE_TEMP_FILE);
    let state = dir.state();
    // One trip to the blocking pool for both steps (this runs for every log
    // chunk acknowledged, five times a second while a job prints).
    tokio::task::spawn_blocking(move || {
        std::fs::write(&temporary, json)?;
        std::fs::rename(&temporary, state)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Every attempt under `runs` whose outcome has not reached the server.
/// Unreadable entries are logged and skipped.
pub(crate) async fn unreported(runs: &Path) -> Vec<(RunDir, AttemptState)> {
    let mut found = Vec::new();
    let mut entries = match tokio::fs::read_dir(runs).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return found,
        Err(e) => {
            tracing::warn!(
                "cannot read {}: {e}; earlier jobs are not re-reported",
                runs.display()
            );
            return found;
        }
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let dir = RunDir(entry.path());
        let text = match tokio::fs::read(dir.state()).await {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                tracing::warn!("cannot read {}: {e}", dir.state().display());
                continue;
            }
        };
        match serde_json::from_slice::<AttemptState>(&text) {
            Ok(state) if !state.reported => found.push((dir, state)),
            Ok(_) => {}
            Err(e) => tracing::warn!("ignoring {}: {e}", dir.state().display()),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use trainyard_core::work::Outcome;

    fn assignment(job_id: i64) -> Assignment {
        Assignment {
            job_id,
            attempt: 1,
            project: "p".into(),
            name: "n".into(),
            command: vec!["true".into()],
            workdir: None,
            config_yaml: "a: 1\n".into(),
            gpu_indices: vec![],
            timeout_secs: None,
            lease_ms: 1000,
            fence: false,
            serve: None,
            resume: false,
        }
    }

    #[tokio::test]
    async fn only_unreported_attempts_come_back_after_a_restart() {
        let work = tempfile::tempdir().expect("a temp dir");
        let runs = work.path().join("runs");
        assert!(unreported(&runs).await.is_empty(), "no runs dir yet");

        for (job_id, reported) in [(1, false), (2, true)] {
            let job = assignment(job_id);
            let dir = RunDir::new(&runs, AttemptRef { job_id, attempt: 1 });
            dir.create(&job).await.expect("the run dir is created");
            let spooled = Spooled::new(dir, AttemptState::new(job));
            spooled
                .update(|s| {
                    s.log_acked = 5;
                    s.outcome = Some(FinishedReport {
                        outcome: Outcome::Succeeded,
                        exit_code: Some(0),
                        signal: None,
                        error: None,
                        duration_ms: 10,
                        log_size: 0,
                    });
                    s.reported = reported;
                })
                .await;
        }
        let found = unreported(&runs).await;
        assert_eq!(found.len(), 1);
        let (dir, state) = &found[0];
        assert_eq!(state.assignment.job_id, 1);
        assert_eq!(state.log_acked, 5);
        assert_eq!(
            std::fs::read_to_string(dir.config()).unwrap_or_default(),
            "a: 1\n"
        );
    }
}
