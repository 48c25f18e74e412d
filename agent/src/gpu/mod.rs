//! GPU telemetry behind one trait, so the heartbeat code does not care
//! whether numbers come from NVML, a simulation, or nowhere.

mod fake;
mod none;
mod nvml;
mod sanitize;

pub use fake::FakeGpuReader;
pub use none::{NoGpuReader, UnavailableGpuReader};
pub use nvml::NvmlReader;
pub(crate) use sanitize::sanitize_gpus;

use thiserror::Error;
use trainyard_core::GpuStats;

use crate::settings::GpuSource;

/// Why GPU telemetry could not be read this time. Its text goes into the
/// heartbeat's `gpu_error`, so it is short and meant for a person.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct GpuReadError(pub String);

/// A source of per-GPU stats. Reads may block briefly (driver calls), so
/// callers run them off the async runtime.
pub trait GpuReader: Send {
    /// The current state of every GPU, in device index order.
    fn read(&mut self) -> Result<Vec<GpuStats>, GpuReadError>;
}

/// Opens the reader `source` asks for. Never fails: a host whose NVML will
/// not load gets a reader that reports the reason on every read, because a
/// GPU-less host is a normal host, not a crash.
pub fn open_reader(source: &GpuSource) -> Box<dyn GpuReader> {
    match source {
        GpuSource::Nvml => match NvmlReader::open() {
            Ok(reader) => Box::new(reader),
            Err(e) => Box::new(UnavailableGpuReader::new(e)),
        },
        GpuSource::Fake(count) => Box::new(FakeGpuReader::new(*count)),
        GpuSource::None => Box::new(NoGpuReader),
    }
}
