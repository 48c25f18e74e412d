//! Why the agent stops an attempt early, and what it then reports.

use std::time::Duration;

use trainyard_core::work::{Outcome, StopReason};

/// Why an attempt's process is being stopped before it exits on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopCause {
    /// A user cancelled the job (a stop order with reason `cancelled`).
    Cancel,
    /// The server gave the job to a newer attempt (a stop order or a 409).
    Superseded,
    /// A higher-priority job needs its GPUs (a stop order with reason
    /// `preempted`): the server requeues it to resume.
    Preempted,
    /// No contact with the server for most of a fenced lease.
    Fenced,
    /// The job ran past its `timeout_secs`.
    TimedOut { after: Duration },
    /// The agent itself is shutting down.
    AgentStopped,
}

impl From<StopReason> for StopCause {
    fn from(reason: StopReason) -> Self {
        match reason {
            StopReason::Cancelled => StopCause::Cancel,
            StopReason::Superseded => StopCause::Superseded,
            StopReason::Preempted => StopCause::Preempted,
        }
    }
}

impl StopCause {
    /// The outcome recorded for an attempt stopped this way.
    pub fn outcome(self) -> Outcome {
        match self {
            StopCause::Cancel => Outcome::Cancelled,
            StopCause::Preempted => Outcome::Preempted,
            _ => Outcome::Failed,
        }
    }

    /// The `error` text reported, if any.
    pub fn error(self) -> Option<String> {
        match self {
            StopCause::Cancel => None,
            StopCause::Superseded => Some("superseded by a newer attempt".into()),
            StopCause::Preempted => {
                Some("preempted: stopped to make room for a higher-priority job".into())
            }
            StopCause::Fenced => Some(
                "stopped by the agent: no contact with the server for most of the lease, \
                 so the job may already run elsewhere"
                    .into(),
            ),
            StopCause::TimedOut { after } => Some(format!("timed out after {} s", after.as_secs())),
            StopCause::AgentStopped => Some("the agent was stopped".into()),
        }
    }

    /// Whether the server must not hear about this attempt any more: it
    /// would refuse the reports as superseded anyway.
    pub fn drops_reports(self) -> bool {
        matches!(self, StopCause::Superseded | StopCause::Fenced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_cancel_is_cancelled_and_timeouts_say_how_long() {
        assert_eq!(StopCause::Cancel.outcome(), Outcome::Cancelled);
        let timed_out = StopCause::TimedOut {
            after: Duration::from_secs(60),
        };
        assert_eq!(timed_out.outcome(), Outcome::Failed);
        assert_eq!(timed_out.error().as_deref(), Some("timed out after 60 s"));
        assert_eq!(
            StopCause::AgentStopped.error().as_deref(),
            Some("the agent was stopped")
        );
        assert!(StopCause::Fenced.drops_reports() && !StopCause::Cancel.drops_reports());
        assert_eq!(
            StopCause::from(StopReason::Preempted).outcome(),
            Outcome::Preempted
        );
        assert!(
            !StopCause::Preempted.drops_reports(),
            "the server must hear it ended"
        );
    }
}
