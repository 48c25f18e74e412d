//! GPU telemetry history. Heartbeats are folded into one sample per host
//! and minute in memory (mean utilization, peak memory and temperature);
//! closed minutes are written by the hosts' flush, one small row per host
//! and minute, kept for [`RETENTION_MINUTES`]. Queries cut a window into
//! buckets (`TelemetryWindow`), so an hour and a day draw alike.

use std::collections::{BTreeMap, HashMap};

use trainyard_core::{GpuStats, GpuTelemetry, HostTelemetry, TelemetryWindow};

use crate::store::TelemetryRow;

/// How long minutes are kept: a week.
pub const RETENTION_MINUTES: i64 = 7 * 24 * 60;
/// Memory is stored in units of 16 MiB (a u16 reaches 1 TiB).
const MEM_UNIT_BYTES: u64 = 16 * 1024 * 1024;
const MEM_UNIT_MIB: u32 = 16;
/// Bytes per GPU in a stored row.
const GPU_BYTES: usize = 7;
/// A stored temperature of 255 means the GPU reported none.
const NO_TEMP: u8 = u8::MAX;
/// Closed minutes kept when the database refuses them, so an outage
/// can't grow memory without bound (about an hour of 100 hosts).
const MAX_UNWRITTEN: usize = 6_000;

/// The minute (since the Unix epoch) a server time in ms falls in.
pub fn minute_of(ms: i64) -> i64 {
    ms.div_euclid(60_000)
}

/// One GPU's minute as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuMinute {
    pub index: u8,
    pub util_pct: u8,
    pub temp_c: Option<u8>,
    /// Peak memory used, in 16 MiB units.
    pub mem_used: u16,
    /// Memory total, in 16 MiB units.
    pub mem_total: u16,
}

/// Packs a minute's GPUs, 7 bytes each.
pub fn encode(gpus: &[GpuMinute]) -> Vec<u8> {
    let mut out = Vec::with_capacity(gpus.len() * GPU_BYTES);
    for g in gpus {
        out.push(g.index);
        out.push(g.util_pct);
        out.push(g.temp_c.unwrap_or(NO_TEMP));
        out.extend_from_slice(&g.mem_used.to_le_bytes());
        out.extend_from_slice(&g.mem_total.to_le_bytes());
    }
    out
}

/// Unpacks a stored minute; a cut-off trailing GPU is skipped.
pub fn decode(blob: &[u8]) -> Vec<GpuMinute> {
    blob.chunks_exact(GPU_BYTES)
        .map(|b| GpuMinute {
            index: b[0],
            util_pct: b[1],
            temp_c: (b[2] != NO_TEMP).then_some(b[2]),
            mem_used: u16::from_le_bytes([b[3], b[4]]),
            mem_total: u16::from_le_bytes([b[5], b[6]]),
        })
        .collect()
}

fn mem_units(bytes: u64) -> u16 {
    u16::try_from(bytes.div_ceil(MEM_UNIT_BYTES)).unwrap_or(u16::MAX)
}

/// One GPU's heartbeats so far in the open minute.
#[derive(Debug, Clone, Default)]
struct GpuAcc {
    index: u32,
    util_sum: f64,
    samples: u32,
    mem_used_max: u64,
    mem_total: u64,
    temp_max: Option<f32>,
}

impl GpuAcc {
    fn add(&mut self, g: &GpuStats) {
        self.index = g.index;
        // Validated heartbeats hold 0–100; clamp anyway so the mean stays a percentage.
        self.util_sum += f64::from(g.utilization_percent.clamp(0.0, 100.0));
        self.samples += 1;
        self.mem_used_max = self.mem_used_max.max(g.memory_used_bytes);
        self.mem_total = g.memory_total_bytes;
        if let Some(t) = g.temperature_c.filter(|t| t.is_finite()) {
            self.temp_max = Some(self.temp_max.map_or(t, |m| m.max(t)));
        }
    }

    fn minute(&self) -> GpuMinute {
        let util = if self.samples == 0 {
            0.0
        } else {
            self.util_sum / f64::from(self.samples)
        };
        GpuMinute {
            index: u8::try_from(self.index).unwrap_or(u8::MAX),
            util_pct: util.round().clamp(0.0, 100.0) as u8,
            temp_c: self.temp_max.map(|t| t.round().clamp(0.0, 254.0) as u8),
            mem_used: mem_units(self.mem_used_max),
            mem_total: mem_units(self.mem_total),
        }
    }
}

