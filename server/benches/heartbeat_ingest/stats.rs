//! Measurement helpers of the ingest bench: microseconds and the process's
//! CPU time.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

pub(crate) use crate::percentiles::{percentiles, Percentiles};

pub(crate) fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// CPU time (user + system) this process has used so far, from
/// `/proc/self/stat`; `None` off Linux.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name, which may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of proc(5), i.e. 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux ABI Rust targets; asking sysconf would need libc.
    Some(Duration::from_millis(ticks * 10))
}

/// Process CPU time spent between two instants, sampled by a helper task.
pub(crate) fn cpu_between(from: Instant, to: Instant) -> JoinHandle<Option<Duration>> {
    tokio::spawn(async move {
        tokio::time::sleep_until(from).await;
        let before = process_cpu()?;
        tokio::time::sleep_until(to).await;
        Some(process_cpu()?.saturating_sub(before))
    })
}
