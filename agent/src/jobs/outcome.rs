//! Turns how a process ended into the `finished` report. Pure.

use std::time::Duration;

use trainyard_core::work::{FinishedReport, Outcome};

use super::process::Exit;
use super::stop::StopCause;

/// How an attempt ended, before it is put into words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The process could not be started; the text says why.
    NotStarted(String),
    /// It ran and exited, on its own (`cause: None`) or because it was stopped.
    Exited {
        exit: Exit,
        cause: Option<StopCause>,
    },
}

impl Ending {
    /// The report for this ending; `log_size` is filled in when it is sent.
    pub fn report(&self, duration: Duration) -> FinishedReport {
        let duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let mut report = FinishedReport {
            outcome: Outcome::Failed,
            exit_code: None,
            signal: None,
            error: None,
            duration_ms,
            log_size: 0,
        };
        match self {
            Ending::NotStarted(error) => report.error = Some(error.clone()),
            Ending::Exited { exit, cause } => {
                match exit {
                    Exit::Code(code) => report.exit_code = Some(*code),
                    Exit::Signal(signal) => report.signal = Some(*signal),
                    Exit::Unknown(_) | Exit::Lost(_) => {}
                }
                (report.outcome, report.error) = match (cause, exit) {
                    (Some(cause), _) => (cause.outcome(), cause.error()),
                    (None, Exit::Code(0)) => (Outcome::Succeeded, None),
                    (None, Exit::Code(_)) => (Outcome::Failed, None),
                    (None, Exit::Signal(signal)) => {
                        (Outcome::Failed, Some(format!("killed by signal {signal}")))
                    }
                    (None, Exit::Unknown(why)) => (Outcome::Failed, Some(why.clone())),
                    (None, Exit::Lost(why)) => (Outcome::Lost, Some(why.clone())),
                };
            }
        }
        report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn exited(exit: Exit, cause: Option<StopCause>) -> FinishedReport {
        Ending::Exited { exit, cause }.report(SECOND)
    }

    #[test]
    fn exit_codes_decide_unless_the_agent_stopped_the_job() {
        let ok = exited(Exit::Code(0), None);
        assert_eq!(
            (ok.outcome, ok.exit_code, ok.duration_ms),
            (Outcome::Succeeded, Some(0), 1000)
        );
        let failed = exited(Exit::Code(3), None);
        assert_eq!(
            (failed.outcome, failed.exit_code),
            (Outcome::Failed, Some(3))
        );
        let cancelled = exited(Exit::Signal(15), Some(StopCause::Cancel));
        assert_eq!(
            (cancelled.outcome, cancelled.signal),
            (Outcome::Cancelled, Some(15))
        );
        // A job that catches TERM and exits 0 was still cancelled.
        assert_eq!(
            exited(Exit::Code(0), Some(StopCause::Cancel)).outcome,
            Outcome::Cancelled
        );
        let timed_out = exited(
            Exit::Signal(9),
            Some(StopCause::TimedOut { after: 5 * SECOND }),
        );
        assert_eq!(timed_out.outcome, Outcome::Failed);
        assert_eq!(timed_out.error.as_deref(), Some("timed out after 5 s"));
    }

    #[test]
    fn a_job_gone_without_a_recorded_end_is_lost_not_failed() {
        let lost = exited(Exit::Lost("vanished".into()), None);
        assert_eq!(
            (lost.outcome, lost.error.as_deref(), lost.exit_code),
            (Outcome::Lost, Some("vanished"), None)
        );
    }

    #[test]
    fn a_job_that_never_started_fails_with_the_reason() {
        let report = Ending::NotStarted("cannot start \"x\": denied".into()).report(Duration::ZERO);
        assert_eq!(report.outcome, Outcome::Failed);
        assert_eq!(report.error.as_deref(), Some("cannot start \"x\": denied"));
        assert_eq!((report.exit_code, report.signal), (None, None));
    }
}