#[derive(Debug)]
struct OpenMinute {
    minute: i64,
    gpus: Vec<GpuAcc>,
}

impl OpenMinute {
    fn row(&self, host_id: &str) -> TelemetryRow {
        let gpus: Vec<GpuMinute> = self.gpus.iter().map(GpuAcc::minute).collect();
        TelemetryRow {
            host_id: host_id.to_string(),
            minute: self.minute,
            gpus: encode(&gpus),
        }
    }
}

/// Minutes not yet written: each host's open one and closed ones.
#[derive(Debug, Default)]
pub struct TelemetryBuffer {
    open: HashMap<String, OpenMinute>,
    closed: Vec<TelemetryRow>,
}

impl TelemetryBuffer {
    /// Folds a heartbeat's GPUs into its host's minute; a new minute closes
    /// the previous one.
    pub fn record(&mut self, host_id: &str, minute: i64, gpus: &[GpuStats]) {
        if gpus.is_empty() {
            return;
        }
        let open = match self.open.get_mut(host_id) {
            Some(open) => open,
            None => self.open.entry(host_id.to_string()).or_insert(OpenMinute {
                minute,
                gpus: Vec::new(),
            }),
        };
        if open.minute != minute {
            if !open.gpus.is_empty() {
                self.closed.push(open.row(host_id));
            }
            open.minute = minute;
            open.gpus.clear();
        }
        if open.gpus.len() < gpus.len() {
            open.gpus.resize_with(gpus.len(), GpuAcc::default);
        }
        for (acc, g) in open.gpus.iter_mut().zip(gpus) {
            acc.add(g);
        }
    }

    /// The minutes due for writing: closed ones, open ones of hosts silent
    /// since before `now_minute`, and with `partial` (shutdown) the open
    /// minutes too, which stay open.
    pub fn take_due(&mut self, now_minute: i64, partial: bool) -> Vec<TelemetryRow> {
        let mut rows = std::mem::take(&mut self.closed);
        let mut silent = Vec::new();
        for (host_id, open) in &self.open {
            if open.minute < now_minute {
                rows.push(open.row(host_id));
                silent.push(host_id.clone());
            } else if partial {
                rows.push(open.row(host_id));
            }
        }
        for host_id in silent {
            self.open.remove(&host_id);
        }
        rows
    }

    /// Returns minutes the database refused, to be written next time.
    pub fn put_back(&mut self, mut rows: Vec<TelemetryRow>) {
        rows.append(&mut self.closed);
        if rows.len() > MAX_UNWRITTEN {
            let cut = rows.len() - MAX_UNWRITTEN;
            tracing::warn!(
                minutes = cut,
                "telemetry the database refused for too long was dropped"
            );
            rows.drain(..cut);
        }
        self.closed = rows;
    }

    /// A host's unwritten minutes from `since` on (for queries).
    pub fn pending(&self, host_id: &str, since: i64) -> Vec<TelemetryRow> {
        let mut rows: Vec<TelemetryRow> = self
            .closed
            .iter()
            .filter(|r| r.host_id == host_id && r.minute >= since)
            .cloned()
            .collect();
        if let Some(open) = self.open.get(host_id).filter(|o| o.minute >= since) {
            rows.push(open.row(host_id));
        }
        rows
    }

    /// Drops a removed host's unwritten minutes.
    pub fn forget(&mut self, host_id: &str) {
        self.open.remove(host_id);
        self.closed.retain(|r| r.host_id != host_id);
    }
}

/// Where a window's buckets start, at a given minute: the last bucket
/// holds `now_minute`, buckets are aligned to their width.
pub fn window_start(window: TelemetryWindow, now_minute: i64) -> i64 {
    let width = window.bucket_minutes();
    let last = now_minute - now_minute.rem_euclid(width);
    last - (window.buckets() as i64 - 1) * width
}

/// One GPU's sums in one bucket.
#[derive(Debug, Clone, Copy, Default)]
struct BucketAcc {
    util_sum: u32,
    minutes: u32,
    mem_used: u16,
    temp: Option<u8>,
}

