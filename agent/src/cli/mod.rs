//! Pieces of the `trainyard-agent` binary that the library (embedded in the
//! server) does not need: flags (and the servers they name), logging setup, signal handling, and the
//! daemon mode's `--daemon`, `--status` and `--stop`.

pub mod args;
pub mod daemon;
pub mod logging;
pub mod servers;
pub mod servers_file;
pub mod signals;
pub mod status;
pub mod stop;
