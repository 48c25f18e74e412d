//! GPU telemetry history as the server answers it: per-minute samples of
//! each host's GPUs, downsampled into at most ~100 buckets per window so a
//! chart or a sparkline draws the same number of points for an hour or a day.

use serde::{Deserialize, Serialize};

use crate::heartbeat::GpuStats;

/// How far back a telemetry answer reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelemetryWindow {
    /// The last 60 minutes, one bucket per minute.
    Hour,
    /// The last 24 hours, one bucket per 15 minutes.
    Day,
}

impl TelemetryWindow {
    /// Minutes per bucket.
    pub fn bucket_minutes(self) -> i64 {
        match self {
            TelemetryWindow::Hour => 1,
            TelemetryWindow::Day => 15,
        }
    }

    /// Buckets in the window (the last one holds the current minute).
    pub fn buckets(self) -> usize {
        match self {
            TelemetryWindow::Hour => 60,
            TelemetryWindow::Day => 96,
        }
    }

    /// The value in a query string (`hour`, `day`).
    pub fn label(self) -> &'static str {
        match self {
            TelemetryWindow::Hour => "hour",
            TelemetryWindow::Day => "day",
        }
    }

    /// Parses a query-string value; the error names the parameter.
    pub fn parse(value: &str) -> Result<TelemetryWindow, String> {
        match value {
            "hour" => Ok(TelemetryWindow::Hour),
            "day" => Ok(TelemetryWindow::Day),
            other => Err(format!(
                "window: `{other}` is not a telemetry window; use `hour` or `day`"
            )),
        }
    }
}

/// Query string of `GET /api/v1/hosts/{id}/telemetry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelemetryParams {
    /// `hour` (the default) or `day`.
    #[serde(default)]
    pub window: Option<String>,
}

impl TelemetryParams {
    /// The window asked for, `hour` when none is given.
    pub fn window(&self) -> Result<TelemetryWindow, String> {
        self.window
            .as_deref()
            .map_or(Ok(TelemetryWindow::Hour), TelemetryWindow::parse)
    }
}

/// One host's GPUs over a window. Bucket `i` covers
/// `[start_ms + i * bucket_ms, start_ms + (i + 1) * bucket_ms)`; a bucket
/// with no heartbeat is `None`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostTelemetry {
    pub host_id: String,
    pub window: TelemetryWindow,
    pub start_ms: i64,
    pub bucket_ms: i64,
    pub gpus: Vec<GpuTelemetry>,
}

/// One GPU's buckets: mean utilization, peak memory and temperature.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuTelemetry {
    pub index: u32,
    /// Mean compute utilization in the bucket, 0–100.
    pub util_pct: Vec<Option<f32>>,
    /// Most memory used in the bucket, MiB.
    pub mem_used_mib: Vec<Option<u32>>,
    /// The GPU's memory as last reported in the window, MiB.
    #[serde(default)]
    pub mem_total_mib: u32,
    /// Highest temperature in the bucket, °C (when the GPU reports one).
    #[serde(default)]
    pub temp_c: Vec<Option<f32>>,
}

/// Every shown host's load over a window, for the Dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetTelemetry {
    pub window: TelemetryWindow,
    pub start_ms: i64,
    pub bucket_ms: i64,
    /// Hosts with GPUs, healthy first, then by id; at most a page of them.
    pub hosts: Vec<HostLoad>,
    /// Hosts with GPUs left out of `hosts`.
    #[serde(default)]
    pub more_hosts: usize,
}

/// One host's GPUs summed up per bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostLoad {
    pub host_id: String,
    pub gpus: usize,
    /// Mean utilization over the host's GPUs, 0–100.
    pub util_pct: Vec<Option<f32>>,
    /// Memory used over memory total of the host's GPUs (peaks), 0–100.
    pub mem_pct: Vec<Option<f32>>,
}

impl HostTelemetry {
    /// How many buckets the GPUs' series hold (0 when none is drawn yet).
    fn buckets_held(&self) -> usize {
        self.gpus
            .iter()
            .map(|g| g.util_pct.len())
            .max()
            .unwrap_or(0)
    }

    /// Puts a live heartbeat's readings (taken at server time `at_ms`) into
    /// the bucket it falls in, sliding the window forward when it falls
    /// past the end: a chart follows heartbeats between fetches. The value
    /// is the latest reading, not the bucket's mean; the next fetch
    /// replaces it.
    pub fn record_live(&mut self, at_ms: i64, gpus: &[GpuStats]) {
        let n = self.buckets_held();
        let n = if n == 0 { self.window.buckets() } else { n };
        if self.bucket_ms <= 0 || at_ms < self.start_ms {
            return;
        }
        let index = ((at_ms - self.start_ms) / self.bucket_ms) as usize;
        let shift = (index + 1).saturating_sub(n);
        if shift > 0 {
            self.start_ms += shift as i64 * self.bucket_ms;
            for g in &mut self.gpus {
                slide(&mut g.util_pct, shift);
                slide(&mut g.mem_used_mib, shift);
                slide(&mut g.temp_c, shift);
            }
        }
        let index = index - shift;
        for live in gpus {
            let pos = match self.gpus.iter().position(|g| g.index == live.index) {
                Some(pos) => pos,
                None => {
                    self.gpus.push(GpuTelemetry {
                        index: live.index,
                        util_pct: vec![None; n],
                        mem_used_mib: vec![None; n],
                        mem_total_mib: 0,
                        temp_c: vec![None; n],
                    });
                    self.gpus.len() - 1
                }
            };
            let g = &mut self.gpus[pos];
            let mib = |bytes: u64| u32::try_from(bytes / (1024 * 1024)).unwrap_or(u32::MAX);
            set(&mut g.util_pct, index, live.utilization_percent);
            set(&mut g.mem_used_mib, index, mib(live.memory_used_bytes));
            if let Some(t) = live.temperature_c {
                set(&mut g.temp_c, index, t);
            }
            g.mem_total_mib = mib(live.memory_total_bytes);
        }
    }