/// Cuts a host's minutes into the window's buckets. Rows may come in any
/// order and twice (stored and still pending): the last copy of a minute
/// wins.
pub fn bucketize(
    host_id: &str,
    window: TelemetryWindow,
    now_minute: i64,
    mut rows: Vec<TelemetryRow>,
) -> HostTelemetry {
    let start = window_start(window, now_minute);
    let width = window.bucket_minutes();
    let n = window.buckets();
    // Stable sort, then keep the last of each minute.
    rows.sort_by_key(|r| r.minute);
    rows.reverse();
    rows.dedup_by_key(|r| r.minute);
    rows.reverse();
    let mut gpus: BTreeMap<u8, (Vec<BucketAcc>, u16)> = BTreeMap::new();
    for row in &rows {
        if row.minute < start || row.minute > now_minute {
            continue;
        }
        let bucket = ((row.minute - start) / width) as usize;
        for g in decode(&row.gpus) {
            let (buckets, total) = gpus
                .entry(g.index)
                .or_insert_with(|| (vec![BucketAcc::default(); n], 0));
            let b = &mut buckets[bucket.min(n - 1)];
            b.util_sum += u32::from(g.util_pct);
            b.minutes += 1;
            b.mem_used = b.mem_used.max(g.mem_used);
            b.temp = b.temp.max(g.temp_c);
            *total = g.mem_total;
        }
    }
    let gpus = gpus
        .into_iter()
        .map(|(index, (buckets, total))| GpuTelemetry {
            index: u32::from(index),
            util_pct: buckets
                .iter()
                .map(|b| (b.minutes > 0).then(|| b.util_sum as f32 / b.minutes as f32))
                .collect(),
            mem_used_mib: buckets
                .iter()
                .map(|b| (b.minutes > 0).then(|| u32::from(b.mem_used) * MEM_UNIT_MIB))
                .collect(),
            mem_total_mib: u32::from(total) * MEM_UNIT_MIB,
            temp_c: buckets.iter().map(|b| b.temp.map(f32::from)).collect(),
        })
        .collect();
    HostTelemetry {
        host_id: host_id.to_string(),
        window,
        start_ms: start * 60_000,
        bucket_ms: width * 60_000,
        gpus,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    fn gpu(index: u32, util: f32, used_gib: u64, temp: Option<f32>) -> GpuStats {
        GpuStats {
            index,
            utilization_percent: util,
            memory_used_bytes: used_gib * GIB,
            memory_total_bytes: 80 * GIB,
            temperature_c: temp,
            ..Default::default()
        }
    }

    #[test]
    fn a_minute_keeps_mean_utilization_and_peak_memory_and_temperature() {
        let mut buf = TelemetryBuffer::default();
        buf.record(
            "h",
            10,
            &[gpu(0, 20.0, 4, Some(50.0)), gpu(1, 0.0, 0, None)],
        );
        buf.record(
            "h",
            10,
            &[gpu(0, 60.0, 2, Some(61.4)), gpu(1, 0.0, 0, None)],
        );
        // The minute is still open: nothing is due before it ends.
        assert!(buf.take_due(10, false).is_empty());
        buf.record("h", 11, &[gpu(0, 100.0, 8, None), gpu(1, 0.0, 0, None)]);
        let due = buf.take_due(11, false);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].minute, 10);
        let gpus = decode(&due[0].gpus);
        assert_eq!(
            gpus[0],
            GpuMinute {
                index: 0,
                util_pct: 40,
                temp_c: Some(61),
                mem_used: 4 * 64,
                mem_total: 80 * 64,
            }
        );
        assert_eq!(gpus[1].temp_c, None);
    }

    #[test]
    fn a_silent_hosts_minute_is_written_once_it_ends_and_shutdown_writes_partial_ones() {
        let mut buf = TelemetryBuffer::default();
        buf.record("a", 5, &[gpu(0, 10.0, 1, None)]);
        buf.record("b", 6, &[gpu(0, 10.0, 1, None)]);
        let due = buf.take_due(6, false);
        assert_eq!(
            due.iter().map(|r| r.host_id.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        let partial = buf.take_due(6, true);
        assert_eq!(partial.len(), 1);
        // The partial minute stays open and is written again when it ends.
        assert_eq!(buf.pending("b", 0).len(), 1);
    }

    #[test]
    fn refused_minutes_come_back_within_a_bound() {
        let mut buf = TelemetryBuffer::default();
        let rows: Vec<TelemetryRow> = (0..MAX_UNWRITTEN as i64 + 10)
            .map(|m| TelemetryRow {
                host_id: "h".into(),
                minute: m,
                gpus: vec![],
            })
            .collect();
        buf.put_back(rows);
        let due = buf.take_due(0, false);
        assert_eq!(due.len(), MAX_UNWRITTEN);
        assert_eq!(due[0].minute, 10, "the oldest are dropped first");
    }

    #[test]
    fn encoding_round_trips_and_saturates() {
        let g = GpuMinute {
            index: 7,
            util_pct: 100,
            temp_c: Some(254),
            mem_used: u16::MAX,
            mem_total: 1,
        };
        assert_eq!(decode(&encode(&[g, g])), vec![g, g]);
        assert_eq!(mem_units(u64::MAX), u16::MAX);
        assert_eq!(decode(&[1, 2, 3]), vec![], "a cut-off GPU is skipped");
    }

    #[test]
    fn an_hour_is_sixty_minute_buckets_ending_now() {
        let mut buf = TelemetryBuffer::default();
        let now = 1_000_000;
        buf.record("h", now - 59, &[gpu(0, 30.0, 10, None)]);
        buf.record("h", now - 60, &[gpu(0, 99.0, 10, None)]); // before the window
        buf.record("h", now, &[gpu(0, 70.0, 20, None)]);
        let mut rows = buf.take_due(now + 1, false);
        rows.extend(buf.pending("h", 0));
        let t = bucketize("h", TelemetryWindow::Hour, now, rows);
        assert_eq!(t.start_ms, (now - 59) * 60_000);
        assert_eq!(t.bucket_ms, 60_000);
        let g = &t.gpus[0];
        assert_eq!(g.util_pct.len(), 60);
        assert_eq!(g.util_pct[0], Some(30.0));
        assert_eq!(g.util_pct[59], Some(70.0));
        assert_eq!(g.util_pct[1..59].iter().flatten().count(), 0);
        assert_eq!(g.mem_used_mib[59], Some(20 * 1024));
        assert_eq!(g.mem_total_mib, 80 * 1024);
    }

    #[test]
    fn a_day_is_ninety_six_quarter_hours_averaged_and_peaked() {
        let now = 15 * 1000 + 7; // seven minutes into a quarter hour
        let rows: Vec<TelemetryRow> = (0..24 * 60 + 30)
            .map(|back| {
                let minute = now - back;
                let util = if minute % 2 == 0 { 100 } else { 0 };
                TelemetryRow {
                    host_id: "h".into(),
                    minute,
                    gpus: encode(&[GpuMinute {
                        index: 3,
                        util_pct: util,
                        temp_c: None,
                        mem_used: (minute % 15) as u16,
                        mem_total: 100,
                    }]),
                }
            })
            .collect();
        let t = bucketize("h", TelemetryWindow::Day, now, rows);
        assert_eq!(t.start_ms, (15 * 1000 - 95 * 15) * 60_000);
        assert_eq!(t.bucket_ms, 15 * 60_000);
        let g = &t.gpus[0];
        assert_eq!(g.index, 3);
        assert_eq!(g.util_pct.len(), 96);
        // A full quarter hour alternates 0 and 100: 7 or 8 of 15 minutes busy.
        let mid = g.util_pct[50].unwrap_or(-1.0);
        assert!((mid - 50.0).abs() < 4.0, "{mid}");
        assert_eq!(g.mem_used_mib[50], Some(14 * 16), "the peak, not the mean");
        // The last bucket holds only the 8 minutes so far.
        assert_eq!(g.mem_used_mib[95], Some(7 * 16));
    }

    #[test]
    fn the_newest_copy_of_a_minute_wins() {
        let row = |util| TelemetryRow {
            host_id: "h".into(),
            minute: 100,
            gpus: encode(&[GpuMinute {
                index: 0,
                util_pct: util,
                temp_c: None,
                mem_used: 0,
                mem_total: 1,
            }]),
        };
        let t = bucketize("h", TelemetryWindow::Hour, 100, vec![row(10), row(90)]);
        assert_eq!(t.gpus[0].util_pct[59], Some(90.0));
    }
}
