//! Copies a job's stdout and stderr into one `output.log`, interleaved as
//! they arrive.
//!
//! Each pipe is forwarded a line at a time where it can be, so a stdout line
//! and a stderr line do not get spliced together; a partial line (a progress
//! bar, a prompt) is still written once the pipe has been quiet briefly.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long a partial line waits for its newline before it is written anyway.
const PARTIAL_LINE_WAIT: Duration = Duration::from_millis(100);
/// A "line" longer than this is written in pieces.
const MAX_PENDING: usize = 64 * 1024;
const READ_SIZE: usize = 16 * 1024;
/// Pieces arriving within this long of the first are written together: one
/// trip to the blocking pool per batch. Writing each piece as it came (two
/// trips: write, flush) cost a job printing 1 MB/s in 10 ms bursts 200
/// thread switches a second, most of the agent's CPU while shipping it.
/// The log is shipped every 200 ms anyway.
const BATCH_WINDOW: Duration = Duration::from_millis(25);
/// A batch is written once it holds this much, whatever the window.
const MAX_BATCH: usize = 1 << 20;

/// Opens `log` for appending; every write lands at its end.
pub(crate) async fn open_log(log: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(log).await
}

/// Starts copying `pipes` into `log`; the task ends when every pipe is
/// closed (the process and everything that inherited its output exited).
pub(crate) fn capture<R>(pipes: Vec<R>, log: File) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let (sender, mut pieces) = mpsc::channel::<Vec<u8>>(64);
    for pipe in pipes {
        tokio::spawn(forward(pipe, sender.clone()));
    }
    drop(sender);
    tokio::spawn(async move {
        let mut log = Some(log.into_std().await);
        let mut failed = false;
        while let Some(mut batch) = pieces.recv().await {
            let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
            while batch.len() < MAX_BATCH {
                match tokio::time::timeout_at(deadline, pieces.recv()).await {
                    Ok(Some(piece)) => batch.extend_from_slice(&piece),
                    Ok(None) | Err(_) => break,
                }
            }
            // Keep draining after a write error so the job never blocks on a
            // full pipe; its output is lost, but it keeps running.
            if let Err(e) = append(&mut log, batch).await {
                if !failed {
                    tracing::warn!("cannot write the job's output.log: {e}");
                    failed = true;
                }
            }
        }
    })
}

/// Appends `bytes` on the blocking pool (an unbuffered `std` file: written
/// means handed to the OS). The file comes back unless the write panicked.
async fn append(log: &mut Option<std::fs::File>, bytes: Vec<u8>) -> std::io::Result<()> {
    let Some(mut file) = log.take() else {
        return Err(std::io::Error::other(
            "the log file was lost after an earlier failure",
        ));
    };
    let (file, written) = tokio::task::spawn_blocking(move || {
        let written = file.write_all(&bytes);
        (file, written)
    })
    .await
    .map_err(std::io::Error::other)?;
    *log = Some(file);
    written
}

/// Reads one pipe, sending whole lines (or quiet partial lines) to the writer.
async fn forward<R: AsyncRead + Unpin>(mut pipe: R, sender: mpsc::Sender<Vec<u8>>) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buffer = vec![0u8; READ_SIZE];
    loop {
        let read = if pending.is_empty() {
            pipe.read(&mut buffer).await
        } else {
            // `read` is cancel-safe: a timeout loses no bytes.
            match tokio::time::timeout(PARTIAL_LINE_WAIT, pipe.read(&mut buffer)).await {
                Ok(read) => read,
                Err(_) => {
                    if sender.send(std::mem::take(&mut pending)).await.is_err() {
                        return;
                    }
                    continue;
                }
            }
        };
        let count = match read {
            Ok(0) | Err(_) => break,
            Ok(count) => count,
        };
        pending.extend_from_slice(&buffer[..count]);
        let complete = match pending.iter().rposition(|&b| b == b'\n') {
            Some(last_newline) => pending.drain(..=last_newline).collect(),
            None if pending.len() >= MAX_PENDING => std::mem::take(&mut pending),
            None => continue,
        };
        if sender.send(complete).await.is_err() {
            return;
        }
    }
    if !pending.is_empty() {
        let _ = sender.send(pending).await;
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test]
    async fn two_pipes_end_up_in_one_file_line_by_line() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("output.log");
        let log = open_log(&path).await.expect("the log opens in a fresh dir");
        let (mut out_writer, out_reader) = tokio::io::duplex(64);
        let (mut err_writer, err_reader) = tokio::io::duplex(64);
        let task = capture(vec![out_reader, err_reader], log);

        out_writer.write_all(b"out 1\nout ").await.ok();
        err_writer.write_all(b"err 1\n").await.ok();
        out_writer.write_all(b"2\n").await.ok();
        err_writer.write_all(b"no newline").await.ok();
        drop(out_writer);
        drop(err_writer);
        task.await.ok();

        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
        lines.sort_unstable();
        assert_eq!(lines, ["err 1\n", "no newline", "out 1\n", "out 2\n"]);
    }
}