    /// The host's load per bucket: mean utilization and memory share over
    /// its GPUs (buckets no GPU reported stay `None`).
    pub fn load(&self) -> HostLoad {
        let n = self.buckets_held();
        let mut util_pct = Vec::with_capacity(n);
        let mut mem_pct = Vec::with_capacity(n);
        for i in 0..n {
            let (mut util, mut count, mut used, mut total) = (0.0f32, 0u32, 0u64, 0u64);
            for gpu in &self.gpus {
                if let Some(Some(u)) = gpu.util_pct.get(i) {
                    util += u;
                    count += 1;
                }
                if let Some(Some(m)) = gpu.mem_used_mib.get(i) {
                    used += u64::from(*m);
                    total += u64::from(gpu.mem_total_mib);
                }
            }
            util_pct.push((count > 0).then(|| util / count as f32));
            mem_pct.push((total > 0).then(|| (used as f64 * 100.0 / total as f64) as f32));
        }
        HostLoad {
            host_id: self.host_id.clone(),
            gpus: self.gpus.len(),
            util_pct,
            mem_pct,
        }
    }
}

/// Drops the first `shift` values and appends as many gaps, keeping the length.
fn slide<T: Clone>(values: &mut Vec<Option<T>>, shift: usize) {
    let n = values.len();
    values.drain(..shift.min(n));
    values.resize(n, None);
}

fn set<T>(values: &mut [Option<T>], index: usize, value: T) {
    if let Some(slot) = values.get_mut(index) {
        *slot = Some(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_window_names_the_parameter() {
        let params = TelemetryParams {
            window: Some("week".into()),
        };
        let err = params.window().err().unwrap_or_default();
        assert!(err.starts_with("window:"), "{err}");
        assert_eq!(
            TelemetryParams::default().window(),
            Ok(TelemetryWindow::Hour)
        );
        assert_eq!(TelemetryWindow::parse("day"), Ok(TelemetryWindow::Day));
    }

    #[test]
    fn windows_stay_under_a_hundred_and_twenty_points() {
        for w in [TelemetryWindow::Hour, TelemetryWindow::Day] {
            assert!(w.buckets() <= 120);
        }
        assert_eq!(TelemetryWindow::Day.buckets() as i64 * 15, 24 * 60);
    }

    #[test]
    fn host_load_averages_utilization_and_sums_memory() {
        let t = HostTelemetry {
            host_id: "h".into(),
            window: TelemetryWindow::Hour,
            start_ms: 0,
            bucket_ms: 60_000,
            gpus: vec![
                GpuTelemetry {
                    index: 0,
                    util_pct: vec![Some(100.0), None],
                    mem_used_mib: vec![Some(50), None],
                    mem_total_mib: 100,
                    temp_c: vec![None, None],
                },
                GpuTelemetry {
                    index: 1,
                    util_pct: vec![Some(0.0), None],
                    mem_used_mib: vec![Some(0), None],
                    mem_total_mib: 100,
                    temp_c: vec![None, None],
                },
            ],
        };
        let load = t.load();
        assert_eq!(load.util_pct, vec![Some(50.0), None]);
        assert_eq!(load.mem_pct, vec![Some(25.0), None]);
        assert_eq!(load.gpus, 2);
    }

    #[test]
    fn live_readings_fill_the_current_bucket_and_slide_the_window() {
        let mut t = HostTelemetry {
            host_id: "h".into(),
            window: TelemetryWindow::Hour,
            start_ms: 0,
            bucket_ms: 60_000,
            gpus: vec![GpuTelemetry {
                index: 0,
                util_pct: vec![Some(1.0), Some(2.0), None],
                mem_used_mib: vec![None; 3],
                mem_total_mib: 0,
                temp_c: vec![None; 3],
            }],
        };
        let gpu = |index, util| GpuStats {
            index,
            utilization_percent: util,
            memory_used_bytes: 2 << 20,
            memory_total_bytes: 8 << 20,
            ..Default::default()
        };
        t.record_live(130_000, &[gpu(0, 50.0)]);
        assert_eq!(t.gpus[0].util_pct, vec![Some(1.0), Some(2.0), Some(50.0)]);
        // Two minutes later the window has moved by two buckets.
        t.record_live(250_000, &[gpu(0, 70.0), gpu(1, 10.0)]);
        assert_eq!(t.start_ms, 120_000);
        assert_eq!(t.gpus[0].util_pct, vec![Some(50.0), None, Some(70.0)]);
        assert_eq!(t.gpus[1].util_pct, vec![None, None, Some(10.0)]);
        assert_eq!(
            (t.gpus[1].mem_used_mib[2], t.gpus[1].mem_total_mib),
            (Some(2), 8)
        );
        // Long silence: everything slides out.
        t.record_live(10_000_000, &[gpu(0, 5.0)]);
        assert_eq!(t.gpus[0].util_pct, vec![None, None, Some(5.0)]);
        // Readings from before the window are ignored.
        t.record_live(0, &[gpu(0, 99.0)]);
        assert_eq!(t.gpus[0].util_pct, vec![None, None, Some(5.0)]);
    }
}
