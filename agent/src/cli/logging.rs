//! Log output for the binary: human-readable lines on stderr.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Logs to stderr at `RUST_LOG`'s levels, `info` when it is unset or invalid.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in journald or files.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
