//! What the owner of a running agent may ask of it: drain, or exit with or
//! without its jobs. The binary maps signals onto it (`cli/signals.rs`).

/// The agent's standing orders, sent through a `watch` channel to
/// [`crate::run_controlled`]. Later orders override earlier ones, so a
/// drain can be cut short by an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep running and taking work.
    Run,
    /// Take no new work; exit once every job here has ended and its
    /// outcome reached the server.
    Drain,
    /// Exit now and leave the running jobs to their supervisors: the next
    /// agent started on the same work dir adopts them.
    ExitLeavingJobs,
    /// Exit now, stopping the running jobs first (TERM, KILL after the
    /// grace) and reporting them failed ("the agent was stopped").
    ExitStoppingJobs,
}
