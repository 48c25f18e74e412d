//! GPU telemetry history as the server answers it: per-minute samples of
//! each host's GPUs, downsampled into at most ~100 buckets per window so a
//! chart or a sparkline draws the same number of points for an hour or a day.

use serde::{Deserialize, Serialize};

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
    /// The host's load per bucket: mean utilization and memory share over
    /// its GPUs (buckets no GPU reported stay `None`).
    pub fn load(&self) -> HostLoad {
        let n = self
            .gpus
            .iter()
            .map(|g| g.util_pct.len())
            .max()
            .unwrap_or(0);
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
}
