//! Measurement helpers: latency percentiles and the process's CPU time.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Latency percentiles from raw samples in microseconds (sorted in place).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Percentiles {
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
}

pub(crate) fn percentiles(samples: &mut [u32]) -> Percentiles {
    if samples.is_empty() {
        return Percentiles::default();
    }
    samples.sort_unstable();
    // Nearest-rank: the smallest sample with at least p of all samples at or below it.
    let at = |p: f64| {
        let rank = (p * samples.len() as f64).ceil() as usize;
        f64::from(samples[rank.clamp(1, samples.len()) - 1]) / 1000.0
    };
    Percentiles {
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

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
