//! Pieces of the `trainyard-agent` binary that the library (embedded in the
//! server) does not need: flags, logging setup, signal handling.

pub mod args;
pub mod logging;
pub mod signals;
