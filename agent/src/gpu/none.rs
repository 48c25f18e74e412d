//! Readers for hosts without GPU telemetry.

use trainyard_core::GpuStats;

use super::{GpuReadError, GpuReader};

/// Reports no GPUs and no error (`--no-gpus`).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoGpuReader;

impl GpuReader for NoGpuReader {
    fn read(&mut self) -> Result<Vec<GpuStats>, GpuReadError> {
        Ok(Vec::new())
    }
}

/// Stands in for a reader that could not start (NVML missing): every read
/// returns the start-up error, so each heartbeat says why there are no GPUs.
#[derive(Debug, Clone)]
pub struct UnavailableGpuReader {
    reason: GpuReadError,
}

impl UnavailableGpuReader {
    pub fn new(reason: GpuReadError) -> Self {
        Self { reason }
    }
}

impl GpuReader for UnavailableGpuReader {
    fn read(&mut self) -> Result<Vec<GpuStats>, GpuReadError> {
        Err(self.reason.clone())
    }
}
