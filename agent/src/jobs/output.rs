//! A job's `output.log`. The job writes its stdout and stderr straight
//! into it (`crate::supervisor`): with nothing in between, the output
//! survives an agent that dies, and a new agent ships it from where the
//! spool says the server is. The agent appends its own notes for the user.

use std::path::Path;

use tokio::fs::{File, OpenOptions};

/// Opens `log` for appending; every write lands at its end.
pub(crate) async fn open_log(log: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(log).await
}
