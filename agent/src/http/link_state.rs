//! Remembers whether the server has been answering, so the heartbeat loop
//! and the poll for work log each outage or rejection once instead of on
//! every retry.

/// What went wrong with the last heartbeat(s), if anything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum LinkState {
    /// No heartbeat has succeeded yet and nothing has failed.
    #[default]
    Starting,
    /// The last heartbeat was accepted.
    Healthy,
    /// Consecutive transient failures (network errors, 5xx, timeouts).
    Unreachable { failures: u32 },
    /// The server refused the last heartbeat as malformed (400/413 …).
    Rejected { message: String },
}

/// What the loop should say after an accepted heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// The first heartbeat ever was accepted.
    Connected,
    /// The server answered again after this many failed attempts.
    Reachable { failures: u32 },
    /// The server accepts heartbeats again after refusing them.
    AcceptedAgain,
}

impl LinkState {
    /// Records an accepted heartbeat; `Some` when that is news worth logging.
    pub fn on_success(&mut self) -> Option<Recovery> {
        match std::mem::replace(self, LinkState::Healthy) {
            LinkState::Starting => Some(Recovery::Connected),
            LinkState::Healthy => None,
            LinkState::Unreachable { failures } => Some(Recovery::Reachable { failures }),
            LinkState::Rejected { .. } => Some(Recovery::AcceptedAgain),
        }
    }

    /// Records a transient failure and returns how many happened in a row
    /// (1 means a new outage began and deserves a warning).
    pub fn on_transient_failure(&mut self) -> u32 {
        let failures = match self {
            LinkState::Unreachable { failures } => failures.saturating_add(1),
            _ => 1,
        };
        *self = LinkState::Unreachable { failures };
        failures
    }

    /// Records a refused heartbeat; `true` when the message differs from the
    /// previous refusal, so the same complaint is logged loudly only once.
    pub fn on_rejected(&mut self, message: &str) -> bool {
        if matches!(self, LinkState::Rejected { message: previous } if previous == message) {
            return false;
        }
        *self = LinkState::Rejected {
            message: message.to_string(),
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_announced_once_and_its_end_reports_the_count() {
        let mut link = LinkState::default();
        assert_eq!(link.on_success(), Some(Recovery::Connected));
        assert_eq!(link.on_success(), None);
        assert_eq!(link.on_transient_failure(), 1);
        assert_eq!(link.on_transient_failure(), 2);
        assert_eq!(link.on_transient_failure(), 3);
        assert_eq!(link.on_success(), Some(Recovery::Reachable { failures: 3 }));
        assert_eq!(
            link.on_transient_failure(),
            1,
            "a new outage starts counting again"
        );
    }

    #[test]
    fn repeated_rejections_are_news_only_when_the_message_changes() {
        let mut link = LinkState::default();
        assert!(link.on_rejected("bad gpu index"));
        assert!(!link.on_rejected("bad gpu index"));
        assert!(link.on_rejected("too large"));
        assert_eq!(link.on_success(), Some(Recovery::AcceptedAgain));
        assert!(link.on_rejected("too large"));
    }

    #[test]
    fn an_unreachable_server_at_startup_counts_as_an_outage() {
        let mut link = LinkState::default();
        assert_eq!(link.on_transient_failure(), 1);
        assert_eq!(link.on_success(), Some(Recovery::Reachable { failures: 1 }));
    }
}
